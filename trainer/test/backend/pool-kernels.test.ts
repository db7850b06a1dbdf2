import * as tf from '@tensorflow/tfjs';

import { compareKernel, type HostTensor, hostTensor, KERNEL_RTOL, relativeError, setUpBackends } from './helpers';

beforeAll(setUpBackends);

const inputShape = [2, 17, 19, 3] as [number, number, number, number];

/**
 * Input with many exact ties inside pooling windows: values rounded to
 * multiples of 0.25 and clipped at 0 like a ReLU output, so the gradient's
 * choice among equal maxima is exercised.
 */
function tiedInput(seed: number): HostTensor {
  const input = hostTensor(inputShape, seed);
  input.values = input.values.map((value) => Math.max(0, Math.round(value * 4) / 4));
  return input;
}

function poolCases(): Array<[number, number, 'same' | 'valid']> {
  const cases: Array<[number, number, 'same' | 'valid']> = [];
  for (const size of [2, 3, 4, 7, 8]) {
    for (const stride of [1, 2, 4, 8]) {
      for (const pad of ['same', 'valid'] as const) {
        cases.push([size, stride, pad]);
      }
    }
  }
  return cases;
}

describe('pooling gradient kernels on wasm', () => {
  test.each(poolCases())('size %i, stride %i, pad %s', async (size, stride, pad) => {
    const attrs = { filterSize: size, strides: stride, pad };
    const info = tf.backend_util.computePool2DInfo(inputShape, size, stride, 1, pad);
    const input = tiedInput(61);
    const dy = hostTensor(info.outShape, 62);

    await tf.setBackend('cpu');
    const output = tf.tidy(() => {
      const pooled = tf.maxPool(tf.tensor4d(input.values, inputShape), size, stride, pad);
      return { values: pooled.dataSync() as Float32Array, shape: pooled.shape, dtype: 'float32' as const };
    });

    const maxPool = await compareKernel('MaxPool', { x: input }, attrs);
    expect(Array.from(maxPool.wasm.values)).toEqual(Array.from(output.values));
    const avgPool = await compareKernel('AvgPool', { x: input }, attrs);
    expect(relativeError(avgPool.wasm.values, avgPool.cpu.values)).toBeLessThan(KERNEL_RTOL);

    const maxGrad = await compareKernel('MaxPoolGrad', { dy, input, output }, attrs);
    expect(maxGrad.wasm.shape).toEqual(inputShape);
    expect(relativeError(maxGrad.wasm.values, maxGrad.cpu.values)).toBeLessThan(KERNEL_RTOL);

    const avgGrad = await compareKernel('AvgPoolGrad', { dy, input }, attrs);
    expect(avgGrad.wasm.shape).toEqual(inputShape);
    expect(relativeError(avgGrad.wasm.values, avgGrad.cpu.values)).toBeLessThan(KERNEL_RTOL);
  });

  test('MaxPoolGrad routes a tied window to its first maximum', async () => {
    const input: HostTensor = { values: new Float32Array([0, 0, 5, 5]), shape: [1, 2, 2, 1], dtype: 'float32' };
    const output: HostTensor = { values: new Float32Array([5]), shape: [1, 1, 1, 1], dtype: 'float32' };
    const dy: HostTensor = { values: new Float32Array([1]), shape: [1, 1, 1, 1], dtype: 'float32' };

    const { wasm } = await compareKernel('MaxPoolGrad', { dy, input, output }, { filterSize: 2, strides: 2, pad: 'valid' });

    expect(Array.from(wasm.values)).toEqual([0, 0, 1, 0]);
  });
});

describe('local response normalisation on wasm', () => {
  test('LRN and LRNGrad match cpu', async () => {
    const x = hostTensor([2, 5, 6, 12], 131);
    const attrs = { depthRadius: 2, bias: 2, alpha: 1e-4, beta: 0.75 };
    const y = await compareKernel('LRN', { x }, attrs);
    expect(relativeError(y.wasm.values, y.cpu.values)).toBeLessThan(KERNEL_RTOL);

    const dy = hostTensor([2, 5, 6, 12], 132);
    const output: HostTensor = { values: y.cpu.values, shape: y.cpu.shape, dtype: 'float32' };
    const dx = await compareKernel('LRNGrad', { x, y: output, dy }, attrs);
    expect(relativeError(dx.wasm.values, dx.cpu.values)).toBeLessThan(KERNEL_RTOL);
  });
});

describe('UnsortedSegmentSum on wasm', () => {
  test('sums rows per segment and drops out-of-range ids', async () => {
    const x = hostTensor([6, 4], 71);
    const segmentIds: HostTensor = { values: new Int32Array([2, 0, 2, -1, 5, 1]), shape: [6], dtype: 'int32' };

    const { cpu, wasm } = await compareKernel('UnsortedSegmentSum', { x, segmentIds }, { numSegments: 4 });

    expect(wasm.shape).toEqual([4, 4]);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(KERNEL_RTOL);
    expect(Array.from(wasm.values.slice(12, 16))).toEqual([0, 0, 0, 0]);
  });

  test('gather gradient on wasm matches cpu', async () => {
    const values = hostTensor([5, 3], 81);
    const gradients: Float32Array[] = [];
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.gather(x, [4, 0, 4, 2]), tf.range(1, 13).reshape([4, 3]))));
      const dx = grad(tf.tensor2d(values.values, [5, 3]));
      gradients.push(dx.dataSync() as Float32Array);
      dx.dispose();
    }
    expect(relativeError(gradients[1], gradients[0])).toBeLessThan(KERNEL_RTOL);
  });
});
