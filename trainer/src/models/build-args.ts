import type { ModelBuildArgs } from './types';

/** Build options a model accepts, and its smallest input. */
export interface BuildArgLimits {
  id: string;
  minInputSize: number;
  acceptsWidth?: boolean;
  acceptsHeadUnits?: boolean;
  acceptsBatchNormMomentum?: boolean;
}

/** Build options after validation, with every default filled in. */
export type ResolvedBuildArgs = Required<ModelBuildArgs>;

export const DEFAULT_WIDTH = 1;
export const DEFAULT_MOBILENET_HEAD_UNITS = 1024;
export const DEFAULT_BATCH_NORM_MOMENTUM = 0.99;
export const DEFAULT_MOBILENET_HEAD_DROPOUT = 0.5;

/** A model build option that the model rejects: the option, its value and what to do instead. */
export class BuildArgError extends RangeError {
  constructor(
    readonly modelId: string,
    readonly option: keyof ModelBuildArgs,
    readonly value: unknown,
    problem: string,
    readonly fix: string,
  ) {
    super(`Model "${modelId}": ${option} ${String(value)} ${problem}; ${fix}`);
    this.name = 'BuildArgError';
  }
}

/**
 * Validates build options against a model's limits and fills in defaults.
 * Throws a BuildArgError naming the option, its value and the accepted range.
 */
export function resolveBuildArgs(limits: BuildArgLimits, args: ModelBuildArgs): ResolvedBuildArgs {
  const { id, minInputSize } = limits;
  const { inputSize } = args;
  if (!Number.isInteger(inputSize) || inputSize < minInputSize) {
    throw new BuildArgError(id, 'inputSize', inputSize, 'is invalid', `expected an integer of at least ${minInputSize}`);
  }

  const width = args.width ?? DEFAULT_WIDTH;
  if (!limits.acceptsWidth && width !== DEFAULT_WIDTH) {
    throw new BuildArgError(id, 'width', width, 'is not supported', 'only mildnet_mobilenet takes a width multiplier, remove the option');
  }
  // The narrowest conv of the MobileNet base has 32 filters at width 1.
  if (!Number.isFinite(width) || Math.floor(32 * width) < 1) {
    throw new BuildArgError(id, 'width', width, 'is invalid', 'expected a number of at least 1/32');
  }

  const headUnits = args.headUnits ?? DEFAULT_MOBILENET_HEAD_UNITS;
  if (args.headUnits !== undefined && !limits.acceptsHeadUnits) {
    throw new BuildArgError(id, 'headUnits', args.headUnits, 'is not supported', 'only mildnet_mobilenet takes it, remove the option');
  }
  if (!Number.isInteger(headUnits) || headUnits < 1) {
    throw new BuildArgError(id, 'headUnits', headUnits, 'is invalid', 'expected a positive integer');
  }

  const batchNormMomentum = args.batchNormMomentum ?? DEFAULT_BATCH_NORM_MOMENTUM;
  if (!limits.acceptsBatchNormMomentum && batchNormMomentum !== DEFAULT_BATCH_NORM_MOMENTUM) {
    throw new BuildArgError(id, 'batchNormMomentum', batchNormMomentum, 'is not supported', 'only mildnet_mobilenet has BatchNormalization, remove the option');
  }
  if (!(batchNormMomentum > 0 && batchNormMomentum < 1)) {
    throw new BuildArgError(id, 'batchNormMomentum', batchNormMomentum, 'is invalid', 'expected a number between 0 and 1');
  }

  const headDropout = args.headDropout ?? DEFAULT_MOBILENET_HEAD_DROPOUT;
  if (args.headDropout !== undefined && !limits.acceptsHeadUnits) {
    throw new BuildArgError(id, 'headDropout', args.headDropout, 'is not supported', 'only mildnet_mobilenet takes it, remove the option');
  }
  if (!(headDropout >= 0 && headDropout < 1)) {
    throw new BuildArgError(id, 'headDropout', headDropout, 'is invalid', 'expected a number from 0 up to, but not including, 1');
  }

  return { inputSize, width, headUnits, headDropout, batchNormMomentum };
}
