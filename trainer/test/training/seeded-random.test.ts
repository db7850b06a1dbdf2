import * as tf from '@tensorflow/tfjs';

import { getModel } from '../../src/models';
import { buildSeededModel, withSeededRandom, withStepRandom } from '../../src/training/seeded-random';
import { useWasm } from './support';

function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((weight) => weight.dataSync() as Float32Array);
}

function sameValues(a: Float32Array[], b: Float32Array[]): boolean {
  return a.length === b.length && a.every((values, i) => Buffer.from(values.buffer).equals(Buffer.from(b[i].buffer)));
}

describe('seeded randomness', () => {
  beforeAll(useWasm);

  test('initial weights follow the seed', () => {
    const spec = getModel('mildnet_mobilenet');
    const args = { inputSize: 32, width: 0.25, headUnits: 16 };
    const first = buildSeededModel(spec, args, 7);
    const second = buildSeededModel(spec, args, 7);
    const other = buildSeededModel(spec, args, 8);
    expect(sameValues(weightsOf(first), weightsOf(second))).toBe(true);
    expect(sameValues(weightsOf(first), weightsOf(other))).toBe(false);
    tf.dispose([first, second, other].flatMap((model) => model.getWeights()));
  });

  test('dropout masks depend on the seed and the step only', () => {
    const ones = tf.ones([1, 256]);
    const mask = (seed: number, step: number): Float32Array =>
      withStepRandom(seed, step, () => tf.tidy(() => tf.dropout(ones, 0.5).dataSync() as Float32Array));
    expect(mask(1, 3)).toEqual(mask(1, 3));
    expect(mask(1, 3)).not.toEqual(mask(1, 4));
    expect(mask(1, 3)).not.toEqual(mask(2, 3));
    ones.dispose();
  });

  test('restores Math.random afterwards, also when the block throws', () => {
    const original = Math.random;
    expect(() =>
      withSeededRandom([1], () => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(Math.random).toBe(original);
    withSeededRandom([1], () => Math.random());
    expect(Math.random).toBe(original);
  });

  test('rejects an asynchronous block', () => {
    expect(() => withSeededRandom([1], async () => 1)).toThrow('synchronous');
  });
});
