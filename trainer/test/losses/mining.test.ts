import * as tf from '@tensorflow/tfjs';

import type { LossId, TripletMiningStrategy } from '../../src/config/job-config';
import { batchClasses, getLoss, mineTriplets, pairClasses } from '../../src/losses';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Three triplets of 2-D points, rows q0 p0 n0 q1 p1 n1 q2 p2 n2 = 0 … 8.
// Distances from q0 = (0, 0): p0 2, n0 5, q1 3, p1 4, n1 1, q2 14.1, p2 14.9, n2 3.5.
// Distances from q1 = (0, 3): q0 3, p0 3.61, n0 5.83, p1 1, n1 3.16, q2 12.2, p2 12.8, n2 4.61.
// Distances from q2 = (10, 10): q0 14.1, p0 12.8, n0 11.18, q1 12.2, p1 11.66, n1 13.45, p2 1, n2 16.8.
const POINTS = [
  [0, 0], [2, 0], [5, 0],
  [0, 3], [0, 4], [1, 0],
  [10, 10], [10, 11], [-3.5, 0],
];

// Folder classes: triplets 0 and 1 have queries and positives of class 0 and
// negatives of class 1; triplet 2 has query and positive of class 1 and a
// negative of class 0.
const FOLDERS = Int32Array.from([0, 0, 1, 0, 0, 1, 1, 1, 0]);

/** Returns the rows of `points` that a mined tensor contains, matching each of its float32 rows exactly. */
function rowsOf(mined: tf.Tensor2D, points: number[][]): number[] {
  const matches = (point: number[], row: number[]): boolean => point.every((value, k) => Math.fround(value) === row[k]);
  return (mined.arraySync() as number[][]).map((row) => points.findIndex((point) => matches(point, row)));
}

function mineRows(points: number[][], classes: Int32Array, strategy: TripletMiningStrategy): number[] {
  return tf.tidy(() => rowsOf(mineTriplets(tf.tensor2d(points), classes, strategy), points));
}

describe('pairClasses', () => {
  test('pairs query with positive, negatives alone', () => {
    expect(Array.from(pairClasses(3))).toEqual([0, 0, 3, 1, 1, 4, 2, 2, 5]);
  });

  test('rejects a triplet count below 1', () => {
    expect(() => pairClasses(0)).toThrow(/integer >= 1, got 0/);
  });
});

describe('batchClasses', () => {
  test('pairs ignores the batch classes', () => {
    expect(Array.from(batchClasses('pairs', { triplets: 2, classes: Int32Array.from([7, 7, 7, 7, 7, 7]) }))).toEqual([
      0, 0, 2, 1, 1, 3,
    ]);
  });

  test('folders returns the batch classes', () => {
    expect(batchClasses('folders', { triplets: 3, classes: FOLDERS })).toBe(FOLDERS);
  });

  test('folders without classes names the fix', () => {
    expect(() => batchClasses('folders', { triplets: 3 })).toThrow(/labels is folders, but the batch carries no image classes/);
  });

  test('folders with a wrong class count', () => {
    expect(() => batchClasses('folders', { triplets: 2, classes: FOLDERS })).toThrow(/6 images but 9 class ids/);
  });
});

