import * as tf from '@tensorflow/tfjs';

import { countParameters, getModel, type ModelBuildArgs } from '../../src/models';
import keras from './keras-param-counts.json';

/**
 * Compares every model's parameter counts at the original input size with
 * the same architecture built in Keras by scripts/keras_param_counts.py
 * (its output is keras-param-counts.json). Each model is built, counted and
 * disposed in turn, because together they hold about 620 million float32
 * weights (2.5 GB).
 */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface KerasRow extends ModelBuildArgs {
  id: string;
  total: number;
  trainable: number;
  outputShape: number[];
}

const rows: KerasRow[] = keras.models;

function label({ id, total: _total, trainable: _trainable, outputShape: _shape, ...args }: KerasRow): string {
  return `${id} ${JSON.stringify(args)}`;
}

describe.each(rows.map((row) => [label(row), row] as const))('%s', (_label, row) => {
  test('matches the Keras parameter counts', () => {
    const { id, total, trainable, outputShape, ...args } = row;
    const model = getModel(id).build(args);
    const counts = countParameters(model);
    const shape = model.outputs[0].shape;
    model.dispose();

    expect(counts.total).toBe(total);
    expect(counts.trainable).toBe(trainable);
    expect(shape).toEqual([null, ...outputShape]);
    expect(getModel(id).embeddingSize(args)).toBe(outputShape[0]);
  });
});
