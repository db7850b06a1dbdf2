import * as tf from '@tensorflow/tfjs';
import type {
  DepthwiseConv2dNativeBackpropFilterAttrs,
  KernelConfig,
  KernelFunc,
  TensorInfo,
} from '@tensorflow/tfjs';

import { assertNoDilation } from './geometry';
import { type HeapBackend, float32HeapViews } from './heap';

/**
 * DepthwiseConv2dNativeBackpropFilter (dW of a depthwise convolution), missing
 * from the wasm backend, as one JavaScript pass over the wasm heap:
 * dW[i, j, c, k] = Σ_{n, y, x} xPadded[n, y·s + i, x·s + j, c] · dy[n, y, x, c·m + k],
 * accumulated in float64.
 *
 * It does 2·kh·kw multiply-adds per element of dy, so it is bound by memory
 * traffic, not arithmetic. The one-convolution formulation (batch folded into
 * channels, dy as a dilated depthwise filter of Ho×Wo taps) falls outside
 * XNNPACK's depthwise microkernels and measured several times slower here.
 *
 * TODO: find a SIMD formulation. At about 10 times the forward pass's time,
 * this is the slowest kernel of a MobileNet training step at 56 px and up.
 */
const depthwiseBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, dilations, pad, dimRoundingMode, filterShape } =
    attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  assertNoDilation('DepthwiseConv2dNativeBackpropFilter', dilations);

  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    true,
  );
  const [filterHeight, filterWidth, channels, multiplier] = filterShape;
  const { batchSize, inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth } = info;
  const outChannels = channels * multiplier;

  const { out, outValues, inputValues } = float32HeapViews('DepthwiseConv2dNativeBackpropFilter', backend as HeapBackend, [x, dy], filterShape);
  const [xValues, dyValues] = inputValues;
  const sums = new Float64Array(outValues.length);

  for (let n = 0; n < batchSize; n++) {
    for (let yo = 0; yo < outHeight; yo++) {
      const rowStart = yo * strideHeight - info.padInfo.top;
      for (let xo = 0; xo < outWidth; xo++) {
        const colStart = xo * strideWidth - info.padInfo.left;
        const dyBase = ((n * outHeight + yo) * outWidth + xo) * outChannels;
        for (let i = 0; i < filterHeight; i++) {
          const r = rowStart + i;
          if (r < 0 || r >= inHeight) {
            continue;
          }
          for (let j = 0; j < filterWidth; j++) {
            const q = colStart + j;
            if (q < 0 || q >= inWidth) {
              continue;
            }
            const xBase = ((n * inHeight + r) * inWidth + q) * channels;
            const sumBase = (i * filterWidth + j) * outChannels;
            if (multiplier === 1) {
              for (let c = 0; c < channels; c++) {
                sums[sumBase + c] += xValues[xBase + c] * dyValues[dyBase + c];
              }
              continue;
            }
            for (let c = 0; c < channels; c++) {
              const xValue = xValues[xBase + c];
              for (let k = 0; k < multiplier; k++) {
                sums[sumBase + c * multiplier + k] += xValue * dyValues[dyBase + c * multiplier + k];
              }
            }
          }
        }
      }
    }
  }
  outValues.set(sums);
  return out;
};

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter,
};
