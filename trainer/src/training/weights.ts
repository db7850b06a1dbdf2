import * as tf from '@tensorflow/tfjs';

/**
 * Tensors packed into one binary blob plus a JSON description. Names are
 * positions ("0", "1", …) rather than variable names, because TensorFlow.js
 * makes variable names unique per process by appending suffixes, so the
 * same model built twice gets different names.
 */
export interface PackedTensors {
  data: Buffer;
  specs: tf.io.WeightsManifestEntry[];
}

function toBuffer(data: tf.io.WeightData): Buffer {
  const buffer = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return Buffer.from(buffer);
}

export async function packTensors(tensors: readonly tf.Tensor[]): Promise<PackedTensors> {
  const named = tensors.map((tensor, index) => ({ name: String(index), tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  return { data: toBuffer(data), specs };
}

/** Decodes tensors in their packed order. The caller owns and disposes them. */
export function unpackTensors(packed: PackedTensors): tf.Tensor[] {
  const buffer = new Uint8Array(packed.data).buffer;
  const map = tf.io.decodeWeights(buffer, packed.specs);
  return packed.specs.map((spec) => map[spec.name]);
}

/**
 * Packs the optimizer's slots: the iteration count first, then one or more
 * per variable. The slots are the optimizer's own variables and stay alive.
 */
export async function packOptimizer(optimizer: tf.Optimizer): Promise<PackedTensors> {
  const named = await optimizer.getWeights();
  try {
    return await packTensors(named.map((entry) => entry.tensor));
  } finally {
    // getWeights() makes a new scalar for the iteration count on every call.
    named[0]?.tensor.dispose();
  }
}

/**
 * Restores optimizer slots saved by packOptimizer. The slots line up with
 * the variables by position, which is safe because every step passes the
 * model's trainable weights in the same order.
 */
export async function restoreOptimizer(optimizer: tf.Optimizer, tensors: tf.Tensor[]): Promise<void> {
  await optimizer.setWeights(tensors.map((tensor, index) => ({ name: `slot_${index}`, tensor })));
}
