import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';

import { avgPoolGradConfig } from './avg-pool-grad';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input';
import { maxPoolGradConfig } from './max-pool-grad';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum';

/**
 * Kernels this project registers on the wasm backend of
 * @tensorflow/tfjs-backend-wasm 4.22.0. The first four are missing there; the
 * last three replace shipped per-element loops with XNNPACK convolutions or
 * vectorised kernels, which are 10 to 40 times faster here.
 */
export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  unsortedSegmentSumConfig,
  conv2dBackpropInputConfig,
  maxPoolGradConfig,
  avgPoolGradConfig,
];

/** Names of the kernels that `registerWasmTrainingKernels` added and of those it replaced. */
export interface WasmKernelRegistration {
  added: string[];
  replaced: string[];
}

/**
 * Registers the training kernels on the wasm backend. Safe to call more than
 * once; a later call changes nothing. Kernels run only once the wasm backend
 * is initialised, because they call its own registered kernels.
 */
export function registerWasmTrainingKernels(): WasmKernelRegistration {
  const registration: WasmKernelRegistration = { added: [], replaced: [] };

  for (const config of WASM_TRAINING_KERNELS) {
    const existing = tf.getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) {
      continue;
    }
    if (existing === undefined) {
      registration.added.push(config.kernelName);
    } else {
      tf.unregisterKernel(config.kernelName, config.backendName);
      registration.replaced.push(config.kernelName);
    }
    tf.registerKernel(config);
  }
  return registration;
}
