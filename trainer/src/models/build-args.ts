import type { ModelBuildArgs } from './types';

/** Build options a model accepts, and its smallest input. */
export interface BuildArgLimits {
  id: string;
  minInputSize: number;
  acceptsWidth?: boolean;
  acceptsHeadUnits?: boolean;
}

/** Build options after validation, with every default filled in. */
export type ResolvedBuildArgs = Required<ModelBuildArgs>;

export const DEFAULT_WIDTH = 1;
export const DEFAULT_MOBILENET_HEAD_UNITS = 1024;

/**
 * Validates build options against a model's limits and fills in defaults.
 * Throws a RangeError naming the option, its value and the accepted range.
 */
export function resolveBuildArgs(limits: BuildArgLimits, args: ModelBuildArgs): ResolvedBuildArgs {
  const { id, minInputSize } = limits;
  const { inputSize } = args;
  if (!Number.isInteger(inputSize) || inputSize < minInputSize) {
    throw new RangeError(
      `Model "${id}": inputSize ${String(inputSize)} is invalid; expected an integer of at least ${minInputSize}`,
    );
  }

  const width = args.width ?? DEFAULT_WIDTH;
  if (!limits.acceptsWidth && width !== DEFAULT_WIDTH) {
    throw new RangeError(
      `Model "${id}": width ${String(width)} is not supported; only mildnet_mobilenet takes a width multiplier, remove the option`,
    );
  }
  // The narrowest conv of the MobileNet base has 32 filters at width 1.
  if (!Number.isFinite(width) || Math.floor(32 * width) < 1) {
    throw new RangeError(`Model "${id}": width ${String(width)} is invalid; expected a number of at least 1/32`);
  }

  const headUnits = args.headUnits ?? DEFAULT_MOBILENET_HEAD_UNITS;
  if (args.headUnits !== undefined && !limits.acceptsHeadUnits) {
    throw new RangeError(
      `Model "${id}": headUnits ${String(args.headUnits)} is not supported; only mildnet_mobilenet takes it, remove the option`,
    );
  }
  if (!Number.isInteger(headUnits) || headUnits < 1) {
    throw new RangeError(`Model "${id}": headUnits ${String(headUnits)} is invalid; expected a positive integer`);
  }

  return { inputSize, width, headUnits };
}
