import * as tf from '@tensorflow/tfjs';
import type {
  DepthwiseConv2dNativeBackpropInputAttrs,
  KernelConfig,
  KernelFunc,
  TensorInfo,
} from '@tensorflow/tfjs';

import { assertNoDilation, windowGeometry } from './geometry';
import { type DisposingBackend, type KernelScope, withKernelScope } from './kernel-scope';
import { type PhaseSpec, phaseTransposedConv, reversedPhaseTaps, squareDepthwiseTaps } from './transposed-conv';

/**
 * DepthwiseConv2dNativeBackpropInput (dx of a depthwise convolution), missing
 * from the wasm backend, as one stride-1 XNNPACK depthwise convolution per
 * stride phase with the phase's reversed sub-filter.
 *
 * With a channel multiplier m > 1 the convolution runs on the C·m channels of
 * dy and the m products of each input channel are summed afterwards.
 */
const depthwiseBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { inputShape, strides, dilations, pad, dimRoundingMode } =
    attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  assertNoDilation('DepthwiseConv2dNativeBackpropInput', dilations);

  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    true,
  );
  const geometry = windowGeometry(info);
  const channels = filter.shape[2];

  return withKernelScope(backend as DisposingBackend, (scope) =>
    phaseTransposedConv(scope, geometry, channels, (phase) =>
      depthwisePhase(scope, dy, filter, phase, [geometry.strideHeight, geometry.strideWidth]),
    ),
  );
};

function depthwisePhase(
  scope: KernelScope,
  dy: TensorInfo,
  filter: TensorInfo,
  phase: PhaseSpec,
  strides: [number, number],
): TensorInfo {
  const [, , channels, multiplier] = filter.shape;
  const flipped = reversedPhaseTaps(scope, filter, phase, strides);
  const squared = squareDepthwiseTaps(scope, flipped, phase);
  if (multiplier === 1) {
    return scope.depthwiseConv2d(dy, squared.filter, squared.pad);
  }

  const [rows, cols] = squared.filter.shape;
  const perOutputChannel = scope.reshape(squared.filter, [rows, cols, channels * multiplier, 1]);
  const products = scope.depthwiseConv2d(dy, perOutputChannel, squared.pad);
  const [batch, height, width] = products.shape;
  return scope.sum(scope.reshape(products, [batch, height, width, channels, multiplier]), [4]);
}

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput,
};
