import * as tf from '@tensorflow/tfjs';
import { KERAS_KERNEL_INITIALIZER } from '../keras-defaults';

/** Pointwise filters and depthwise stride of blocks 1..13 of Keras MobileNet (v1). */
const DEPTHWISE_BLOCKS: ReadonlyArray<{ filters: number; stride: 1 | 2 }> = [
  { filters: 64, stride: 1 },
  { filters: 128, stride: 2 },
  { filters: 128, stride: 1 },
  { filters: 256, stride: 2 },
  { filters: 256, stride: 1 },
  { filters: 512, stride: 2 },
  { filters: 512, stride: 1 },
  { filters: 512, stride: 1 },
  { filters: 512, stride: 1 },
  { filters: 512, stride: 1 },
  { filters: 512, stride: 1 },
  { filters: 1024, stride: 2 },
  { filters: 1024, stride: 1 },
];

const STEM_FILTERS = 32;

/** Momentum of the BatchNormalization moving averages in Keras. */
export const KERAS_BATCH_NORM_MOMENTUM = 0.99;

/** Smallest input that survives the five stride-2 stages. */
export const MOBILENET_MIN_INPUT_SIZE = 32;

export interface MobilenetOutputs {
  /** Output of conv_pw_13_relu: [N, ~s/32, ~s/32, 1024·width]. */
  output: tf.SymbolicTensor;
  /** Outputs of the named layers, keyed by layer name. */
  taps: Map<string, tf.SymbolicTensor>;
}

/** Filters Keras gives a layer at width multiplier `alpha`: int(filters · alpha). */
export function scaledFilters(filters: number, width: number): number {
  return Math.floor(filters * width);
}

function apply(layer: tf.layers.Layer, x: tf.SymbolicTensor): tf.SymbolicTensor {
  return layer.apply(x) as tf.SymbolicTensor;
}

/**
 * Applies the Keras MobileNet v1 base (`include_top=False`, depth multiplier
 * 1) at width multiplier `width` to `input`, with Keras's layer names:
 * conv1, conv1_bn, conv1_relu, then per block N conv_pad_N (strided blocks
 * only, zero padding bottom and right by one), conv_dw_N, conv_dw_N_bn,
 * conv_dw_N_relu, conv_pw_N, conv_pw_N_bn, conv_pw_N_relu. Activations are
 * ReLU6 and convolutions have no bias, as in Keras. `batchNormMomentum` sets
 * how fast the BatchNormalization moving averages follow the batches.
 */
export function applyMobilenet(
  input: tf.SymbolicTensor,
  width: number,
  tapNames: readonly string[] = [],
  batchNormMomentum = KERAS_BATCH_NORM_MOMENTUM,
): MobilenetOutputs {
  const taps = new Map<string, tf.SymbolicTensor>();
  const requested = new Set(tapNames);
  const keep = (name: string, x: tf.SymbolicTensor): tf.SymbolicTensor => {
    if (requested.has(name)) taps.set(name, x);
    return x;
  };

  let x = apply(
    tf.layers.conv2d({
      name: 'conv1',
      filters: scaledFilters(STEM_FILTERS, width),
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
        kernelInitializer: KERAS_KERNEL_INITIALIZER,
    }),
    input,
  );
  x = apply(tf.layers.batchNormalization({ name: 'conv1_bn', axis: -1, momentum: batchNormMomentum }), x);
  x = keep('conv1_relu', apply(tf.layers.reLU({ name: 'conv1_relu', maxValue: 6 }), x));

  DEPTHWISE_BLOCKS.forEach(({ filters, stride }, index) => {
    const id = index + 1;
    if (stride === 2) {
      x = apply(tf.layers.zeroPadding2d({ name: `conv_pad_${id}`, padding: [[0, 1], [0, 1]] }), x);
    }
    x = apply(
      tf.layers.depthwiseConv2d({
        name: `conv_dw_${id}`,
        kernelSize: 3,
        strides: stride,
        padding: stride === 1 ? 'same' : 'valid',
        depthMultiplier: 1,
        useBias: false,
        depthwiseInitializer: KERAS_KERNEL_INITIALIZER,
      }),
      x,
    );
    x = apply(tf.layers.batchNormalization({ name: `conv_dw_${id}_bn`, axis: -1, momentum: batchNormMomentum }), x);
    x = keep(`conv_dw_${id}_relu`, apply(tf.layers.reLU({ name: `conv_dw_${id}_relu`, maxValue: 6 }), x));

    x = apply(
      tf.layers.conv2d({
        name: `conv_pw_${id}`,
        filters: scaledFilters(filters, width),
        kernelSize: 1,
        strides: 1,
        padding: 'same',
        useBias: false,
        kernelInitializer: KERAS_KERNEL_INITIALIZER,
      }),
      x,
    );
    x = apply(tf.layers.batchNormalization({ name: `conv_pw_${id}_bn`, axis: -1, momentum: batchNormMomentum }), x);
    x = keep(`conv_pw_${id}_relu`, apply(tf.layers.reLU({ name: `conv_pw_${id}_relu`, maxValue: 6 }), x));
  });

  const missing = tapNames.filter((name) => !taps.has(name));
  if (missing.length > 0) {
    throw new RangeError(`MobileNet base has no ReLU layer named ${missing.join(', ')}`);
  }
  return { output: x, taps };
}
