import * as tf from '@tensorflow/tfjs';

import type { LossId } from '../../src/config/job-config';
import { getLoss, splitTriplets, tripletAccuracy } from '../../src/losses';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Embeddings in triplet order q,p,n from a list of triplets of 2-D points. */
function triplets(...rows: number[][][]): tf.Tensor2D {
  return tf.tensor2d(rows.flat());
}

// Hand-worked triplets on the unit circle:
// t1: q=(1,0) p=(0,1) n=(-1,0): D(q,p)=√2, D(q,n)=2, D(p,n)=√2.
// t2: q=(1,0) p=(1,0) n=(0,1):  D(q,p)=0,  D(q,n)=√2, D(p,n)=√2.
// t3: q=(1,0) p=(-1,0) n=(0,1): D(q,p)=2,  D(q,n)=√2 (the negative is closer).
const t1 = [[1, 0], [0, 1], [-1, 0]];
const t2 = [[1, 0], [1, 0], [0, 1]];
const t3 = [[1, 0], [-1, 0], [0, 1]];
const SQRT2 = Math.SQRT2;

function lossValue(id: LossId, embeddings: tf.Tensor2D, args = {}): number {
  return getLoss(id, args)(embeddings).dataSync()[0];
}

describe('splitTriplets', () => {
  test('reads rows in q,p,n order', () => {
    const { query, positive, negative } = splitTriplets(triplets(t1, t2));
    expect(query.arraySync()).toEqual([[1, 0], [1, 0]]);
    expect(positive.arraySync()).toEqual([[0, 1], [1, 0]]);
    expect(negative.arraySync()).toEqual([[-1, 0], [0, 1]]);
  });

  test('rejects a row count not divisible by 3', () => {
    expect(() => splitTriplets(tf.zeros([4, 2]) as tf.Tensor2D)).toThrow(/multiple of 3 embeddings.*got 4/);
  });
});

describe('hinge_loss', () => {
  test('hinges each triplet', () => {
    // t1: 1 + √2 − 2 = 0.4142; t2: 1 + 0 − √2 < 0 → 0; mean 0.2071.
    expect(lossValue('hinge_loss', triplets(t1, t2))).toBeCloseTo((1 + SQRT2 - 2) / 2, 5);
  });

  test('uses the margin', () => {
    // t1: 2.5 + √2 − 2; t2: 2.5 − √2; mean 1.5.
    expect(lossValue('hinge_loss', triplets(t1, t2), { margin: 2.5 })).toBeCloseTo(1.5, 5);
  });

  test('reference mode clips and hinges the batch mean', () => {
    // Clipped: t1 q=(1,ε) p=(ε,1) n=(ε,ε): D(q,p)=√2, D(q,n)=1 → 1 + √2 − 1 = √2.
    // t2 q=p=(1,ε), n=(ε,1): D(q,n)=√2 → 1 − √2. Mean (√2 + 1 − √2)/2 = 0.5.
    expect(lossValue('hinge_loss', triplets(t1, t2), { compat: 'reference' })).toBeCloseTo(0.5, 5);
  });
});

describe('hinge_new_loss', () => {
  test('hinges each triplet', () => {
    // t1: 1 + 2√2 − 2 − √2 = √2 − 1; t2: 1 − 2√2 < 0 → 0.
    expect(lossValue('hinge_new_loss', triplets(t1, t2))).toBeCloseTo((SQRT2 - 1) / 2, 5);
  });

  test('reference mode divides the sum by B/2', () => {
    // Clipped t1: D(q,p)=√2, D(q,n)=1, D(p,n)=1 → 1 + 2√2 − 2 = 2√2 − 1; divided by 1/2.
    expect(lossValue('hinge_new_loss', triplets(t1), { compat: 'reference' })).toBeCloseTo(2 * (2 * SQRT2 - 1), 4);
  });
});

describe('contrastive_loss', () => {
  test('sums both pairs over 2B', () => {
    // t1: D(q,p)² = 2, max(1 − 2, 0)² = 0; t3: 4 + max(1 − √2, 0)² = 4; sum 6 over 4 pairs.
    expect(lossValue('contrastive_loss', triplets(t1, t3))).toBeCloseTo(1.5, 5);
  });

  test('penalises a close negative within the margin', () => {
    // t2 with margin 2: 0 + (2 − √2)² over 2 pairs.
    expect(lossValue('contrastive_loss', triplets(t2), { margin: 2 })).toBeCloseTo((2 - SQRT2) ** 2 / 2, 5);
  });

  test('reference mode clips first', () => {
    // Clipped t1: D(q,p)² = 2(1 − 2ε)², D(q,n) = 1 − 2ε, so the negative term is (2ε)² ≈ 0.
    expect(lossValue('contrastive_loss', triplets(t1), { compat: 'reference' })).toBeCloseTo(1, 5);
  });
});

