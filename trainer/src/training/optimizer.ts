import * as tf from '@tensorflow/tfjs';

import type { JobConfig } from '../config/job-config';

/** Momentum of the `mo` optimizer, as the original set it. */
export const SGD_MOMENTUM = 0.9;

/** RMSProp settings of Keras 2 (rho 0.9, epsilon 1e-7), which the original used. */
const RMSPROP_DECAY = 0.9;
const RMSPROP_EPSILON = 1e-7;

export function createOptimizer(config: Pick<JobConfig, 'optimizer' | 'lr'>): tf.Optimizer {
  switch (config.optimizer) {
    case 'mo':
      return tf.train.momentum(config.lr, SGD_MOMENTUM, true);
    case 'rms':
      return tf.train.rmsprop(config.lr, RMSPROP_DECAY, 0, RMSPROP_EPSILON);
    default:
      throw new RangeError(`Unknown optimizer "${String(config.optimizer)}"; expected mo or rms`);
  }
}
