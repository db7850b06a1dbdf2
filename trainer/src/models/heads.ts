import * as tf from '@tensorflow/tfjs';
import { KERAS_KERNEL_INITIALIZER } from './keras-defaults';
import { l2Normalization } from './layers/l2-normalization';

function apply(layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
  return layer.apply(x) as tf.SymbolicTensor;
}

export interface Skip {
  /** Name of the layer whose output is pooled; the pooling layer is named `<name>_gap`. */
  name: string;
  tensor: tf.SymbolicTensor;
}

/**
 * Global-average-pools the final feature map and each skip source, and
 * concatenates them in that order (final first, then the skips in the order
 * given), which is the order the original built its concatenation in.
 */
export function poolAndConcatenate(final: Skip, skips: readonly Skip[]): tf.SymbolicTensor {
  const pooled = [final, ...skips].map(({ name, tensor }) =>
    apply(tf.layers.globalAveragePooling2d({ name: `${name}_gap` }), tensor),
  );
  if (pooled.length === 1) return pooled[0];
  return apply(tf.layers.concatenate({ name: 'skip_concat', axis: -1 }), pooled);
}

export interface DenseHeadArgs {
  /** Units of each hidden Dense layer, all with ReLU. */
  units: readonly number[];
  /** Dropout rate after each Dense layer but the last; 0 for none. */
  dropout: number;
  /** Also put a Dropout after the last Dense layer (the visnet and ranknet heads do). */
  dropoutAfterLast?: boolean;
  /** Prefix of the layer names: `<prefix>_dense_1`, `<prefix>_dropout_1`, … */
  prefix: string;
}

/** Applies Dense(ReLU) layers with Dropout between them. */
export function applyDenseHead(x: tf.SymbolicTensor, args: DenseHeadArgs): tf.SymbolicTensor {
  let y = x;
  args.units.forEach((units, index) => {
    const n = index + 1;
    const dense = tf.layers.dense({
      name: `${args.prefix}_dense_${n}`,
      units,
      activation: 'relu',
      kernelInitializer: KERAS_KERNEL_INITIALIZER,
    });
    y = apply(dense, y);
    const isLast = n === args.units.length;
    if (args.dropout > 0 && (!isLast || args.dropoutAfterLast)) {
      y = apply(tf.layers.dropout({ name: `${args.prefix}_dropout_${n}`, rate: args.dropout }), y);
    }
  });
  return y;
}

/** L2-normalises along `axis` (default: the last axis). */
export function applyL2(x: tf.SymbolicTensor, name: string, axis = -1): tf.SymbolicTensor {
  return apply(l2Normalization({ name, axis }), x);
}

/** Flattens to [N, D]; a no-op layer is skipped when x is already 2-D. */
export function applyFlatten(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  if (x.shape.length === 2) return x;
  return apply(tf.layers.flatten({ name }), x);
}

export function concatenate(xs: tf.SymbolicTensor[], name: string): tf.SymbolicTensor {
  return apply(tf.layers.concatenate({ name, axis: -1 }), xs);
}

/** Creates the single image input every model starts from. */
export function imageInput(inputSize: number): tf.SymbolicTensor {
  return tf.input({ name: 'image', shape: [inputSize, inputSize, 3] });
}
