import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface LocalResponseNormalizationArgs extends LayerArgs {
  /** Channels summed on each side of a channel: n = 2·depthRadius + 1. Default 2 (n = 5). */
  depthRadius?: number;
  /** Additive constant k. Default 2. */
  bias?: number;
  /** Scale of the sum of squares. Default 1e-4. */
  alpha?: number;
  /** Exponent. Default 0.75. */
  beta?: number;
}

/**
 * Local response normalisation across channels of a [N, h, w, c] input:
 * b = a / (bias + alpha · Σ a²)^beta, the sum running over the n channels
 * centred on each channel. The defaults are those of Krizhevsky et al. (2012)
 * and of the original's LRN2D layer (n = 5, k = 2, alpha = 1e-4, beta = 0.75).
 *
 * Alpha multiplies the plain sum, as in TensorFlow and in the original's
 * formula. Caffe multiplies the sum by alpha / n instead, so a Caffe alpha
 * must be divided by n to use here.
 *
 * Porting note: the original's LRN2D only defined a Keras 1 `get_output`,
 * which tf.keras never calls, so its visnet_lrn2d_model ran without any
 * normalisation. This layer normalises.
 */
export class LocalResponseNormalization extends tf.layers.Layer {
  static readonly className = 'LocalResponseNormalization';
  readonly depthRadius: number;
  readonly bias: number;
  readonly alpha: number;
  readonly beta: number;

  constructor(args: LocalResponseNormalizationArgs = {}) {
    super(args);
    this.depthRadius = args.depthRadius ?? 2;
    this.bias = args.bias ?? 2;
    this.alpha = args.alpha ?? 1e-4;
    this.beta = args.beta ?? 0.75;
    if (!Number.isInteger(this.depthRadius) || this.depthRadius < 0) {
      throw new RangeError(
        `LocalResponseNormalization: depthRadius ${String(args.depthRadius)} is invalid; expected a non-negative integer`,
      );
    }
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      return tf.localResponseNormalization(x, this.depthRadius, this.bias, this.alpha, this.beta);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      depthRadius: this.depthRadius,
      bias: this.bias,
      alpha: this.alpha,
      beta: this.beta,
    };
  }
}

tf.serialization.registerClass(LocalResponseNormalization);

export function localResponseNormalization(args?: LocalResponseNormalizationArgs): LocalResponseNormalization {
  return new LocalResponseNormalization(args);
}
