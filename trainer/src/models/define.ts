import type * as tf from '@tensorflow/tfjs';
import { resolveBuildArgs, type ResolvedBuildArgs } from './build-args';
import type { EmbeddingNormalization, ModelSpec } from './types';

/** A model definition whose builders receive validated options. */
export interface ModelDefinition {
  id: string;
  description: string;
  defaultInputSize: number;
  minInputSize: number;
  normalization: EmbeddingNormalization;
  frozenLayers: readonly string[];
  acceptsWidth?: boolean;
  acceptsHeadUnits?: boolean;
  acceptsBatchNormMomentum?: boolean;
  embeddingSize(args: ResolvedBuildArgs): number;
  build(args: ResolvedBuildArgs): tf.LayersModel;
}

/** Wraps a definition into a ModelSpec that validates options before it builds. */
export function defineModel(definition: ModelDefinition): ModelSpec {
  const { embeddingSize, build, acceptsWidth, acceptsHeadUnits, acceptsBatchNormMomentum, ...fields } = definition;
  const limits = { id: fields.id, minInputSize: fields.minInputSize, acceptsWidth, acceptsHeadUnits, acceptsBatchNormMomentum };
  return {
    ...fields,
    embeddingSize: (args) => embeddingSize(resolveBuildArgs(limits, args)),
    build: (args) => build(resolveBuildArgs(limits, args)),
  };
}
