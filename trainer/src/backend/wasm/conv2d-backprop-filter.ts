import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';

import { assertChannelsLast } from './geometry';
import { type DisposingBackend, withKernelScope } from './kernel-scope';

/**
 * Conv2DBackpropFilter (dW of a 2-D convolution) as one XNNPACK convolution.
 *
 * dW[i, j, ci, co] = Σ_{n, y, x} xPadded[n, y·s + i, x·s + j, ci] · dy[n, y, x, co]
 * is a correlation of x with dy dilated by the stride s. The batch axis
 * becomes the contracted channel axis: x turns into a batch of Cin images
 * `[Cin, H, W, N]` and dy into a filter `[Ho, Wo, N, Cout]`. Their stride-1
 * convolution with dilation s is `[Cin, kh, kw, Cout]`.
 */
const conv2dBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  assertChannelsLast('Conv2DBackpropFilter', dataFormat);

  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const [filterHeight, filterWidth, inChannels, outChannels] = filterShape;
  // Rows past the last one that any window reaches are padding the forward
  // pass never read. They only widen the correlation, which is cropped below.
  const padBottom = Math.max(0, filterHeight + (info.outHeight - 1) * info.strideHeight - info.inHeight - info.padInfo.top);
  const padRight = Math.max(0, filterWidth + (info.outWidth - 1) * info.strideWidth - info.inWidth - info.padInfo.left);

  const pointwise =
    filterHeight === 1 &&
    filterWidth === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.outHeight === info.inHeight &&
    info.outWidth === info.inWidth;

  return withKernelScope(backend as DisposingBackend, (scope) => {
    if (pointwise) {
      // A 1×1 stride-1 filter gradient is the matrix product xᵀ·dy over all
      // N·H·W positions. As a 1×1 convolution of Cin one-pixel images with
      // N·H·W channels, XNNPACK runs it as one plain GEMM.
      const positions = x.shape[0] * x.shape[1] * x.shape[2];
      const rows = scope.transpose(scope.reshape(x, [positions, inChannels]), [1, 0]);
      const product = scope.conv2d(
        scope.reshape(rows, [inChannels, 1, 1, positions]),
        scope.reshape(dy, [1, 1, positions, outChannels]),
        [
          [0, 0],
          [0, 0],
          [0, 0],
          [0, 0],
        ],
      );
      return scope.reshape(product, filterShape);
    }

    const images = scope.transpose(x, [3, 1, 2, 0]);
    const dyFilter = scope.transpose(dy, [1, 2, 0, 3]);
    let correlation = scope.conv2d(
      images,
      dyFilter,
      [
        [0, 0],
        [info.padInfo.top, padBottom],
        [info.padInfo.left, padRight],
        [0, 0],
      ],
      [info.strideHeight, info.strideWidth],
    );
    if (correlation.shape[1] !== filterHeight || correlation.shape[2] !== filterWidth) {
      correlation = scope.slice(correlation, [0, 0, 0, 0], [inChannels, filterHeight, filterWidth, outChannels]);
    }
    return scope.transpose(correlation, [1, 2, 0, 3]);
  });
};

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter,
};
