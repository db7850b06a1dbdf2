import type { backend_util } from '@tensorflow/tfjs';

import type { WindowGeometry } from './transposed-conv';

/** Picks the sizes a gradient kernel needs from tfjs's convolution or pooling info. */
export function windowGeometry(info: backend_util.Conv2DInfo): WindowGeometry {
  return {
    batchSize: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** Throws unless both dilation rates are 1, naming the kernel and the rates. */
export function assertNoDilation(kernelName: string, dilations: number | [number, number] | undefined): void {
  const rates = dilations === undefined ? [1, 1] : typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (rates[0] !== 1 || rates[1] !== 1) {
    throw new RangeError(
      `${kernelName} on wasm supports only dilations [1, 1], got [${rates.join(', ')}]. ` +
        'tfjs computes no gradient for dilated convolutions on any backend.',
    );
  }
}

/** Throws unless the data format is channels-last, the only layout the wasm convolutions accept. */
export function assertChannelsLast(kernelName: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new RangeError(`${kernelName} on wasm supports only dataFormat 'NHWC', got '${dataFormat}'.`);
  }
}
