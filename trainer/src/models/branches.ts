import * as tf from '@tensorflow/tfjs';
import { concatenate, applyFlatten, applyL2 } from './heads';
import { KERAS_KERNEL_INITIALIZER } from './keras-defaults';
import { localResponseNormalization } from './layers/local-response-normalization';

/**
 * The shallow, coarse-scale branches of the multi-scale models (visnet,
 * visnet_lrn2d, ranknet, alexnet, mildnet_vgg16_big). Each style returns
 * the branch features ready to concatenate with the deep path.
 */

function apply(layer: tf.layers.Layer, x: tf.SymbolicTensor): tf.SymbolicTensor {
  return layer.apply(x) as tf.SymbolicTensor;
}

function conv96(name: string, strides: number, padding: 'same' | 'valid', relu: boolean): tf.layers.Layer {
  return tf.layers.conv2d({
    name,
    filters: 96,
    kernelSize: 8,
    strides,
    padding,
    activation: relu ? 'relu' : 'linear',
    kernelInitializer: KERAS_KERNEL_INITIALIZER,
  });
}

function maxPool(name: string, poolSize: number, strides: number, padding: 'same' | 'valid'): tf.layers.Layer {
  return tf.layers.maxPooling2d({ name, poolSize, strides, padding });
}

function zeroPad(name: string, padding: number): tf.layers.Layer {
  return tf.layers.zeroPadding2d({ name, padding: [padding, padding] });
}

/**
 * VisNet branches: Conv 96 8×8/16 "same" → MaxPool 3×3/4 "same", and
 * Conv 96 8×8/32 "same" → MaxPool 7×7/2 "same", both convs linear. Each
 * branch is flattened and L2-normalised, then the two are concatenated.
 */
export function applyVisnetBranches(input: tf.SymbolicTensor): tf.SymbolicTensor {
  let a = apply(conv96('shallow1_conv', 16, 'same', false), input);
  a = apply(maxPool('shallow1_pool', 3, 4, 'same'), a);
  a = applyL2(applyFlatten(a, 'shallow1_flatten'), 'shallow1_l2');

  let b = apply(conv96('shallow2_conv', 32, 'same', false), input);
  b = apply(maxPool('shallow2_pool', 7, 2, 'same'), b);
  b = applyL2(applyFlatten(b, 'shallow2_flatten'), 'shallow2_l2');

  return concatenate([a, b], 'shallow_concat');
}

/**
 * VisNet-LRN2D branches (and, without LRN, the AlexNet ones): MaxPool 4×4/4 →
 * Conv 96 8×8/4 "valid" ReLU → LRN → ZeroPad 3 → MaxPool 7×7/4 "same", and
 * MaxPool 8×8/8 → Conv 96 8×8/4 "valid" ReLU → LRN → ZeroPad 1 → MaxPool
 * 3×3/2 "same". Each is flattened and L2-normalised, then they are
 * concatenated.
 */
export function applyLrnBranches(input: tf.SymbolicTensor, withLrn: boolean): tf.SymbolicTensor {
  const branch = (id: number, inputPool: number, pad: number, pool: number, poolStride: number): tf.SymbolicTensor => {
    const prefix = `shallow${id}`;
    let x = apply(maxPool(`${prefix}_input_pool`, inputPool, inputPool, 'valid'), input);
    x = apply(conv96(`${prefix}_conv`, 4, 'valid', true), x);
    if (withLrn) x = apply(localResponseNormalization({ name: `${prefix}_lrn` }), x);
    x = apply(zeroPad(`${prefix}_pad`, pad), x);
    x = apply(maxPool(`${prefix}_pool`, pool, poolStride, 'same'), x);
    return applyL2(applyFlatten(x, `${prefix}_flatten`), `${prefix}_l2`);
  };

  return concatenate([branch(1, 4, 3, 7, 4), branch(2, 8, 1, 3, 2)], 'shallow_concat');
}

/**
 * RankNet branches: MaxPool 4×4/4 → ZeroPad 4 → Conv 96 8×8/4 "valid" →
 * ZeroPad 2 → MaxPool 7×7/4, and MaxPool 8×8/8 → ZeroPad 4 → Conv 96 8×8/4 →
 * ZeroPad 1 → MaxPool 3×3/2; convolutions linear, poolings "valid". The two
 * flattened branches are concatenated and L2-normalised once.
 */
export function applyRanknetBranches(input: tf.SymbolicTensor): tf.SymbolicTensor {
  const branch = (id: number, inputPool: number, pad: number, pool: number, poolStride: number): tf.SymbolicTensor => {
    const prefix = `shallow${id}`;
    let x = apply(maxPool(`${prefix}_input_pool`, inputPool, inputPool, 'valid'), input);
    x = apply(zeroPad(`${prefix}_conv_pad`, 4), x);
    x = apply(conv96(`${prefix}_conv`, 4, 'valid', false), x);
    x = apply(zeroPad(`${prefix}_pad`, pad), x);
    x = apply(maxPool(`${prefix}_pool`, pool, poolStride, 'valid'), x);
    return applyFlatten(x, `${prefix}_flatten`);
  };

  const joined = concatenate([branch(1, 4, 2, 7, 4), branch(2, 8, 1, 3, 2)], 'shallow_concat');
  return applyL2(joined, 'shallow_l2');
}
