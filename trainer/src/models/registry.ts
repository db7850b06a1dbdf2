import * as tf from '@tensorflow/tfjs';

/** Options every model builder accepts. */
export interface ModelBuildArgs {
  /** Height and width of the square RGB input, in pixels. */
  inputSize: number;
}

/**
 * A model of the zoo. Every model maps a batch of images [N, size, size, 3],
 * scaled to [0, 1], to embeddings [N, embeddingSize]. The original fed the
 * same image to three inputs so that its multi-scale models could read it in
 * their shallow branches; one input fed to every branch computes the same.
 */
export interface ModelSpec {
  id: string;
  description: string;
  /** Input size the original trained at (224, or 227 for AlexNet). */
  defaultInputSize: number;
  /** Smallest input size the architecture accepts. */
  minInputSize: number;
  build(args: ModelBuildArgs): tf.LayersModel;
}

const models = new Map<string, ModelSpec>();

export function registerModel(spec: ModelSpec): void {
  if (models.has(spec.id)) {
    throw new Error(`Model id "${spec.id}" is registered twice`);
  }
  models.set(spec.id, spec);
}

export function getModel(id: string): ModelSpec {
  const spec = models.get(id);
  if (!spec) {
    throw new RangeError(`Unknown model id "${id}"; expected one of: ${modelIds().join(', ')}`);
  }
  return spec;
}

export function modelIds(): string[] {
  return [...models.keys()].sort();
}
