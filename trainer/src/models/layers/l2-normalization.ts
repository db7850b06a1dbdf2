import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface L2NormalizationArgs extends LayerArgs {
  /** Axis to normalise along. Default -1, the feature axis of [N, D]. */
  axis?: number;
  /** Lower bound of the squared norm, which keeps zero vectors finite. Default 1e-12, as in Keras. */
  epsilon?: number;
}

/**
 * Divides its input by its L2 norm along one axis: x / sqrt(max(sum(x²), ε)).
 *
 * Porting note: the original wrapped `K.l2_normalize(x, axis=1)` in a Lambda
 * layer, which a saved model cannot restore without the source. This layer is
 * registered for serialization, so `tf.loadLayersModel` reads it back.
 */
export class L2Normalization extends tf.layers.Layer {
  static readonly className = 'L2Normalization';
  readonly axis: number;
  readonly epsilon: number;

  constructor(args: L2NormalizationArgs = {}) {
    super(args);
    this.axis = args.axis ?? -1;
    this.epsilon = args.epsilon ?? 1e-12;
    if (!Number.isInteger(this.axis)) {
      throw new RangeError(`L2Normalization: axis ${String(args.axis)} is invalid; expected an integer`);
    }
    if (!(this.epsilon > 0)) {
      throw new RangeError(`L2Normalization: epsilon ${String(args.epsilon)} is invalid; expected a positive number`);
    }
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const squaredNorm = tf.sum(tf.square(x), this.axis, true);
      return tf.mul(x, tf.rsqrt(tf.maximum(squaredNorm, this.epsilon)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis, epsilon: this.epsilon };
  }
}

tf.serialization.registerClass(L2Normalization);

export function l2Normalization(args?: L2NormalizationArgs): L2Normalization {
  return new L2Normalization(args);
}
