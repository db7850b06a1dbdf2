import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs';

import { type HeapBackend, float32HeapViews } from './heap';

/**
 * MaxPoolGrad as one JavaScript pass over the wasm heap.
 *
 * Each window's dy goes to the first input position, in row-major window
 * order, that contains the window's maximum. Positions in the padding never
 * win. That is the rule of tfjs's cpu kernel and of TensorFlow. The loop
 * measured 2 to 3 times as fast here as the kernel shipped with the wasm
 * backend. Building the mask from wasm kernels was about 10 times slower,
 * because their strided slices and comparisons cost 20 to 100 ns per element.
 */
const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const input = inputs.input as TensorInfo;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;

  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { out, outValues: dx, inputValues } = float32HeapViews('MaxPoolGrad', backend as HeapBackend, [dy, input], input.shape);
  const [dyValues, x] = inputValues;
  dx.fill(0);

  const best = new Float32Array(channels);
  const bestIndex = new Int32Array(channels);
  for (let n = 0; n < batchSize; n++) {
    for (let yo = 0; yo < outHeight; yo++) {
      const rowStart = yo * info.strideHeight - info.padInfo.top;
      const rowBegin = Math.max(0, rowStart);
      const rowEnd = Math.min(inHeight, rowStart + info.filterHeight);
      for (let xo = 0; xo < outWidth; xo++) {
        const colStart = xo * info.strideWidth - info.padInfo.left;
        const colBegin = Math.max(0, colStart);
        const colEnd = Math.min(inWidth, colStart + info.filterWidth);

        best.fill(Number.NEGATIVE_INFINITY);
        bestIndex.fill(-1);
        for (let r = rowBegin; r < rowEnd; r++) {
          for (let q = colBegin; q < colEnd; q++) {
            const base = ((n * inHeight + r) * inWidth + q) * channels;
            for (let c = 0; c < channels; c++) {
              const value = x[base + c];
              if (value > best[c]) {
                best[c] = value;
                bestIndex[c] = base + c;
              }
            }
          }
        }

        const dyBase = ((n * outHeight + yo) * outWidth + xo) * channels;
        for (let c = 0; c < channels; c++) {
          if (bestIndex[c] >= 0) {
            dx[bestIndex[c]] += dyValues[dyBase + c];
          }
        }
      }
    }
  }
  return out;
};

export const maxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
