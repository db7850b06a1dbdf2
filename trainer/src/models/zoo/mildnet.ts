import * as tf from '@tensorflow/tfjs';
import { applyVgg, VGG_FROZEN_10, VGG_MIN_INPUT_SIZE, vggOutputSide, type VggDepth } from '../bases/vgg';
import { defineModel } from '../define';
import { applyDenseHead, applyFlatten, applyL2, imageInput, poolAndConcatenate } from '../heads';
import type { ModelSpec } from '../types';

const ALL_SKIPS = ['block1_pool', 'block2_pool', 'block3_pool', 'block4_pool'];

interface MildnetVariant {
  id: string;
  description: string;
  depth: VggDepth;
  frozen: boolean;
  /**
   * Pool outputs whose GAP joins the block5 GAP; null for no pooling at all:
   * the Dense layers then run at every position of the block5 map.
   */
  skips: readonly string[] | null;
  units: readonly [number, number];
  dropout: number;
}

/**
 * Builds a MILDNet-style model: a VGG base whose block5 output and selected
 * pool outputs are average-pooled and concatenated, two Dense(ReLU) layers
 * with Dropout between them, and an L2-normalised embedding.
 *
 * Without skips (`skips: null`) the Dense layers act on each position of the
 * [s/32, s/32, 512] map, as in the original. The original then normalised
 * along the height axis (axis 1 of a 4-D tensor). Porting note: this port
 * keeps that normalisation and flattens the map to [N, h·w·units] so that the
 * losses see a 2-D embedding.
 */
function buildMildnet(variant: MildnetVariant, inputSize: number): tf.LayersModel {
  const input = imageInput(inputSize);
  const vgg = applyVgg(input, { depth: variant.depth, frozen: variant.frozen ? VGG_FROZEN_10 : [] });

  let output: tf.SymbolicTensor;
  if (variant.skips === null) {
    const perPosition = applyDenseHead(vgg.output, { units: variant.units, dropout: variant.dropout, prefix: 'head' });
    const normalised = applyL2(perPosition, 'l2_normalize', 1);
    output = applyFlatten(normalised, 'embedding_flatten');
  } else {
    const skips = variant.skips.map((name) => ({ name, tensor: vgg.pools[ALL_SKIPS.indexOf(name)] }));
    const features = poolAndConcatenate({ name: 'block5_pool', tensor: vgg.output }, skips);
    const hidden = applyDenseHead(features, { units: variant.units, dropout: variant.dropout, prefix: 'head' });
    output = applyL2(hidden, 'l2_normalize');
  }

  return tf.model({ name: variant.id, inputs: input, outputs: output });
}

function mildnetSpec(variant: MildnetVariant): ModelSpec {
  const units = variant.units[1];
  return defineModel({
    id: variant.id,
    description: variant.description,
    defaultInputSize: 224,
    minInputSize: VGG_MIN_INPUT_SIZE,
    normalization: variant.skips === null ? 'l2-height-axis' : 'l2',
    frozenLayers: variant.frozen ? VGG_FROZEN_10 : [],
    embeddingSize: ({ inputSize }) => (variant.skips === null ? vggOutputSide(inputSize) ** 2 * units : units),
    build: ({ inputSize }) => buildMildnet(variant, inputSize),
  });
}

const FROZEN_NOTE = 'first 10 Keras layers (block1, block2, block3_conv1..3) frozen';

export const mildnetModels: ModelSpec[] = [
  mildnetSpec({
    id: 'mildnet_vgg16',
    description: `MILDNet: VGG16, ${FROZEN_NOTE}; GAP of block5 and of block1..4 pools (1472) → Dense 2048 → Dropout 0.6 → Dense 2048 → L2`,
    depth: 16,
    frozen: true,
    skips: ALL_SKIPS,
    units: [2048, 2048],
    dropout: 0.6,
  }),
  mildnetSpec({
    id: 'mildnet_vgg19',
    description: `MILDNet on VGG19, ${FROZEN_NOTE}; GAP of block5 and of block1..4 pools → Dense 2048 → Dropout 0.6 → Dense 2048 → L2`,
    depth: 19,
    frozen: true,
    skips: ALL_SKIPS,
    units: [2048, 2048],
    dropout: 0.6,
  }),
  mildnetSpec({
    id: 'mildnet_all_trainable',
    description: 'mildnet_vgg16 with every layer trainable',
    depth: 16,
    frozen: false,
    skips: ALL_SKIPS,
    units: [2048, 2048],
    dropout: 0.6,
  }),
  mildnetSpec({
    id: 'mildnet_1024_512',
    description: 'mildnet_vgg16 with Dense 1024 → Dropout 0.6 → Dense 512',
    depth: 16,
    frozen: true,
    skips: ALL_SKIPS,
    units: [1024, 512],
    dropout: 0.6,
  }),
  mildnetSpec({
    id: 'mildnet_512_512',
    description: 'mildnet_vgg16 with Dense 512 → Dropout 0.6 → Dense 512',
    depth: 16,
    frozen: true,
    skips: ALL_SKIPS,
    units: [512, 512],
    dropout: 0.6,
  }),
  mildnetSpec({
    id: 'mildnet_512_no_dropout',
    description: 'mildnet_vgg16 with Dense 512 → Dense 512 and no dropout',
    depth: 16,
    frozen: true,
    skips: ALL_SKIPS,
    units: [512, 512],
    dropout: 0,
  }),
  mildnetSpec({
    id: 'mildnet_vgg16_skip_1',
    description: 'Ablation: mildnet_vgg16 without the block1_pool skip (GAP of block5 and block2..4 pools)',
    depth: 16,
    frozen: true,
    skips: ALL_SKIPS.slice(1),
    units: [2048, 2048],
    dropout: 0.6,
  }),
  mildnetSpec({
    id: 'mildnet_vgg16_skip_2',
    description: 'Ablation: mildnet_vgg16 without the block1 and block2 skips (GAP of block5 and block3..4 pools)',
    depth: 16,
    frozen: true,
    skips: ALL_SKIPS.slice(2),
    units: [2048, 2048],
    dropout: 0.6,
  }),
  mildnetSpec({
    id: 'mildnet_vgg16_skip_3',
    description: 'Ablation: mildnet_vgg16 with only the block4_pool skip',
    depth: 16,
    frozen: true,
    skips: ALL_SKIPS.slice(3),
    units: [2048, 2048],
    dropout: 0.6,
  }),
  mildnetSpec({
    id: 'mildnet_vgg16_skip_4',
    description:
      'Ablation: mildnet_vgg16 without skips or GAP; Dense 2048 → Dropout 0.6 → Dense 2048 at every block5 position, L2 along the height axis, flattened',
    depth: 16,
    frozen: true,
    skips: null,
    units: [2048, 2048],
    dropout: 0.6,
  }),
  mildnetSpec({
    id: 'mildnet_without_skip',
    description:
      'VGG16, all trainable; Dense 1024 → Dropout 0.6 → Dense 1024 at every block5 position, L2 along the height axis, flattened',
    depth: 16,
    frozen: false,
    skips: null,
    units: [1024, 1024],
    dropout: 0.6,
  }),
  mildnetSpec({
    id: 'mildnet_without_skip_big',
    description:
      'VGG16, all trainable; Dense 2048 → Dropout 0.6 → Dense 2048 at every block5 position, L2 along the height axis, flattened',
    depth: 16,
    frozen: false,
    skips: null,
    units: [2048, 2048],
    dropout: 0.6,
  }),
];
