/**
 * Online triplet mining: before the loss runs, each query of a batch gets a
 * new positive and negative chosen among the batch's images by their
 * embedding distances. Only the selection changes, so every triplet loss
 * and both compat modes work on mined triplets.
 *
 * - batch_hard (Hermans, Beyer and Leibe, "In Defense of the Triplet Loss
 *   for Person Re-Identification", 2017): the farthest positive and the
 *   closest negative.
 * - semi_hard (Schroff, Kalenichenko and Philbin, "FaceNet", 2015): the CSV
 *   positive and the closest negative that is farther from the query than
 *   that positive. When no negative is farther, the farthest negative is
 *   used, as TensorFlow Addons' triplet_semihard_loss does.
 */
import * as tf from '@tensorflow/tfjs';

import type { TripletMiningLabels, TripletMiningStrategy } from '../config/job-config';
import type { Compat } from './losses';
import { referenceClip } from './triplets';

export const TRIPLET_MINING_STRATEGIES: readonly TripletMiningStrategy[] = ['none', 'batch_hard', 'semi_hard'];

/** The part of a batch that mining reads: its triplet count and, for labels `folders`, each image's class. */
export interface MiningBatch {
  triplets: number;
  /** Class id of each image in q1,p1,n1,q2,… order. */
  classes?: Int32Array;
}

/**
 * Returns the classes of a batch under labels `pairs`: the query and the
 * positive of triplet i share class i, and negative i is alone in class
 * B + i. So every image other than a query and its own positive is one
 * of its candidate negatives, its own CSV negative included.
 */
export function pairClasses(triplets: number): Int32Array {
  if (!Number.isSafeInteger(triplets) || triplets < 1) {
    throw new RangeError(`The number of triplets must be an integer >= 1, got ${String(triplets)}`);
  }
  const classes = new Int32Array(3 * triplets);
  for (let i = 0; i < triplets; i++) {
    classes[3 * i] = i;
    classes[3 * i + 1] = i;
    classes[3 * i + 2] = triplets + i;
  }
  return classes;
}

/** Returns the class id of every image of a batch under the given labels. */
export function batchClasses(labels: TripletMiningLabels, batch: MiningBatch): Int32Array {
  if (labels === 'pairs') return pairClasses(batch.triplets);
  if (labels !== 'folders') {
    throw new RangeError(`Unknown triplet_mining.labels "${String(labels)}"; expected pairs or folders`);
  }
  if (batch.classes === undefined) {
    throw new Error(
      'triplet_mining.labels is folders, but the batch carries no image classes; ' +
        'open the training data with the same job config so that the data pipeline reads each image folder',
    );
  }
  if (batch.classes.length !== 3 * batch.triplets) {
    throw new RangeError(
      `The batch has ${3 * batch.triplets} images but ${batch.classes.length} class ids; expected one class id per image`,
    );
  }
  return batch.classes;
}

/** Candidate positives and negatives of each query, as [B, 3B] row-major 0/1 masks. */
interface CandidateMasks {
  positive: Uint8Array;
  negative: Uint8Array;
}

/**
 * Marks, for the query of each triplet, the images of its class (its CSV
 * positive always among them) as candidate positives and all other images
 * as candidate negatives. The query itself is neither.
 */
function candidateMasks(classes: Int32Array): CandidateMasks {
  const images = classes.length;
  const triplets = images / 3;
  const positive = new Uint8Array(triplets * images);
  const negative = new Uint8Array(triplets * images);

  for (let i = 0; i < triplets; i++) {
    const query = 3 * i;
    let negatives = 0;
    for (let j = 0; j < images; j++) {
      if (j === query) continue;
      if (j === query + 1 || classes[j] === classes[query]) {
        positive[i * images + j] = 1;
      } else {
        negative[i * images + j] = 1;
        negatives++;
      }
    }
    if (negatives === 0) {
      throw new RangeError(
        `Triplet mining found no negative for the query of triplet ${i} in a batch of ${triplets} triplets: ` +
          `apart from its CSV positive, every image of the batch is in its class (id ${classes[query]}). ` +
          "With triplet_mining.labels: folders, images in the query's folder are never negatives. " +
          'Put each class in its own folder, raise batch_size so that batches mix classes, ' +
          'or set triplet_mining.labels to pairs.',
      );
    }
  }
  return { positive, negative };
}

