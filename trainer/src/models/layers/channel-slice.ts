import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface ChannelSliceArgs extends LayerArgs {
  /** First channel (last axis) to keep. */
  start: number;
  /** Number of channels to keep. */
  size: number;
}

/**
 * Keeps channels [start, start + size) of the last axis. Grouped
 * convolutions (AlexNet's conv2, conv4 and conv5) are built from one slice
 * and one Conv2D per group, concatenated, because tfjs-layers has no
 * `groups` option on Conv2D.
 */
export class ChannelSlice extends tf.layers.Layer {
  static readonly className = 'ChannelSlice';
  readonly start: number;
  readonly size: number;

  constructor(args: ChannelSliceArgs) {
    super(args);
    this.start = args.start;
    this.size = args.size;
    if (!Number.isInteger(this.start) || this.start < 0) {
      throw new RangeError(`ChannelSlice: start ${String(args.start)} is invalid; expected a non-negative integer`);
    }
    if (!Number.isInteger(this.size) || this.size < 1) {
      throw new RangeError(`ChannelSlice: size ${String(args.size)} is invalid; expected a positive integer`);
    }
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels !== null && this.start + this.size > channels) {
      throw new RangeError(
        `ChannelSlice "${this.name}": channels [${this.start}, ${this.start + this.size}) exceed the input's ${channels} channels; lower start or size`,
      );
    }
    return [...shape.slice(0, -1), this.size];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const begin = x.shape.map((_, axis) => (axis === x.rank - 1 ? this.start : 0));
      const size = x.shape.map((d, axis) => (axis === x.rank - 1 ? this.size : d));
      return tf.slice(x, begin, size);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), start: this.start, size: this.size };
  }
}

tf.serialization.registerClass(ChannelSlice);
