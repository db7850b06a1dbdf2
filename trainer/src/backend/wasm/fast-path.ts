import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';

/** A kernel that handles common cases itself and returns undefined for the rest. */
export type FastPath = (args: Parameters<KernelFunc>[0]) => TensorInfo | undefined;

/**
 * Builds a wasm kernel config that runs `fastPath` and falls back to the
 * kernel registered before it (the one shipped with the wasm backend). The
 * shipped kernel's setup and dispose functions are kept, because the backend
 * runs the setup of whatever is registered when it initialises, and the
 * fallback needs it.
 */
export function withFallback(kernelName: string, fastPath: FastPath, shipped: KernelConfig): KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    setupFunc: shipped.setupFunc,
    disposeFunc: shipped.disposeFunc,
    kernelFunc: (args) => fastPath(args) ?? shipped.kernelFunc(args),
  };
}
