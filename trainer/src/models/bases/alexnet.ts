import * as tf from '@tensorflow/tfjs';
import { KERAS_KERNEL_INITIALIZER } from '../keras-defaults';
import { ChannelSlice } from '../layers/channel-slice';
import { localResponseNormalization } from '../layers/local-response-normalization';

function apply(layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
  return layer.apply(x) as tf.SymbolicTensor;
}

/**
 * Smallest input for which the three 3×3/2 poolings still have a 3×3 window
 * to pool: conv1 11×11/4 "valid" needs (s - 11) / 4 + 1 ≥ 15.
 */
export const ALEXNET_MIN_INPUT_SIZE = 67;

interface ConvArgs {
  name: string;
  filters: number;
  kernelSize: number;
  strides?: number;
  padding: 'same' | 'valid';
}

function conv(args: ConvArgs): tf.layers.Layer {
  return tf.layers.conv2d({ ...args, activation: 'relu', kernelInitializer: KERAS_KERNEL_INITIALIZER });
}

/**
 * Applies a convolution split into `groups` groups: the input channels are
 * split evenly, each group gets its own Conv2D (`<name>_1`, `<name>_2`, …)
 * with `filters / groups` filters, and the outputs are concatenated as
 * `<name>`.
 */
function groupedConv(x: tf.SymbolicTensor, args: ConvArgs & { groups: number }): tf.SymbolicTensor {
  const { groups, ...convArgs } = args;
  const channels = x.shape[x.shape.length - 1] as number;
  const inputPerGroup = channels / groups;
  const filtersPerGroup = args.filters / groups;

  const outputs: tf.SymbolicTensor[] = [];
  for (let g = 0; g < groups; g++) {
    const sliced = apply(
      new ChannelSlice({ name: `${args.name}_slice_${g + 1}`, start: g * inputPerGroup, size: inputPerGroup }),
      x,
    );
    outputs.push(apply(conv({ ...convArgs, name: `${args.name}_${g + 1}`, filters: filtersPerGroup }), sliced));
  }
  return apply(tf.layers.concatenate({ name: args.name, axis: -1 }), outputs);
}

function maxPool(name: string): tf.layers.Layer {
  return tf.layers.maxPooling2d({ name, poolSize: 3, strides: 2, padding: 'valid' });
}

/**
 * Applies the AlexNet convolutional trunk of Krizhevsky et al. (2012),
 * channels last, up to the conv5 pooling: conv1 96 11×11/4 → LRN → pool
 * 3×3/2 → conv2 2 groups × 128 5×5 → LRN → pool → conv3 384 3×3 → conv4
 * 2 × 192 3×3 → conv5 2 × 128 3×3 → pool (`convpool_5`). The 5×5 and 3×3
 * convolutions pad by half their kernel ("same"), as in the paper.
 */
export function applyAlexnet(input: tf.SymbolicTensor): tf.SymbolicTensor {
  let x = apply(conv({ name: 'conv_1', filters: 96, kernelSize: 11, strides: 4, padding: 'valid' }), input);
  x = apply(localResponseNormalization({ name: 'lrn_1' }), x);
  x = apply(maxPool('convpool_1'), x);

  x = groupedConv(x, { name: 'conv_2', filters: 256, kernelSize: 5, padding: 'same', groups: 2 });
  x = apply(localResponseNormalization({ name: 'lrn_2' }), x);
  x = apply(maxPool('convpool_2'), x);

  x = apply(conv({ name: 'conv_3', filters: 384, kernelSize: 3, padding: 'same' }), x);
  x = groupedConv(x, { name: 'conv_4', filters: 384, kernelSize: 3, padding: 'same', groups: 2 });
  x = groupedConv(x, { name: 'conv_5', filters: 256, kernelSize: 3, padding: 'same', groups: 2 });
  return apply(maxPool('convpool_5'), x);
}
