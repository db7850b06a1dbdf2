import * as tf from '@tensorflow/tfjs';

/** Below this squared distance the Euclidean distance's gradient is cut off instead of becoming infinite. */
const MIN_SQUARED_DISTANCE = 1e-12;

/** The original clipped every embedding component to [ε, 1 − ε] with Keras' ε before each loss. */
export const REFERENCE_CLIP_EPSILON = 1e-7;

export interface TripletEmbeddings {
  query: tf.Tensor2D;
  positive: tf.Tensor2D;
  negative: tf.Tensor2D;
}

/**
 * Splits embeddings of shape [3B, D], ordered q1,p1,n1,q2,p2,n2,…, into
 * query, positive and negative embeddings of shape [B, D] each.
 */
export function splitTriplets(embeddings: tf.Tensor2D): TripletEmbeddings {
  const [rows, width] = embeddings.shape;
  if (rows % 3 !== 0) {
    throw new RangeError(`Expected a multiple of 3 embeddings (query, positive, negative per triplet), got ${rows}`);
  }
  const grouped = tf.reshape(embeddings, [rows / 3, 3, width]);
  const [query, positive, negative] = tf.unstack(grouped, 1) as tf.Tensor2D[];
  return { query, positive, negative };
}

export function squaredDistance(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.square(tf.sub(a, b)), 1);
}

/** Row-wise Euclidean distance with a gradient that stays finite when two embeddings coincide. */
export function euclideanDistance(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.sqrt(tf.maximum(squaredDistance(a, b), MIN_SQUARED_DISTANCE)) as tf.Tensor1D;
}

/** Clips each component to [1e-7, 1 − 1e-7] as the original did, for `compat: reference`. */
export function referenceClip(embeddings: tf.Tensor2D): tf.Tensor2D {
  return tf.clipByValue(embeddings, REFERENCE_CLIP_EPSILON, 1 - REFERENCE_CLIP_EPSILON) as tf.Tensor2D;
}
