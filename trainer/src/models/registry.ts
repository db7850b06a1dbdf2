import type { ModelSpec } from './types';
import { mildnetModels } from './zoo/mildnet';
import { mobilenetModels } from './zoo/mobilenet';
import { multiscaleModels } from './zoo/multiscale';
import { vanilaModels } from './zoo/vanila';

export type { EmbeddingNormalization, ModelBuildArgs, ModelSpec } from './types';

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

for (const spec of [...mildnetModels, ...mobilenetModels, ...multiscaleModels, ...vanilaModels]) {
  registerModel(spec);
}
