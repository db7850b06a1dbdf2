import type { KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs';

import type { HeapBackend } from './heap';

/**
 * UnsortedSegmentSum, missing from the wasm backend, as a JavaScript loop.
 *
 * tfjs uses it for the gradient of `gather`, which training applies to small
 * tensors such as a batch of embeddings, so a loop is fast enough. As in
 * tfjs's cpu kernel, rows whose segment id is outside `[0, numSegments)` are
 * dropped.
 */
const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const segmentIds = inputs.segmentIds as TensorInfo;
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  const heap = backend as HeapBackend;

  const rows = segmentIds.shape.reduce((product, size) => product * size, 1);
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const rowSize = rowShape.reduce((product, size) => product * size, 1);
  // Allocate before taking heap views: growing the wasm memory detaches them.
  const out = heap.makeOutput([numSegments, ...rowShape], x.dtype);
  const values = heap.typedArrayFromHeap(x);
  const ids = heap.typedArrayFromHeap(segmentIds);
  const sums = heap.typedArrayFromHeap(out);
  sums.fill(0);
  for (let row = 0; row < rows; row++) {
    const segment = ids[row];
    if (segment < 0 || segment >= numSegments) {
      continue;
    }
    const from = row * rowSize;
    const to = segment * rowSize;
    for (let k = 0; k < rowSize; k++) {
      sums[to + k] += values[from + k];
    }
  }
  return out;
};

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
