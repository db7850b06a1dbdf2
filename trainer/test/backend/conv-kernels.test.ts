import * as tf from '@tensorflow/tfjs';

import { compareKernel, hostTensor, KERNEL_RTOL, relativeError, runKernelOn, setUpBackends } from './helpers';

type Pad = 'same' | 'valid' | number;

beforeAll(setUpBackends);

function convCases(): Array<[number, number | [number, number], Pad]> {
  const cases: Array<[number, number | [number, number], Pad]> = [];
  for (const kernel of [1, 3, 8]) {
    for (const stride of [1, 2, 4, 16, 32]) {
      for (const pad of ['same', 'valid'] as const) {
        cases.push([kernel, stride, pad]);
      }
    }
  }
  cases.push([3, [1, 2], 'same'], [3, [2, 1], 'valid'], [5, 2, 1], [3, 1, 2]);
  return cases;
}

describe('Conv2D gradient kernels on wasm', () => {
  const xShape = [2, 33, 34, 2];

  test.each(convCases())('kernel %i, stride %p, pad %p', async (kernel, stride, pad) => {
    const filterShape = [kernel, kernel, 2, 3] as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape, stride, 1, pad);
    const x = hostTensor(xShape, 11);
    const filter = hostTensor(filterShape, 12);
    const dy = hostTensor(info.outShape, 13);

    const y = await compareKernel('Conv2D', { x, filter }, { strides: stride, pad, dataFormat: 'NHWC', dilations: 1 });
    expect(y.wasm.shape).toEqual(info.outShape);
    expect(relativeError(y.wasm.values, y.cpu.values)).toBeLessThan(KERNEL_RTOL);

    const dx = await compareKernel(
      'Conv2DBackpropInput',
      { dy, filter },
      { strides: stride, pad, dataFormat: 'NHWC', inputShape: xShape },
    );
    expect(dx.wasm.shape).toEqual(xShape);
    expect(relativeError(dx.wasm.values, dx.cpu.values)).toBeLessThan(KERNEL_RTOL);

    const dw = await compareKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      { strides: stride, pad, dataFormat: 'NHWC', filterShape },
    );
    expect(dw.wasm.shape).toEqual(filterShape);
    expect(relativeError(dw.wasm.values, dw.cpu.values)).toBeLessThan(KERNEL_RTOL);
  });

  test('dilated forward convolution matches cpu', async () => {
    const x = hostTensor([2, 17, 17, 2], 21);
    const filter = hostTensor([3, 3, 2, 3], 22);
    for (const pad of ['same', 'valid'] as const) {
      const { cpu, wasm } = await compareKernel('Conv2D', { x, filter }, { strides: 1, pad, dataFormat: 'NHWC', dilations: 2 });
      expect(relativeError(wasm.values, cpu.values)).toBeLessThan(KERNEL_RTOL);
    }
  });

  test('NCHW data format is rejected', async () => {
    const dy = hostTensor([1, 4, 5, 5], 31);
    const filter = hostTensor([3, 3, 2, 4], 32);
    await expect(
      runKernelOn('wasm', 'Conv2DBackpropInput', { dy, filter }, {
        strides: 1,
        pad: 'same',
        dataFormat: 'NCHW',
        inputShape: [1, 2, 5, 5],
      }),
    ).rejects.toThrow("supports only dataFormat 'NHWC', got 'NCHW'");
  });
});

describe('depthwise gradient kernels on wasm', () => {
  const cases: Array<[number, number, 'same' | 'valid', number]> = [];
  for (const kernel of [3, 5]) {
    for (const stride of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) {
        for (const multiplier of [1, 2]) {
          cases.push([kernel, stride, pad, multiplier]);
        }
      }
    }
  }

  test.each(cases)('kernel %i, stride %i, pad %s, multiplier %i', async (kernel, stride, pad, multiplier) => {
    const xShape = [2, 13, 14, 5] as [number, number, number, number];
    const filterShape = [kernel, kernel, 5, multiplier] as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, stride, 1, pad, undefined, true);
    const x = hostTensor(xShape, 41);
    const filter = hostTensor(filterShape, 42);
    const dy = hostTensor(info.outShape, 43);

    const y = await compareKernel('DepthwiseConv2dNative', { x, filter }, { strides: stride, pad, dilations: 1 });
    expect(relativeError(y.wasm.values, y.cpu.values)).toBeLessThan(KERNEL_RTOL);

    const dx = await compareKernel(
      'DepthwiseConv2dNativeBackpropInput',
      { dy, filter },
      { strides: stride, pad, dilations: 1, inputShape: xShape },
    );
    expect(dx.wasm.shape).toEqual(xShape);
    expect(relativeError(dx.wasm.values, dx.cpu.values)).toBeLessThan(KERNEL_RTOL);

    const dw = await compareKernel(
      'DepthwiseConv2dNativeBackpropFilter',
      { x, dy },
      { strides: stride, pad, dilations: 1, filterShape },
    );
    expect(dw.wasm.shape).toEqual(filterShape);
    expect(relativeError(dw.wasm.values, dw.cpu.values)).toBeLessThan(KERNEL_RTOL);
  });

  test('dilations other than 1 are rejected', async () => {
    const dy = hostTensor([1, 5, 5, 2], 51);
    const filter = hostTensor([3, 3, 2, 1], 52);
    await expect(
      runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, {
        strides: 1,
        pad: 'same',
        dilations: 2,
        inputShape: [1, 5, 5, 2],
      }),
    ).rejects.toThrow('supports only dilations [1, 1], got [2, 2]');
  });
});
