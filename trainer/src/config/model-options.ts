/**
 * Checks the model fields of a job config against the model's own limits,
 * such as its smallest input size and the options only mildnet_mobilenet
 * takes. `mildnet config validate` and the start of a run then report them
 * as config errors naming the field, before any model is built.
 */
import { BuildArgError } from '../models/build-args';
import { getModel } from '../models/registry';
import type { ModelBuildArgs } from '../models/types';
import type { ConfigProblem } from './errors';
import type { JobConfig } from './job-config';

/** Config field of each model build option. */
const CONFIG_FIELDS = {
  inputSize: 'input_size',
  width: 'width_multiplier',
  headUnits: 'head_units',
  headDropout: 'head_dropout',
  batchNormMomentum: 'batch_norm_momentum',
} as const satisfies Record<keyof ModelBuildArgs, keyof JobConfig>;

/**
 * Returns the model builder's options for a config. MobileNet's options are
 * passed only where they differ from the defaults, because other models reject them.
 */
export function modelBuildArgs(config: JobConfig): ModelBuildArgs {
  const args: ModelBuildArgs = { inputSize: config.input_size };
  if (config.width_multiplier !== 1) args.width = config.width_multiplier;
  if (config.head_units !== 1024) args.headUnits = config.head_units;
  if (config.head_dropout !== 0.5) args.headDropout = config.head_dropout;
  if (config.batch_norm_momentum !== 0.99) args.batchNormMomentum = config.batch_norm_momentum;
  return args;
}

/** Returns the problem with the config's model fields, if the model rejects one. */
export function modelOptionProblems(config: JobConfig): ConfigProblem[] {
  try {
    getModel(config.model_id).embeddingSize(modelBuildArgs(config));
    return [];
  } catch (error) {
    if (!(error instanceof BuildArgError)) throw error;
    const field = CONFIG_FIELDS[error.option];
    const message = `got ${String(config[field])}, which model_id ${config.model_id} does not accept; ${error.fix}`;
    return [{ path: field, message }];
  }
}