describe('lossless_loss', () => {
  test('follows the formula with N = β = 4', () => {
    // t1: d+ = 2, d− = 4: −ln(1 − 2/4) − ln(1 − 0/4) = ln 2.
    // t2: d+ = 0, d− = 2: −ln(1) − ln(1 − 2/4) = ln 2.
    expect(lossValue('lossless_loss', triplets(t1, t2), { embeddingSize: 4 })).toBeCloseTo(Math.LN2, 5);
  });

  test('is not constant zero', () => {
    // The original always returned 0 because its errors were swallowed.
    expect(lossValue('lossless_loss', triplets(t3))).toBeGreaterThan(0.1);
  });
});

describe('angular_loss_1', () => {
  test('hinges the angular constraint', () => {
    // t1: ‖q − p‖² = 2, c = (½,½), ‖n − c‖² = 2.5: 2 − 4·2.5 < 0 → 0.
    // t4: n = (0.6, 0.6): ‖n − c‖² = 0.02: 2 − 0.08 = 1.92.
    const t4 = [[1, 0], [0, 1], [0.6, 0.6]];
    expect(lossValue('angular_loss_1', triplets(t1, t4))).toBeCloseTo(0.96, 5);
  });
});

describe('angular_loss_2', () => {
  test('adds the N-pair and angular terms', () => {
    // t1: qᵀn − qᵀp = −1; 4(q + p)ᵀn − 4qᵀp = −4. softplus(−1) + 2·softplus(−4).
    const expected = Math.log1p(Math.exp(-1)) + 2 * Math.log1p(Math.exp(-4));
    expect(lossValue('angular_loss_2', triplets(t1))).toBeCloseTo(expected, 5);
  });
});

describe('getLoss', () => {
  test('rejects reference mode for losses that never trained', () => {
    expect(() => getLoss('lossless_loss', { compat: 'reference' })).toThrow(/compat: reference is available for hinge_loss/);
  });

  test('leaves no tensors behind', () => {
    const embeddings = triplets(t1, t2, t3);
    const before = tf.memory().numTensors;
    for (const id of ['hinge_loss', 'hinge_new_loss', 'contrastive_loss', 'lossless_loss', 'angular_loss_1', 'angular_loss_2'] as LossId[]) {
      getLoss(id)(embeddings).dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('tripletAccuracy', () => {
  test('counts triplets whose negative is farther', () => {
    expect(tripletAccuracy(triplets(t1, t2, t3)).dataSync()[0]).toBeCloseTo(2 / 3, 6);
  });
});

describe('gradients', () => {
  const ids: LossId[] = ['hinge_loss', 'hinge_new_loss', 'contrastive_loss', 'lossless_loss', 'angular_loss_1', 'angular_loss_2'];
  const cases: Array<[LossId, 'fixed' | 'reference']> = [
    ...ids.map((id): [LossId, 'fixed'] => [id, 'fixed']),
    ['hinge_loss', 'reference'],
    ['hinge_new_loss', 'reference'],
    ['contrastive_loss', 'reference'],
  ];

  test.each(cases)('%s (%s) matches finite differences', (id, compat) => {
    // Random unit-norm embeddings for 4 triplets of size 8, in float64 on the host.
    const random = tf.randomUniform([12, 8], 0.05, 1, 'float32', 7);
    const points = tf.div(random, tf.norm(random, 'euclidean', 1, true)) as tf.Tensor2D;
    const loss = getLoss(id, { compat, margin: 1.5 });
    const analytic = tf.grad((e: tf.Tensor) => loss(e as tf.Tensor2D))(points).arraySync() as number[][];

    const base = points.arraySync() as number[][];
    const h = 1e-2;
    let checked = 0;
    for (let row = 0; row < base.length; row += 5) {
      for (let column = 0; column < base[0].length; column += 3) {
        const plus = base.map((r) => [...r]);
        const minus = base.map((r) => [...r]);
        plus[row][column] += h;
        minus[row][column] -= h;
        const numeric = (lossValue(id, tf.tensor2d(plus), { compat, margin: 1.5 }) -
          lossValue(id, tf.tensor2d(minus), { compat, margin: 1.5 })) / (2 * h);
        expect(analytic[row][column]).toBeCloseTo(numeric, 2);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);
  });
});