describe('mineTriplets', () => {
  test('none returns the embeddings unchanged', () => {
    const embeddings = tf.tensor2d(POINTS);
    expect(mineTriplets(embeddings, pairClasses(3), 'none')).toBe(embeddings);
    embeddings.dispose();
  });

  test('batch_hard with pairs', () => {
    // q0: the CSV positive p0, the closest negative n1 (1). q1: p1, q0 (3). q2: p2, n0 (11.18).
    expect(mineRows(POINTS, pairClasses(3), 'batch_hard')).toEqual([0, 1, 5, 3, 4, 0, 6, 7, 2]);
  });

  test('semi_hard with pairs', () => {
    // q0: D(q0,p0) = 2, so n1 (1) is too close; the closest farther negative is q1 (3).
    // q1: D(q1,p1) = 1, closest farther negative q0 (3). q2: D(q2,p2) = 1, n0 (11.18).
    expect(mineRows(POINTS, pairClasses(3), 'semi_hard')).toEqual([0, 1, 3, 3, 4, 0, 6, 7, 2]);
  });

  test('batch_hard with folders', () => {
    // q0: positives p0 2, q1 3, p1 4, n2 3.5 → p1; negatives n0 5, n1 1, q2, p2 → n1.
    // q1: positives q0 3, p0 3.61, p1 1, n2 4.61 → n2; negatives n0 5.83, n1 3.16, q2, p2 → n1.
    // q2: positives n0 11.18, n1 13.45, p2 1 → n1; negatives of class 0, closest p1 (11.66).
    expect(mineRows(POINTS, FOLDERS, 'batch_hard')).toEqual([0, 4, 5, 3, 8, 5, 6, 5, 4]);
  });

  test('semi_hard with folders', () => {
    // q0: D(q0,p0) = 2; q1 (3) is now of q0's class, so the closest farther negative is n0 (5).
    // q1: D(q1,p1) = 1 → n1 (3.16). q2: D(q2,p2) = 1 → p1 (11.66).
    expect(mineRows(POINTS, FOLDERS, 'semi_hard')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 4]);
  });

  test('semi_hard falls back to the farthest negative', () => {
    // p2 = (30, −20) is 36.1 from q2, farther than every negative of q2, so
    // q2 gets its farthest negative n2 (16.8) while batch_hard takes n0 (11.18).
    const points = POINTS.map((point, row) => (row === 7 ? [30, -20] : point));
    expect(mineRows(points, pairClasses(3), 'semi_hard')).toEqual([0, 1, 3, 3, 4, 0, 6, 7, 8]);
    expect(mineRows(points, pairClasses(3), 'batch_hard')).toEqual([0, 1, 5, 3, 4, 0, 6, 7, 2]);
  });

  test('reference compat measures clipped embeddings', () => {
    // Query (0.5, 0.5). Unclipped, q1 = (0.9, 0.947) at 0.6 is closer than n0 = (0.5, 1.2)
    // at 0.7. Clipped to [1e-7, 1 − 1e-7], n0 becomes (0.5, 1) at 0.5 and is the closer one.
    const points = [[0.5, 0.5], [0.5, 0.6], [0.5, 1.2], [0.9, 0.947], [0, 0], [1, 0]];
    const rows = (compat: 'fixed' | 'reference'): number[] =>
      tf.tidy(() => rowsOf(mineTriplets(tf.tensor2d(points), pairClasses(2), 'batch_hard', compat), points));
    expect(rows('fixed').slice(0, 3)).toEqual([0, 1, 3]);
    expect(rows('reference').slice(0, 3)).toEqual([0, 1, 2]);
  });

  test('gradient reaches only the selected rows', () => {
    const embeddings = tf.tensor2d(POINTS);
    const hinge = getLoss('hinge_loss');
    const selected = [0, 4, 5, 3, 8, 5, 6, 5, 4];
    const grads = tf.grad((e) => hinge(mineTriplets(e as tf.Tensor2D, FOLDERS, 'batch_hard')))(embeddings);
    const expected = tf.grad((e) => hinge(tf.gather(e as tf.Tensor2D, selected)))(embeddings);
    const rows = grads.arraySync() as number[][];

    for (const row of [1, 2, 7]) {
      expect(rows[row]).toEqual([0, 0]);
    }
    for (const row of [0, 3, 4, 5, 6, 8]) {
      expect(Math.hypot(...rows[row])).toBeGreaterThan(0);
    }
    // The distances that chose the rows add nothing to the gradient.
    expect(rows).toEqual(expected.arraySync());
    tf.dispose([embeddings, grads, expected]);
  });

  test.each<[LossId, TripletMiningStrategy]>([
    ['hinge_loss', 'batch_hard'],
    ['hinge_new_loss', 'semi_hard'],
    ['contrastive_loss', 'batch_hard'],
    ['lossless_loss', 'semi_hard'],
    ['angular_loss_1', 'batch_hard'],
    ['angular_loss_2', 'semi_hard'],
  ])('%s trains on %s triplets', (lossId, strategy) => {
    const normalised = tf.tidy(() => {
      const shifted = tf.add(tf.tensor2d(POINTS), 0.5);
      return tf.div(shifted, tf.norm(shifted, 2, 1, true)) as tf.Tensor2D;
    });
    const loss = getLoss(lossId);
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor2D) => loss(mineTriplets(e, FOLDERS, strategy)))(normalised);

    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(Array.from(grad.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([normalised, value, grad]);
  });

  test('leaves no tensors behind', () => {
    const embeddings = tf.tensor2d(POINTS);
    const before = tf.memory().numTensors;
    for (const strategy of ['batch_hard', 'semi_hard'] as const) {
      mineTriplets(embeddings, FOLDERS, strategy).dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    embeddings.dispose();
  });

  test('folders batch without a negative', () => {
    const embeddings = tf.tensor2d(POINTS);
    // Only p1 is outside class 2. It is a negative for q0, but for q1 it is the CSV positive.
    const oneClass = Int32Array.from([2, 2, 2, 2, 5, 2, 2, 2, 2]);
    const mine = (): tf.Tensor2D => mineTriplets(embeddings, oneClass, 'batch_hard');
    expect(mine).toThrow(/no negative for the query of triplet 1 in a batch of 3 triplets/);
    expect(mine).toThrow(/every image of the batch is in its class \(id 2\)/);
    expect(mine).toThrow(/raise batch_size .* or set triplet_mining.labels to pairs/);
    embeddings.dispose();
  });

  test('rejects a class count that does not match', () => {
    const embeddings = tf.tensor2d(POINTS);
    expect(() => mineTriplets(embeddings, pairClasses(2), 'semi_hard')).toThrow(/6 class ids for 9 embeddings/);
    embeddings.dispose();
  });

  test('rejects a row count not divisible by 3', () => {
    const embeddings = tf.zeros([4, 2]) as tf.Tensor2D;
    expect(() => mineTriplets(embeddings, new Int32Array(4), 'batch_hard')).toThrow(/multiple of 3 embeddings.*got 4/);
    embeddings.dispose();
  });

  test('rejects an unknown strategy', () => {
    const embeddings = tf.tensor2d(POINTS);
    const mine = (): tf.Tensor2D => mineTriplets(embeddings, FOLDERS, 'hardest' as TripletMiningStrategy);
    expect(mine).toThrow(/Unknown triplet_mining.strategy "hardest"; expected one of: none, batch_hard, semi_hard/);
    embeddings.dispose();
  });
});
