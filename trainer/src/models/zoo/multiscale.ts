import * as tf from '@tensorflow/tfjs';
import { ALEXNET_MIN_INPUT_SIZE, applyAlexnet } from '../bases/alexnet';
import { applyVgg, VGG_FROZEN_10, VGG_MIN_INPUT_SIZE, type VggDepth } from '../bases/vgg';
import { applyLrnBranches, applyRanknetBranches, applyVisnetBranches } from '../branches';
import { defineModel } from '../define';
import { applyDenseHead, applyL2, concatenate, imageInput, poolAndConcatenate } from '../heads';
import { KERAS_KERNEL_INITIALIZER } from '../keras-defaults';
import type { ModelSpec } from '../types';

/** Units of the final linear Dense layer that joins the shallow and deep paths. */
const EMBEDDING_UNITS = 4096;

/** Smallest input for the MaxPool 8×8/8 → Conv 8×8 "valid" branch of the LRN-style models. */
const LRN_BRANCHES_MIN_INPUT_SIZE = 64;

/**
 * Deep path of visnet, visnet_lrn2d, ranknet and alexnet: GAP of the base's
 * last map → Dense 4096 ReLU → Dropout → Dense 4096 ReLU → Dropout → L2.
 */
function applyDeepHead(baseOutput: tf.SymbolicTensor, baseName: string, dropout: number): tf.SymbolicTensor {
  const pooled = poolAndConcatenate({ name: baseName, tensor: baseOutput }, []);
  const hidden = applyDenseHead(pooled, { units: [4096, 4096], dropout, dropoutAfterLast: true, prefix: 'deep' });
  return applyL2(hidden, 'deep_l2');
}

/**
 * Joins the shallow branches and the deep path (in that order, as the
 * original concatenated them), then a linear Dense 4096 and L2.
 */
function joinScales(
  id: string,
  input: tf.SymbolicTensor,
  shallow: tf.SymbolicTensor,
  deep: tf.SymbolicTensor,
): tf.LayersModel {
  const merged = concatenate([shallow, deep], 'merge_concat');
  const dense = tf.layers.dense({
    name: 'embedding_dense',
    units: EMBEDDING_UNITS,
    kernelInitializer: KERAS_KERNEL_INITIALIZER,
  });
  const output = applyL2(dense.apply(merged) as tf.SymbolicTensor, 'l2_normalize');
  return tf.model({ name: id, inputs: input, outputs: output });
}

function vggDeepPath(input: tf.SymbolicTensor, depth: VggDepth, dropout: number): tf.SymbolicTensor {
  return applyDeepHead(applyVgg(input, { depth }).output, 'block5_pool', dropout);
}

function buildVisnet(inputSize: number): tf.LayersModel {
  const input = imageInput(inputSize);
  return joinScales('visnet_model', input, applyVisnetBranches(input), vggDeepPath(input, 16, 0.6));
}

function buildVisnetLrn2d(inputSize: number): tf.LayersModel {
  const input = imageInput(inputSize);
  return joinScales('visnet_lrn2d_model', input, applyLrnBranches(input, true), vggDeepPath(input, 16, 0.6));
}

function buildRanknet(inputSize: number): tf.LayersModel {
  const input = imageInput(inputSize);
  return joinScales('ranknet', input, applyRanknetBranches(input), vggDeepPath(input, 19, 0.5));
}

function buildAlexnet(inputSize: number): tf.LayersModel {
  const input = imageInput(inputSize);
  const deep = applyDeepHead(applyAlexnet(input), 'convpool_5', 0.6);
  return joinScales('alexnet', input, applyLrnBranches(input, false), deep);
}

function buildMildnetVgg16Big(inputSize: number): tf.LayersModel {
  const input = imageInput(inputSize);
  const vgg = applyVgg(input, { depth: 16, frozen: VGG_FROZEN_10 });
  const skipNames = ['block1_pool', 'block2_pool', 'block3_pool', 'block4_pool'];
  const skips = vgg.pools.map((tensor, index) => ({ name: skipNames[index], tensor }));
  const features = poolAndConcatenate({ name: 'block5_pool', tensor: vgg.output }, skips);
  const hidden = applyDenseHead(features, { units: [2048, 2048], dropout: 0.6, prefix: 'head' });
  const deep = applyL2(hidden, 'head_l2');
  return joinScales('mildnet_vgg16_big', input, applyVisnetBranches(input), deep);
}

interface MultiscaleDefinition {
  id: string;
  description: string;
  defaultInputSize: number;
  minInputSize: number;
  frozenLayers?: readonly string[];
  build(inputSize: number): tf.LayersModel;
}

function multiscaleSpec(definition: MultiscaleDefinition): ModelSpec {
  return defineModel({
    id: definition.id,
    description: definition.description,
    defaultInputSize: definition.defaultInputSize,
    minInputSize: definition.minInputSize,
    normalization: 'l2',
    frozenLayers: definition.frozenLayers ?? [],
    embeddingSize: () => EMBEDDING_UNITS,
    build: ({ inputSize }) => definition.build(inputSize),
  });
}

export const multiscaleModels: ModelSpec[] = [
  multiscaleSpec({
    id: 'visnet_model',
    description:
      'VisNet: VGG16 (trainable) → GAP → Dense 4096 → Dropout 0.6 → Dense 4096 → Dropout 0.6 → L2, with two shallow conv/pool branches (L2 each); concatenated → Dense 4096 (linear) → L2',
    defaultInputSize: 224,
    minInputSize: VGG_MIN_INPUT_SIZE,
    build: buildVisnet,
  }),
  multiscaleSpec({
    id: 'visnet_lrn2d_model',
    description:
      'VisNet with pooled-input branches and local response normalisation (n=5, k=2, alpha=1e-4, beta=0.75) after each branch conv',
    defaultInputSize: 224,
    minInputSize: LRN_BRANCHES_MIN_INPUT_SIZE,
    build: buildVisnetLrn2d,
  }),
  multiscaleSpec({
    id: 'ranknet',
    description:
      'RankNet: VGG19 (trainable) → GAP → Dense 4096 → Dropout 0.5 → Dense 4096 → Dropout 0.5 → L2, with two linear shallow branches L2-normalised together; concatenated → Dense 4096 (linear) → L2',
    defaultInputSize: 224,
    minInputSize: VGG_MIN_INPUT_SIZE,
    build: buildRanknet,
  }),
  multiscaleSpec({
    id: 'mildnet_vgg16_big',
    description: 'mildnet_vgg16 plus the VisNet shallow branches; concatenated → Dense 4096 (linear) → L2',
    defaultInputSize: 224,
    minInputSize: VGG_MIN_INPUT_SIZE,
    frozenLayers: VGG_FROZEN_10,
    build: buildMildnetVgg16Big,
  }),
  multiscaleSpec({
    id: 'alexnet',
    description:
      'Multi-scale AlexNet: AlexNet to convpool_5 → GAP → Dense 4096 → Dropout 0.6 → Dense 4096 → Dropout 0.6 → L2, with the visnet_lrn2d branches without LRN; concatenated → Dense 4096 (linear) → L2',
    defaultInputSize: 227,
    minInputSize: ALEXNET_MIN_INPUT_SIZE,
    build: buildAlexnet,
  }),
];
