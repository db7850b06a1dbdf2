import * as tf from '@tensorflow/tfjs';

import { randomValues, relativeError, setUpBackends } from './helpers';

/**
 * Relative tolerance of a whole network's gradients, wasm against cpu, per
 * weight tensor. The rounding differences of the kernels pass through about
 * ten layers. The largest measured was 1.5e-6.
 */
const NETWORK_RTOL = 1e-4;

beforeAll(setUpBackends);

const BATCH = 6;
const IMAGE_SHAPE = [BATCH, 32, 32, 3];

/** Shapes of the small network's weights, named after the layer that uses them. */
const WEIGHT_SHAPES: Record<string, number[]> = {
  conv1: [3, 3, 3, 8],
  conv1Bias: [8],
  depthwise1: [3, 3, 8, 1],
  gamma: [8],
  beta: [8],
  pointwise: [1, 1, 8, 16],
  depthwise2: [3, 3, 16, 1],
  dense1: [256, 16],
  dense2: [40, 12],
  dense2Bias: [12],
};

/**
 * Embeds the images with the layer types of the model zoo. It has strided
 * and 1×1 convolutions, depthwise convolutions with and without stride,
 * batch normalisation, ReLU and ReLU6, and zero padding. Then come max and
 * average pooling, LRN, global average pooling, flatten, concatenation,
 * dense layers and L2 normalisation.
 */
function embed(images: tf.Tensor4D, w: Record<string, tf.Tensor>): tf.Tensor2D {
  const conv1 = tf.fused.conv2d({
    x: images,
    filter: w.conv1 as tf.Tensor4D,
    bias: w.conv1Bias,
    strides: 2,
    pad: 'same',
    activation: 'relu',
  });

  const depthwise1 = tf.depthwiseConv2d(conv1, w.depthwise1 as tf.Tensor4D, 1, 'same');
  const { mean, variance } = tf.moments(depthwise1, [0, 1, 2]);
  const normalised = tf.batchNorm(depthwise1, mean, variance, w.beta, w.gamma, 1e-3);
  const pointwise = tf.relu(tf.conv2d(tf.relu6(normalised) as tf.Tensor4D, w.pointwise as tf.Tensor4D, 1, 'same'));

  const padded = tf.pad(pointwise, [
    [0, 0],
    [0, 1],
    [0, 1],
    [0, 0],
  ]);
  const depthwise2 = tf.relu(tf.depthwiseConv2d(padded, w.depthwise2 as tf.Tensor4D, 2, 'valid'));

  const pooledMax = tf.localResponseNormalization(tf.maxPool(depthwise2, 3, 2, 'same'), 2, 2, 1e-4, 0.75);
  const branchMax = tf.mean(pooledMax, [1, 2]);
  const branchAvg = tf.matMul(tf.reshape(tf.avgPool(depthwise2, 2, 2, 'valid'), [BATCH, -1]), w.dense1 as tf.Tensor2D);
  const skip = tf.mean(conv1, [1, 2]);

  const joined = tf.concat([branchMax, branchAvg, skip], 1);
  const dense = tf.relu(tf.add(tf.matMul(joined, w.dense2 as tf.Tensor2D), w.dense2Bias));
  return tf.div(dense, tf.sqrt(tf.add(tf.sum(tf.square(dense), 1, true), 1e-10))) as tf.Tensor2D;
}

/** Triplet hinge loss over rows (q, p, n) = (0, 1, 2), (3, 4, 5), regrouped with gather. */
function tripletLoss(embeddings: tf.Tensor2D): tf.Scalar {
  const query = tf.gather(embeddings, [0, 3]);
  const positive = tf.gather(embeddings, [1, 4]);
  const negative = tf.gather(embeddings, [2, 5]);
  const toPositive = tf.norm(tf.sub(query, positive), 'euclidean', 1);
  const toNegative = tf.norm(tf.sub(query, negative), 'euclidean', 1);
  return tf.mean(tf.relu(tf.add(tf.sub(toPositive, toNegative), 1)));
}

