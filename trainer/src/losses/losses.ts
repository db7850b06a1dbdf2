import * as tf from '@tensorflow/tfjs';

import type { LossId } from '../config/job-config';
import { euclideanDistance, referenceClip, splitTriplets, squaredDistance } from './triplets';

export type Compat = 'fixed' | 'reference';

/** Options of every triplet loss. */
export interface LossArgs {
  /** Margin g of the hinge and contrastive losses. Defaults to 1, as in the original. */
  margin?: number;
  /**
   * `fixed` (default) computes each loss as its source intends. `reference`
   * reproduces the original code's arithmetic for hinge_loss, hinge_new_loss
   * and contrastive_loss: embeddings clipped to [1e-7, 1 − 1e-7] and the hinge
   * applied to the batch sum instead of each triplet.
   */
  compat?: Compat;
  /** Embedding size D; lossless_loss uses it as N and β. Read from the input when omitted. */
  embeddingSize?: number;
}

/** A loss maps embeddings [3B, D] in triplet order to a scalar. */
export type TripletLoss = (embeddings: tf.Tensor2D) => tf.Scalar;

/** Added inside the logarithms of lossless_loss; the original referred to an undefined ε. */
const LOSSLESS_EPSILON = 1e-8;

/** Largest squared distance between two unit vectors. */
const MAX_UNIT_SQUARED_DISTANCE = 4;

/** tan²(45°): the angular losses use α = 45° as in Wang et al. (2017). */
const TAN_SQUARED_ALPHA = Math.tan(Math.PI / 4) ** 2;

/** Weight λ of the angular term added to the N-pair term in angular_loss_2 (Wang et al., 2017). */
const ANGULAR_LAMBDA = 2;

const REFERENCE_COMPAT_LOSSES: readonly LossId[] = ['hinge_loss', 'hinge_new_loss', 'contrastive_loss'];

/**
 * Standard triplet loss: the mean over triplets of max(g + D(q,p) − D(q,n), 0).
 * Reference mode: max(mean over triplets of g + D(q,p) − D(q,n), 0) on clipped embeddings.
 */
function hingeLoss(embeddings: tf.Tensor2D, margin: number, compat: Compat): tf.Scalar {
  const { query, positive, negative } = splitTriplets(compat === 'reference' ? referenceClip(embeddings) : embeddings);
  const terms = tf.add(tf.sub(euclideanDistance(query, positive), euclideanDistance(query, negative)), margin);
  if (compat === 'reference') return tf.relu(tf.mean(terms)) as tf.Scalar;
  return tf.mean(tf.relu(terms));
}

/**
 * Symmetric triplet loss that also pushes the negative away from the positive:
 * g + 2·D(q,p) − D(q,n) − D(p,n), hinged per triplet and averaged. Reference
 * mode sums the terms, divides by B/2 as the original did and hinges that.
 */
function hingeNewLoss(embeddings: tf.Tensor2D, margin: number, compat: Compat): tf.Scalar {
  const { query, positive, negative } = splitTriplets(compat === 'reference' ? referenceClip(embeddings) : embeddings);
  const queryPositive = euclideanDistance(query, positive);
  const terms = tf.add(
    tf.sub(tf.sub(tf.mul(queryPositive, 2), euclideanDistance(query, negative)), euclideanDistance(positive, negative)),
    margin,
  );
  if (compat === 'reference') {
    const triplets = terms.shape[0];
    return tf.relu(tf.div(tf.sum(terms), triplets / 2)) as tf.Scalar;
  }
  return tf.mean(tf.relu(terms));
}

/**
 * Contrastive loss on the pairs (q,p), similar, and (q,n), dissimilar:
 * D(q,p)² + max(g − D(q,n), 0)², summed over triplets and divided by the
 * number of pairs 2B, as the original divides. Reference mode clips first.
 */
function contrastiveLoss(embeddings: tf.Tensor2D, margin: number, compat: Compat): tf.Scalar {
  const { query, positive, negative } = splitTriplets(compat === 'reference' ? referenceClip(embeddings) : embeddings);
  const similar = tf.square(euclideanDistance(query, positive));
  const dissimilar = tf.square(tf.relu(tf.sub(margin, euclideanDistance(query, negative))));
  const triplets = similar.shape[0];
  return tf.div(tf.sum(tf.add(similar, dissimilar)), 2 * triplets);
}

/**
 * Lossless triplet loss: −ln(1 − d⁺/β + ε) − ln(1 − (N − d⁻)/β + ε) with
 * squared distances d± and N = β = embedding size, averaged over triplets.
 * Its source assumes components in [0, 1] so that d ≤ N. L2-normalised
 * embeddings have d ≤ 4, so N and β are raised to 4 for embeddings smaller
 * than that, which keeps both logarithms finite.
 */
