import * as tf from '@tensorflow/tfjs';
import { KERAS_KERNEL_INITIALIZER } from '../keras-defaults';

export type VggDepth = 16 | 19;

/** Conv layers per block (filters, count) of the Keras VGG16 and VGG19 applications. */
const VGG_BLOCKS: Record<VggDepth, ReadonlyArray<{ filters: number; convs: number }>> = {
  16: [
    { filters: 64, convs: 2 },
    { filters: 128, convs: 2 },
    { filters: 256, convs: 3 },
    { filters: 512, convs: 3 },
    { filters: 512, convs: 3 },
  ],
  19: [
    { filters: 64, convs: 2 },
    { filters: 128, convs: 2 },
    { filters: 256, convs: 4 },
    { filters: 512, convs: 4 },
    { filters: 512, convs: 4 },
  ],
};

/**
 * Layers that the original froze with `layers[:10]` on the Keras VGG16 and
 * VGG19 bases: after the input layer, block1, block2 and block3_conv1..3.
 */
export const VGG_FROZEN_10: readonly string[] = [
  'block1_conv1',
  'block1_conv2',
  'block1_pool',
  'block2_conv1',
  'block2_conv2',
  'block2_pool',
  'block3_conv1',
  'block3_conv2',
  'block3_conv3',
];

/** Smallest input that survives the five 2×2 poolings. */
export const VGG_MIN_INPUT_SIZE = 32;

export interface VggArgs {
  depth: VggDepth;
  /** Layer names to build with `trainable = false`. */
  frozen?: readonly string[];
}

export interface VggOutputs {
  /** Output of block5_pool: [N, s/32, s/32, 512]. */
  output: tf.SymbolicTensor;
  /** Outputs of block1_pool … block4_pool, shallowest first. */
  pools: tf.SymbolicTensor[];
}

/**
 * Applies a VGG convolutional base (Keras applications, `include_top=False`)
 * to `input`. Layer names match Keras (`block1_conv1` … `block5_pool`) so that
 * weights saved by Keras can be matched to these layers by name.
 */
export function applyVgg(input: tf.SymbolicTensor, args: VggArgs): VggOutputs {
  const frozen = new Set(args.frozen ?? []);
  const pools: tf.SymbolicTensor[] = [];
  let x = input;

  VGG_BLOCKS[args.depth].forEach(({ filters, convs }, blockIndex) => {
    const block = `block${blockIndex + 1}`;
    for (let c = 1; c <= convs; c++) {
      const name = `${block}_conv${c}`;
      const conv = tf.layers.conv2d({
        name,
        filters,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: KERAS_KERNEL_INITIALIZER,
        trainable: !frozen.has(name),
      });
      x = conv.apply(x) as tf.SymbolicTensor;
    }
    const poolName = `${block}_pool`;
    x = tf.layers
      .maxPooling2d({ name: poolName, poolSize: 2, strides: 2, trainable: !frozen.has(poolName) })
      .apply(x) as tf.SymbolicTensor;
    pools.push(x);
  });

  return { output: pools[4], pools: pools.slice(0, 4) };
}

/** Side of the block5_pool map for a square input: five floor-halvings. */
export function vggOutputSide(inputSize: number): number {
  let side = inputSize;
  for (let i = 0; i < 5; i++) side = Math.floor(side / 2);
  return side;
}
