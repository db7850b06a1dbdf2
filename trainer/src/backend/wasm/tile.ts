import type { KernelConfig, KernelFunc, TensorInfo, TileAttrs } from '@tensorflow/tfjs';

import type { HeapBackend } from './heap';

type HeapArray = Float32Array | Int32Array | Uint8Array;

/**
 * Tile with block copies on the wasm heap.
 *
 * The shipped wasm kernel computes every output index separately (about
 * 280 ns per element here), and tfjs's batch-normalisation gradient tiles the
 * per-channel statistics to the activation's full shape several times per
 * layer, so it dominated a training step. Here each input row is copied once
 * and every repetition is a `copyWithin` of an already written block, so the
 * kernel runs at memory-copy speed.
 */
const tile: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const { reps } = attrs as unknown as TileAttrs;
  if (x.dtype === 'string' || x.dtype === 'complex64') {
    throw new TypeError(`Tile on wasm supports float32, int32 and bool tensors, got ${x.dtype}.`);
  }
  if (reps.length !== x.shape.length) {
    throw new RangeError(`Tile reps has ${reps.length} entries, expected one per axis of the ${x.shape.length}-D input.`);
  }

  const heap = backend as HeapBackend;
  const outShape = x.shape.map((size, axis) => size * reps[axis]);
  // Allocate before taking heap views: growing the wasm memory detaches them.
  const out = heap.makeOutput(outShape, x.dtype);
  if (outShape.some((size) => size === 0)) {
    return out;
  }
  const input = heap.typedArrayFromHeap(x);
  const output = heap.typedArrayFromHeap(out);

  if (x.shape.length === 0) {
    output[0] = input[0];
    return out;
  }
  fillTiled(input, output, x.shape, reps, strides(x.shape), strides(outShape), 0, 0, 0);
  return out;
};

function strides(shape: number[]): number[] {
  const result = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    result[axis] = stride;
    stride *= shape[axis];
  }
  return result;
}

/**
 * Writes the tiled block of the input sub-tensor at `inOffset` (axes `axis`
 * onwards) to `outOffset`: first its own elements, then `reps[axis] - 1`
 * copies of that block along `axis`, which are contiguous in the output.
 */
function fillTiled(
  input: HeapArray,
  output: HeapArray,
  shape: number[],
  reps: number[],
  inStrides: number[],
  outStrides: number[],
  axis: number,
  inOffset: number,
  outOffset: number,
): void {
  const size = shape[axis];
  if (axis === shape.length - 1) {
    output.set(input.subarray(inOffset, inOffset + size), outOffset);
  } else {
    for (let i = 0; i < size; i++) {
      fillTiled(input, output, shape, reps, inStrides, outStrides, axis + 1, inOffset + i * inStrides[axis], outOffset + i * outStrides[axis]);
    }
  }

  const blockLength = size * outStrides[axis];
  for (let rep = 1; rep < reps[axis]; rep++) {
    output.copyWithin(outOffset + rep * blockLength, outOffset, outOffset + blockLength);
  }
}

export const tileConfig: KernelConfig = {
  kernelName: 'Tile',
  backendName: 'wasm',
  kernelFunc: tile,
};
