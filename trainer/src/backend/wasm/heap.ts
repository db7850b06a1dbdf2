import type { DataType, TensorInfo } from '@tensorflow/tfjs';

/**
 * The wasm backend methods that loop kernels use to read their inputs in place
 * on the wasm heap and to allocate and fill their output there.
 */
export interface HeapBackend {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * Allocates a float32 output first, then takes Float32Array views of the
 * float32 inputs and of the output on the heap. The order matters: an
 * allocation may grow the wasm memory, which detaches every earlier view.
 * Monomorphic Float32Array views also keep V8's element access fast in the
 * loops.
 */
export function float32HeapViews(
  kernelName: string,
  backend: HeapBackend,
  inputs: TensorInfo[],
  outShape: number[],
): { out: TensorInfo; outValues: Float32Array; inputValues: Float32Array[] } {
  for (const info of inputs) {
    if (info.dtype !== 'float32') {
      throw new TypeError(`${kernelName} on wasm supports only float32 inputs, got ${info.dtype}.`);
    }
  }
  const out = backend.makeOutput(outShape, 'float32');
  const inputValues = inputs.map((info) => backend.typedArrayFromHeap(info) as Float32Array);
  const outValues = backend.typedArrayFromHeap(out) as Float32Array;
  return { out, outValues, inputValues };
}
