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

/** Learning rate of a step (0-based) of a run of totalSteps steps. */
export function learningRateAt(config: Pick<JobConfig, 'lr' | 'lr_schedule'>, step: number, totalSteps: number): number {
  if (config.lr_schedule === 'constant' || totalSteps <= 0) return config.lr;
  const progress = Math.min(1, Math.max(0, step / totalSteps));
  return 0.5 * config.lr * (1 + Math.cos(Math.PI * progress));
}

/** Sets the learning rate of an optimizer made by createOptimizer. */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  if (optimizer instanceof tf.SGDOptimizer) {
    // MomentumOptimizer extends SGDOptimizer, which keeps the rate as a scalar tensor.
    optimizer.setLearningRate(learningRate);
  } else if (optimizer instanceof tf.RMSPropOptimizer) {
    (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
  } else {
    throw new TypeError(`Cannot set the learning rate of ${optimizer.getClassName()}`);
  }
}
