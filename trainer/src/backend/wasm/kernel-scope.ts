import * as tf from '@tensorflow/tfjs';
import type { DataType, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

/** The part of a tfjs backend that a composed kernel needs to free its intermediates. */
export interface DisposingBackend {
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Explicit padding of a 4-D NHWC convolution: `[[0, 0], [top, bottom], [left, right], [0, 0]]`. */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Runs kernels of the wasm backend directly on TensorInfos and frees every
 * intermediate through the backend when the composed kernel finishes.
 *
 * The engine does not track TensorInfos created inside a kernel, so they must
 * not be wrapped as Tensors (disposing such a Tensor frees data the engine
 * later looks up). Each `run` records its output, `keep` marks the one that
 * the composed kernel returns, and `dispose` frees the rest once each.
 */
export class KernelScope {
  private readonly intermediates: TensorInfo[] = [];

  constructor(
    readonly backend: DisposingBackend,
    readonly backendName = 'wasm',
  ) {}

  /** Runs the kernel `kernelName` of this scope's backend and records its output. */
  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const config = tf.getKernel(kernelName, this.backendName);
    if (config === undefined) {
      throw new Error(
        `Kernel '${kernelName}' is not registered for backend '${this.backendName}'; ` +
          'initialise that backend before running kernels composed from it.',
      );
    }
    const output = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(output)) {
      this.intermediates.push(...output);
      return output[0];
    }
    this.intermediates.push(output);
    return output;
  }

  /** Removes `info` from the intermediates so that `dispose` leaves it to the caller. */
  keep(info: TensorInfo): TensorInfo {
    const index = this.intermediates.lastIndexOf(info);
    if (index >= 0) {
      this.intermediates.splice(index, 1);
    }
    return info;
  }

  /** Frees every recorded intermediate that was not kept. */
  dispose(): void {
    for (const info of this.intermediates) {
      this.backend.disposeData(info.dataId);
    }
    this.intermediates.length = 0;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  pad(x: TensorInfo, paddings: Array<[number, number]>, constantValue = 0): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  concat(tensors: TensorInfo[], axis: number): TensorInfo {
    return this.run('Concat', tensors as unknown as NamedTensorInfoMap, { axis });
  }

  sum(x: TensorInfo, axis: number[]): TensorInfo {
    return this.run('Sum', { x }, { axis, keepDims: false });
  }

  fill(shape: number[], value: number, dtype: DataType = 'float32'): TensorInfo {
    return this.run('Fill', {}, { shape, value, dtype });
  }

  conv2d(x: TensorInfo, filter: TensorInfo, pad: ExplicitPadding, dilations: [number, number] = [1, 1]): TensorInfo {
    return this.run(
      'Conv2D',
      { x, filter },
      { strides: [1, 1], pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined } as unknown as NamedAttrMap,
    );
  }

  depthwiseConv2d(
    x: TensorInfo,
    filter: TensorInfo,
    pad: ExplicitPadding,
    dilations: [number, number] = [1, 1],
  ): TensorInfo {
    return this.run(
      'DepthwiseConv2dNative',
      { x, filter },
      { strides: [1, 1], pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined } as unknown as NamedAttrMap,
    );
  }
}

/**
 * Runs `body` with a fresh scope and returns the TensorInfo it produces,
 * freeing every other intermediate, also when `body` throws.
 */
export function withKernelScope(backend: DisposingBackend, body: (scope: KernelScope) => TensorInfo): TensorInfo {
  const scope = new KernelScope(backend);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}
