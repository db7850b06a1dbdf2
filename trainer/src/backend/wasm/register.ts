import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';

import { avgPoolGradConfig } from './avg-pool-grad';
import { COMPARISON_FAST_PATHS } from './comparisons';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input';
import { type FastPath, withFallback } from './fast-path';
import { maxPoolGradConfig } from './max-pool-grad';
import { tileConfig } from './tile';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum';

/** Kernels missing from the wasm backend of @tensorflow/tfjs-backend-wasm 4.22.0. */
const ADDED: readonly KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  unsortedSegmentSumConfig,
];

/** Shipped kernels replaced whole: per-element loops that measured 1.4 to 100 times slower than these here. */
const REPLACED: readonly KernelConfig[] = [conv2dBackpropInputConfig, maxPoolGradConfig, avgPoolGradConfig, tileConfig];

/** Shipped kernels given a faster path for the cases training hits. Other cases still run the shipped kernel. */
const FAST_PATHS: Readonly<Record<string, FastPath>> = COMPARISON_FAST_PATHS;

/** Names of every kernel `registerWasmTrainingKernels` registers on wasm. */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  ...ADDED.map((config) => config.kernelName),
  ...REPLACED.map((config) => config.kernelName),
  ...Object.keys(FAST_PATHS),
];

/** Names of the kernels that `registerWasmTrainingKernels` added and of those it replaced or wrapped. */
export interface WasmKernelRegistration {
  added: string[];
  replaced: string[];
}

const registeredFuncs = new WeakSet<KernelFunc>();

/**
 * Registers the training kernels on the wasm backend. Safe to call more than
 * once, because a later call changes nothing. Call it after importing
 * @tensorflow/tfjs-backend-wasm and before the backend first runs, so that
 * the fallbacks' setup functions run when the backend initialises.
 */
export function registerWasmTrainingKernels(): WasmKernelRegistration {
  const registration: WasmKernelRegistration = { added: [], replaced: [] };

  const install = (config: KernelConfig, list: string[]): void => {
    if (tf.getKernel(config.kernelName, 'wasm') !== undefined) {
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    registeredFuncs.add(config.kernelFunc);
    tf.registerKernel(config);
    list.push(config.kernelName);
  };

  for (const config of [...ADDED, ...REPLACED]) {
    const existing = tf.getKernel(config.kernelName, 'wasm');
    if (existing === undefined || !registeredFuncs.has(existing.kernelFunc)) {
      install(config, existing === undefined ? registration.added : registration.replaced);
    }
  }

  for (const [kernelName, fastPath] of Object.entries(FAST_PATHS)) {
    const shipped = tf.getKernel(kernelName, 'wasm');
    // Without the shipped kernel there is nothing to fall back to, and tfjs reports the missing kernel itself.
    if (shipped !== undefined && !registeredFuncs.has(shipped.kernelFunc)) {
      install(withFallback(kernelName, fastPath, shipped), registration.replaced);
    }
  }
  return registration;
}