/** Squared Euclidean distances [B, 3B] from each query (rows 0, 3, 6, …) to every image. */
function queryDistances(embeddings: tf.Tensor2D): tf.Tensor2D {
  const images = embeddings.shape[0];
  const queries = tf.gather(embeddings, tf.range(0, images, 3, 'int32'));
  const cross = tf.matMul(queries, embeddings, false, true);
  const queryNorms = tf.sum(tf.square(queries), 1, true);
  const imageNorms = tf.reshape(tf.sum(tf.square(embeddings), 1), [1, images]);
  // ‖a − x‖² = ‖a‖² − 2aᵀx + ‖x‖², which rounding can make slightly negative.
  return tf.relu(tf.add(tf.sub(queryNorms, tf.mul(cross, 2)), imageNorms)) as tf.Tensor2D;
}

/** Returns the row of each image of the mined triplets, [3B] in q,p,n order. */
function selectRows(distances: tf.Tensor2D, masks: CandidateMasks, strategy: 'batch_hard' | 'semi_hard'): tf.Tensor1D {
  const [triplets, images] = distances.shape;
  const positiveMask = tf.tensor2d(masks.positive, [triplets, images], 'bool');
  const negativeMask = tf.tensor2d(masks.negative, [triplets, images], 'bool');
  const infinite = tf.fill([triplets, images], Infinity);
  const negativeInfinite = tf.fill([triplets, images], -Infinity);
  const queryRows = tf.range(0, images, 3, 'int32');

  let positiveRows: tf.Tensor1D;
  let negativeRows: tf.Tensor1D;
  if (strategy === 'batch_hard') {
    positiveRows = tf.argMax(tf.where(positiveMask, distances, negativeInfinite), 1);
    negativeRows = tf.argMin(tf.where(negativeMask, distances, infinite), 1);
  } else {
    positiveRows = tf.range(1, images, 3, 'int32');
    const flatPositive = tf.add(tf.range(0, triplets * images, images, 'int32'), positiveRows);
    const positiveDistances = tf.reshape(tf.gather(tf.reshape(distances, [-1]), flatPositive), [triplets, 1]);
    const farther = tf.logicalAnd(negativeMask, tf.greater(distances, positiveDistances));
    const semiHard = tf.argMin(tf.where(farther, distances, infinite), 1);
    const farthest = tf.argMax(tf.where(negativeMask, distances, negativeInfinite), 1);
    negativeRows = tf.where(tf.any(farther, 1), semiHard, farthest) as tf.Tensor1D;
  }
  return tf.reshape(tf.stack([queryRows, positiveRows, negativeRows], 1), [-1]) as tf.Tensor1D;
}

/**
 * Mines triplets in a batch of embeddings [3B, D] in q1,p1,n1,q2,… order.
 * `classes` contains the class id of every image (see pairClasses and
 * batchClasses). Returns embeddings [3B, D] of the mined triplets in the
 * same order, gathered from `embeddings`, so a loss on them sends its
 * gradient to the selected rows only. Strategy `none` returns `embeddings`
 * itself. Distances are Euclidean, measured on clipped embeddings when
 * compat is `reference`, as the losses measure them.
 */
export function mineTriplets(
  embeddings: tf.Tensor2D,
  classes: Int32Array,
  strategy: TripletMiningStrategy,
  compat: Compat = 'fixed',
): tf.Tensor2D {
  if (!TRIPLET_MINING_STRATEGIES.includes(strategy)) {
    throw new RangeError(
      `Unknown triplet_mining.strategy "${String(strategy)}"; expected one of: ${TRIPLET_MINING_STRATEGIES.join(', ')}`,
    );
  }
  if (strategy === 'none') return embeddings;

  const images = embeddings.shape[0];
  if (images === 0 || images % 3 !== 0) {
    throw new RangeError(`Expected a positive multiple of 3 embeddings (query, positive, negative per triplet), got ${images}`);
  }
  if (classes.length !== images) {
    throw new RangeError(`Got ${classes.length} class ids for ${images} embeddings; expected one class id per embedding`);
  }
  const masks = candidateMasks(classes);

  const rows = tf.tidy(() => {
    // TensorFlow.js 4.22 has no stopGradient. A copy made from the values is
    // not connected to the gradient tape, so the selection adds nothing to
    // the backward pass.
    const values = tf.tensor2d(embeddings.dataSync(), embeddings.shape);
    const measured = compat === 'reference' ? referenceClip(values) : values;
    return selectRows(queryDistances(measured), masks, strategy);
  });
  const mined = tf.gather(embeddings, rows);
  rows.dispose();
  return mined;
}
