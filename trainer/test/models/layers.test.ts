import * as tf from '@tensorflow/tfjs';

import { ChannelSlice, getModel, L2Normalization, LocalResponseNormalization } from '../../src/models';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Saves a model to memory and reads it back through tf.loadLayersModel. */
async function roundTrip(model: tf.LayersModel): Promise<tf.LayersModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (saved) => {
      artifacts = saved;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts) throw new Error('model.save did not call the save handler');
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

describe('L2Normalization', () => {
  test('divides by the norm of the last axis', () => {
    const y = new L2Normalization().apply(tf.tensor2d([[3, 4], [0, 5]])) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([
      expect.closeTo(0.6, 6),
      expect.closeTo(0.8, 6),
      0,
      1,
    ]);
  });

  test('keeps a zero vector finite', () => {
    const y = new L2Normalization().apply(tf.zeros([1, 3])) as tf.Tensor;
    expect(y.arraySync()).toEqual([[0, 0, 0]]);
  });

  test('normalises along axis 1 of a map', () => {
    // Column (w=0, c=0) over h is [3, 4], so it becomes [0.6, 0.8].
    const map = tf.tensor4d([3, 4], [1, 2, 1, 1]);
    const y = new L2Normalization({ axis: 1 }).apply(map) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([
      expect.closeTo(0.6, 6),
      expect.closeTo(0.8, 6),
    ]);
  });

  test('rejects a fractional axis', () => {
    expect(() => new L2Normalization({ axis: 1.5 })).toThrow(/axis 1.5 is invalid; expected an integer/);
  });
});

describe('LocalResponseNormalization', () => {
  test('matches a hand-worked pixel', () => {
    // Channels [1, 2, 3], n = 3 (depthRadius 1), k = 2, alpha = 0.5, beta = 1:
    // c0: 1 / (2 + 0.5·(1 + 4)) = 1/4.5; c1: 2 / (2 + 0.5·14) = 2/9; c2: 3 / (2 + 0.5·13) = 3/8.5.
    const layer = new LocalResponseNormalization({ depthRadius: 1, bias: 2, alpha: 0.5, beta: 1 });
    const y = layer.apply(tf.tensor4d([1, 2, 3], [1, 1, 1, 3])) as tf.Tensor;
    const values = Array.from(y.dataSync());
    expect(values[0]).toBeCloseTo(1 / 4.5, 6);
    expect(values[1]).toBeCloseTo(2 / 9, 6);
    expect(values[2]).toBeCloseTo(3 / 8.5, 6);
  });

  test('uses n = 5, k = 2, alpha 1e-4, beta 0.75 by default', () => {
    const layer = new LocalResponseNormalization();
    expect(layer.getConfig()).toMatchObject({ depthRadius: 2, bias: 2, alpha: 1e-4, beta: 0.75 });
    // One channel of value 10: 10 / (2 + 1e-4·100)^0.75.
    const y = layer.apply(tf.fill([1, 1, 1, 1], 10)) as tf.Tensor;
    expect(y.dataSync()[0]).toBeCloseTo(10 / Math.pow(2.01, 0.75), 5);
  });

  test('has a gradient', () => {
    const layer = new LocalResponseNormalization();
    const grad = tf.grad((x: tf.Tensor) => tf.sum(layer.apply(x) as tf.Tensor));
    const g = grad(tf.randomUniform([1, 2, 2, 8]));
    expect(g.shape).toEqual([1, 2, 2, 8]);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
  });

  test('rejects a negative depthRadius', () => {
    expect(() => new LocalResponseNormalization({ depthRadius: -1 })).toThrow(/depthRadius -1 is invalid/);
  });
});

describe('ChannelSlice', () => {
  test('keeps the requested channels', () => {
    const x = tf.tensor4d([0, 1, 2, 3, 10, 11, 12, 13], [1, 1, 2, 4]);
    const y = new ChannelSlice({ start: 1, size: 2 }).apply(x) as tf.Tensor;
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(y.dataSync())).toEqual([1, 2, 11, 12]);
  });

  test('rejects a slice past the last channel', () => {
    const input = tf.input({ shape: [4, 4, 3] });
    expect(() => new ChannelSlice({ name: 'group', start: 2, size: 2 }).apply(input)).toThrow(
      /channels \[2, 4\) exceed the input's 3 channels/,
    );
  });
});

describe('serialization', () => {
  test('restores the custom layers with their settings', async () => {
    const input = tf.input({ shape: [6, 6, 4] });
    let x = new LocalResponseNormalization({ depthRadius: 1, alpha: 0.3 }).apply(input) as tf.SymbolicTensor;
    x = new ChannelSlice({ start: 1, size: 2 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
    x = new L2Normalization({ epsilon: 1e-6 }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: x });

    const loaded = await roundTrip(model);
    const kinds = loaded.layers.map((layer) => layer.getClassName());
    expect(kinds).toEqual(['InputLayer', 'LocalResponseNormalization', 'ChannelSlice', 'Flatten', 'L2Normalization']);
    expect(loaded.layers[1].getConfig()).toMatchObject({ depthRadius: 1, alpha: 0.3 });
    expect(loaded.layers[2].getConfig()).toMatchObject({ start: 1, size: 2 });
    expect(loaded.layers[4].getConfig()).toMatchObject({ epsilon: 1e-6, axis: -1 });

    const sample = tf.randomUniform([2, 6, 6, 4]);
    const expected = model.predict(sample) as tf.Tensor;
    const actual = loaded.predict(sample) as tf.Tensor;
    expect(actual.arraySync()).toEqual(expected.arraySync());
  });

  test('restores mildnet_mobilenet with its weights', async () => {
    const model = getModel('mildnet_mobilenet').build({ inputSize: 32, width: 0.25, headUnits: 32 });
    const loaded = await roundTrip(model);
    const sample = tf.randomUniform([2, 32, 32, 3], 0, 1);
    const expected = model.predict(sample) as tf.Tensor;
    const actual = loaded.predict(sample) as tf.Tensor;

    expect(loaded.layers.map((layer) => layer.name)).toEqual(model.layers.map((layer) => layer.name));
    expect(actual.arraySync()).toEqual(expected.arraySync());
    model.dispose();
    loaded.dispose();
  });
});