function losslessLoss(embeddings: tf.Tensor2D, embeddingSize: number): tf.Scalar {
  const { query, positive, negative } = splitTriplets(embeddings);
  const beta = Math.max(embeddingSize, MAX_UNIT_SQUARED_DISTANCE);
  const n = beta;
  const positiveTerm = tf.neg(tf.log(tf.add(tf.sub(1, tf.div(squaredDistance(query, positive), beta)), LOSSLESS_EPSILON)));
  const negativeTerm = tf.neg(
    tf.log(tf.add(tf.sub(1, tf.div(tf.sub(n, squaredDistance(query, negative)), beta)), LOSSLESS_EPSILON)),
  );
  return tf.mean(tf.add(positiveTerm, negativeTerm));
}

/**
 * Angular loss, hinge form (Wang et al., "Deep Metric Learning with Angular Loss", 2017):
 * max(‖q − p‖² − 4·tan²α·‖n − c‖², 0) with c = (q + p)/2, averaged over triplets.
 */
function angularLoss1(embeddings: tf.Tensor2D): tf.Scalar {
  const { query, positive, negative } = splitTriplets(embeddings);
  const centre = tf.div(tf.add(query, positive), 2) as tf.Tensor2D;
  const terms = tf.sub(squaredDistance(query, positive), tf.mul(squaredDistance(negative, centre), 4 * TAN_SQUARED_ALPHA));
  return tf.mean(tf.relu(terms));
}

/** Row-wise dot product of two [B, D] tensors. */
function dot(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(a, b), 1);
}

/**
 * Angular loss, smooth form combined with the N-pair loss, as Wang et al.
 * (2017) combine them, for one negative per triplet:
 * log(1 + exp(qᵀn − qᵀp)) + λ·log(1 + exp(4tan²α·(q + p)ᵀn − 2(1 + tan²α)·qᵀp)), λ = 2.
 */
function angularLoss2(embeddings: tf.Tensor2D): tf.Scalar {
  const { query, positive, negative } = splitTriplets(embeddings);
  const queryPositive = dot(query, positive);
  const nPair = tf.softplus(tf.sub(dot(query, negative), queryPositive));
  const angular = tf.softplus(
    tf.sub(
      tf.mul(dot(tf.add(query, positive) as tf.Tensor2D, negative), 4 * TAN_SQUARED_ALPHA),
      tf.mul(queryPositive, 2 * (1 + TAN_SQUARED_ALPHA)),
    ),
  );
  return tf.mean(tf.add(nPair, tf.mul(angular, ANGULAR_LAMBDA)));
}

/** Returns the loss function for a loss id of the job config. */
export function getLoss(id: LossId, args: LossArgs = {}): TripletLoss {
  const margin = args.margin ?? 1;
  const compat = args.compat ?? 'fixed';
  if (compat === 'reference' && !REFERENCE_COMPAT_LOSSES.includes(id)) {
    throw new RangeError(
      `compat: reference is available for ${REFERENCE_COMPAT_LOSSES.join(', ')}, not for ${id}: ` +
        'the original version of this loss never trained (it swallowed its own errors); use compat: fixed',
    );
  }

  const losses: Record<LossId, TripletLoss> = {
    hinge_loss: (e) => hingeLoss(e, margin, compat),
    hinge_new_loss: (e) => hingeNewLoss(e, margin, compat),
    contrastive_loss: (e) => contrastiveLoss(e, margin, compat),
    lossless_loss: (e) => losslessLoss(e, args.embeddingSize ?? e.shape[1]),
    angular_loss_1: (e) => angularLoss1(e),
    angular_loss_2: (e) => angularLoss2(e),
  };
  const loss = losses[id];
  if (!loss) throw new RangeError(`Unknown loss "${id}"; expected one of: ${Object.keys(losses).join(', ')}`);
  return (embeddings) => tf.tidy(() => loss(embeddings));
}

/**
 * Triplet accuracy: the fraction of triplets whose negative is farther from
 * the query than the positive, D(q,n) > D(q,p), in [0, 1] (the original
 * reported a percentage). Reference mode measures on clipped embeddings.
 */
export function tripletAccuracy(embeddings: tf.Tensor2D, compat: Compat = 'fixed'): tf.Scalar {
  return tf.tidy(() => {
    const { query, positive, negative } = splitTriplets(compat === 'reference' ? referenceClip(embeddings) : embeddings);
    const correct = tf.greater(squaredDistance(query, negative), squaredDistance(query, positive));
    return tf.mean(tf.cast(correct, 'float32'));
  });
}
