import type * as tf from '@tensorflow/tfjs';

export interface ParameterCounts {
  /** Every weight, trainable or not (BatchNorm moving statistics included), as Keras counts them. */
  total: number;
  trainable: number;
}

function sizeOf(weights: readonly tf.LayerVariable[]): number {
  return weights.reduce((sum, w) => sum + w.shape.reduce<number>((product, d) => product * (d ?? 0), 1), 0);
}

/** Counts a model's parameters, as Keras's `model.summary()` does. */
export function countParameters(model: tf.LayersModel): ParameterCounts {
  return { total: sizeOf(model.weights), trainable: sizeOf(model.trainableWeights) };
}
