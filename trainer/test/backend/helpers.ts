import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { registerWasmTrainingKernels } from '../../src/backend';

/**
 * Relative tolerance of the wasm kernels against tfjs's cpu kernels: the
 * largest absolute difference divided by the largest absolute reference value.
 * Both sum in float32 but in different orders, which measured below 3e-6 on
 * these inputs.
 */
export const KERNEL_RTOL = 1e-4;

/** Registers the training kernels and initialises both backends once per test file. */
export async function setUpBackends(): Promise<void> {
  registerWasmTrainingKernels();
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
}

/** Deterministic values in [-1, 1) from a 32-bit seed (mulberry32). */
export function randomValues(size: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return values;
}

/** Plain input data for one kernel run: values and shape, recreated as a tensor on each backend. */
export interface HostTensor {
  values: Float32Array | Int32Array | Uint8Array;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
}

export function hostTensor(shape: number[], seed: number): HostTensor {
  return { values: randomValues(shape.reduce((a, b) => a * b, 1), seed), shape, dtype: 'float32' };
}

/** Runs one kernel on `backend` and returns its output's values and shape. */
export async function runKernelOn(
  backend: 'cpu' | 'wasm',
  kernelName: string,
  inputs: Record<string, HostTensor>,
  attrs: object,
): Promise<{ values: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  const tensors: tf.NamedTensorMap = {};
  for (const [name, input] of Object.entries(inputs)) {
    tensors[name] = tf.tensor(input.values, input.shape, input.dtype);
  }
  const output = tf.engine().runKernel(kernelName, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
  const result = { values: (await output.data()) as Float32Array, shape: output.shape };
  tf.dispose([output, ...Object.values(tensors)]);
  return result;
}

/** Largest absolute difference divided by the largest absolute expected value (or 1 if that is 0). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    return Number.POSITIVE_INFINITY;
  }
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  return worst / (scale === 0 ? 1 : scale);
}

/** Runs a kernel on cpu and wasm with the same inputs and returns both outputs. */
export async function compareKernel(
  kernelName: string,
  inputs: Record<string, HostTensor>,
  attrs: object,
): Promise<{ cpu: { values: Float32Array; shape: number[] }; wasm: { values: Float32Array; shape: number[] } }> {
  const cpu = await runKernelOn('cpu', kernelName, inputs, attrs);
  const wasm = await runKernelOn('wasm', kernelName, inputs, attrs);
  return { cpu, wasm };
}