async function networkGradients(backend: 'cpu' | 'wasm'): Promise<Record<string, Float32Array>> {
  await tf.setBackend(backend);
  const weights: Record<string, tf.Variable> = {};
  let seed = 100;
  for (const [name, shape] of Object.entries(WEIGHT_SHAPES)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = randomValues(size, seed++).map((value) => value * 0.5 + (name === 'gamma' ? 1 : 0));
    weights[name] = tf.variable(tf.tensor(values, shape), true, `${backend}-${name}`);
  }
  const images = tf.tensor4d(randomValues(IMAGE_SHAPE.reduce((a, b) => a * b, 1), 7), IMAGE_SHAPE as [number, number, number, number]);

  const { grads } = tf.variableGrads(() => tripletLoss(embed(images, weights)), Object.values(weights));
  const result: Record<string, Float32Array> = {};
  for (const [name, variable] of Object.entries(weights)) {
    result[name] = grads[variable.name].dataSync() as Float32Array;
  }
  tf.dispose([images, ...Object.values(grads), ...Object.values(weights)]);
  return result;
}

describe('training on wasm', () => {
  test('network gradients match cpu', async () => {
    const cpu = await networkGradients('cpu');
    const wasm = await networkGradients('wasm');

    for (const name of Object.keys(WEIGHT_SHAPES)) {
      const error = relativeError(wasm[name], cpu[name]);
      expect({ name, error: error < NETWORK_RTOL ? 'within tolerance' : error }).toEqual({
        name,
        error: 'within tolerance',
      });
    }
  });

  test.each([
    ['sgd', () => tf.train.sgd(0.01)],
    ['momentum', () => tf.train.momentum(0.01, 0.9)],
    ['rmsprop', () => tf.train.rmsprop(0.001)],
  ])('%s steps leak no tensors or heap', async (_name, makeOptimizer) => {
    await tf.setBackend('wasm');
    const model = layersModel();
    const optimizer = makeOptimizer();
    const images = tf.randomUniform(IMAGE_SHAPE, 0, 1, 'float32', 5);

    const step = (): number => {
      const loss = optimizer.minimize(
        () => tripletLoss(model.apply(images, { training: true }) as tf.Tensor2D),
        true,
      ) as tf.Scalar;
      const value = loss.dataSync()[0];
      loss.dispose();
      return value;
    };

    // The first step creates the optimizer's slot variables.
    step();
    const tensorsAfterFirstStep = tf.memory().numTensors;
    const heapAfterFirstStep = wasmHeapBytes();
    const losses = [step(), step(), step()];

    expect(tf.memory().numTensors).toBe(tensorsAfterFirstStep);
    // The wasm heap only grows, so a leak of XNNPACK operators or intermediates would show here.
    expect(wasmHeapBytes()).toBe(heapAfterFirstStep);
    expect(losses.every(Number.isFinite)).toBe(true);
    optimizer.dispose();
    model.dispose();
    images.dispose();
  });
});

/** Size of the wasm backend's heap, which tfjs exposes only through the backend's module. */
function wasmHeapBytes(): number {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
}

/** Builds a tf.layers model with the zoo's layer types, including dropout and the MobileNet ReLU6. */
function layersModel(): tf.LayersModel {
  const input = tf.input({ shape: IMAGE_SHAPE.slice(1) });
  const conv = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(input);
  const depthwise = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(conv);
  const normalised = tf.layers.batchNormalization().apply(depthwise);
  const relu6 = tf.layers.reLU({ maxValue: 6 }).apply(normalised);
  const padded = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(relu6);
  const strided = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid' }).apply(padded);
  const pooled = tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(strided);
  const averaged = tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }).apply(strided);
  const flat = tf.layers.flatten().apply(averaged);
  const global = tf.layers.globalAveragePooling2d({}).apply(pooled);
  const joined = tf.layers.concatenate().apply([flat as tf.SymbolicTensor, global as tf.SymbolicTensor]);
  const dense = tf.layers.dense({ units: 16, activation: 'relu' }).apply(joined);
  const dropped = tf.layers.dropout({ rate: 0.5 }).apply(dense);
  const output = tf.layers.dense({ units: 8 }).apply(dropped) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}
