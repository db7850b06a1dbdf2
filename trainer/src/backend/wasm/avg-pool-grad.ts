import * as tf from '@tensorflow/tfjs';
import type { AvgPoolGradAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';

import { windowGeometry } from './geometry';
import { type DisposingBackend, withKernelScope } from './kernel-scope';
import { phaseTransposedConv, squareDepthwiseTaps } from './transposed-conv';

/**
 * AvgPoolGrad as the transposed depthwise convolution of dy with a constant
 * filter 1/(kh·kw), one XNNPACK depthwise convolution per stride phase.
 *
 * The wasm backend ships this kernel as a plain loop (30 to 55 ns per input
 * element here). Like tfjs's cpu and wasm kernels, every window counts as
 * kh·kw elements, also where 'same' padding cuts it at the border.
 */
const avgPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const input = inputs.input as TensorInfo;
  const { filterSize, strides, pad } = attrs as unknown as AvgPoolGradAttrs;
  const { dimRoundingMode } = attrs as { dimRoundingMode?: 'floor' | 'round' | 'ceil' };

  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const geometry = windowGeometry(info);
  const channels = info.inChannels;
  const weight = 1 / (info.filterHeight * info.filterWidth);

  return withKernelScope(backend as DisposingBackend, (scope) =>
    phaseTransposedConv(scope, geometry, channels, (phase) => {
      const taps = scope.fill([phase.taps[0], phase.taps[1], channels, 1], weight);
      const squared = squareDepthwiseTaps(scope, taps, phase);
      return scope.depthwiseConv2d(dy, squared.filter, squared.pad);
    }),
  );
};

export const avgPoolGradConfig: KernelConfig = {
  kernelName: 'AvgPoolGrad',
  backendName: 'wasm',
  kernelFunc: avgPoolGrad,
};
