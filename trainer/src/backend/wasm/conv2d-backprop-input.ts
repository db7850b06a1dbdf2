import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';

import { assertChannelsLast, windowGeometry } from './geometry';
import { type DisposingBackend, withKernelScope } from './kernel-scope';
import { phaseTransposedConv, reversedPhaseTaps } from './transposed-conv';

/**
 * Conv2DBackpropInput (dx of a 2-D convolution) on XNNPACK convolutions.
 *
 * The wasm backend ships this kernel as a plain loop (about 1 GFLOP/s here).
 * This version runs one stride-1 XNNPACK convolution per stride phase, with
 * the phase's reversed and transposed sub-filter.
 */
const conv2dBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { inputShape, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as Conv2DBackpropInputAttrs;
  assertChannelsLast('Conv2DBackpropInput', dataFormat);

  const inChannels = filter.shape[2];
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const geometry = windowGeometry(info);

  return withKernelScope(backend as DisposingBackend, (scope) =>
    phaseTransposedConv(scope, geometry, inChannels, (phase) => {
      const taps = reversedPhaseTaps(scope, filter, phase, [geometry.strideHeight, geometry.strideWidth]);
      return scope.conv2d(dy, scope.transpose(taps, [0, 1, 3, 2]), phase.pad);
    }),
  );
};

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput,
};
