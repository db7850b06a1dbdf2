/**
 * Makes TensorFlow.js randomness reproducible. Its random ops (weight
 * initialisers, dropout masks) draw their seed from Math.random() whenever
 * no seed is passed, and the Keras-style layers pass none. Running a
 * synchronous block with Math.random() replaced by a seeded generator fixes
 * every draw in it. Seeding each training step from (run seed, step) rather
 * than one stream for the whole run means a resumed run draws the same
 * dropout masks as a run that was never interrupted.
 */
import type * as tf from '@tensorflow/tfjs';

import { Random, STREAM_STEP, STREAM_WEIGHTS } from '../data/random';
import type { ModelBuildArgs, ModelSpec } from '../models/types';

/**
 * Runs fn with Math.random() drawing from a generator seeded by seedParts.
 * fn must be synchronous, because while an asynchronous one waits, other code
 * would draw from the seeded generator and the draws would depend on timing.
 */
export function withSeededRandom<T>(seedParts: readonly number[], fn: () => T): T {
  const random = new Random(...seedParts);
  const original = Math.random;
  Math.random = () => random.nextFloat();
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new TypeError('withSeededRandom needs a synchronous function, because other tasks would draw from the seeded generator while it waits');
    }
    return result;
  } finally {
    Math.random = original;
  }
}

/** Builds a model whose initial weights depend only on the seed and the build arguments. */
export function buildSeededModel(spec: ModelSpec, args: ModelBuildArgs, seed: number): tf.LayersModel {
  return withSeededRandom([STREAM_WEIGHTS, seed], () => spec.build(args));
}

/** Runs one training step with its random ops seeded by the run seed and the 0-based global step. */
export function withStepRandom<T>(seed: number, globalStep: number, fn: () => T): T {
  return withSeededRandom([STREAM_STEP, seed, globalStep], fn);
}
