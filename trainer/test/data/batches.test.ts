import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

import {
  DataSampleError,
  ImageDecoder,
  type ImageSource,
  type SkippedTriplet,
  type Triplet,
  type TripletBatch,
  TripletBatcher,
  type TripletBatcherArgs,
  epochOrder,
  readTriplets,
  tripletBatches,
} from '../../src/data';
import { makeTempDir, removeDir, writeImage } from './fixtures';

const SIZE = 8;
const IMAGE_VALUES = SIZE * SIZE * 3;
const TRIPLET_COUNT = 7;

let dir: string;
let triplets: Triplet[];

/**
 * Image k has red k * 10 and blue 100 everywhere, so even an augmented batch
 * image identifies its source, and a green gradient that augmentation moves.
 */
function imageName(k: number): string {
  return `img/${k}.png`;
}

function imagePixels(k: number): Uint8Array {
  const pixels = new Uint8Array(IMAGE_VALUES);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      pixels.set([k * 10, (x * 31 + y * 7) % 256, 100], (y * SIZE + x) * 3);
    }
  }
  return pixels;
}

function imageIds(batch: TripletBatch): number[] {
  const ids: number[] = [];
  for (let i = 0; i < batch.triplets * 3; i++) {
    ids.push(Math.round((batch.images[i * IMAGE_VALUES] * 255) / 10));
  }
  return ids;
}

async function collect(batches: AsyncIterable<TripletBatch>): Promise<TripletBatch[]> {
  const all: TripletBatch[] = [];
  for await (const batch of batches) {
    all.push(batch);
  }
  return all;
}

function batcherArgs(overrides: Partial<TripletBatcherArgs> = {}): TripletBatcherArgs {
  return {
    triplets,
    batchSize: 3,
    images: new ImageDecoder({ size: SIZE }),
    seed: 17,
    shuffle: false,
    augment: false,
    ...overrides,
  };
}

/** An ImageSource that counts finished decodes and resolves waiters at a count. */
class CountingSource implements ImageSource {
  readonly size = SIZE;
  decoded = 0;
  private readonly inner = new ImageDecoder({ size: SIZE, cacheBytes: 0 });
  private waiters: { count: number; resolve: () => void }[] = [];

  async decode(imagePath: string): Promise<Uint8Array> {
    const pixels = await this.inner.decode(imagePath);
    this.decoded++;
    this.waiters = this.waiters.filter((waiter) => {
      if (this.decoded >= waiter.count) {
        waiter.resolve();
        return false;
      }
      return true;
    });
    return pixels;
  }

  reached(count: number): Promise<void> {
    if (this.decoded >= count) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

beforeAll(async () => {
  dir = await makeTempDir('batches');
  await mkdir(path.join(dir, 'img'));
  for (let k = 0; k < TRIPLET_COUNT * 3; k++) {
    await writeImage(path.join(dir, imageName(k)), imagePixels(k), SIZE, SIZE, 3);
  }
  await writeFile(path.join(dir, 'img', 'corrupt.png'), 'not a png');

  const lines = Array.from({ length: TRIPLET_COUNT }, (_, t) =>
    [imageName(3 * t), imageName(3 * t + 1), imageName(3 * t + 2)].join(','),
  );
  await writeFile(path.join(dir, 'train.csv'), `${lines.join('\n')}\n`);
  triplets = await readTriplets(path.join(dir, 'train.csv'), dir);
});

afterAll(async () => {
  await removeDir(dir);
});

describe('TripletBatcher order', () => {
  test('file order interleaves q, p, n', async () => {
    const batches = await collect(new TripletBatcher(batcherArgs()).epoch(0));

    expect(batches).toHaveLength(2);
    expect(imageIds(batches[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(imageIds(batches[1])).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
  });

  test('last partial batch is dropped', async () => {
    const batcher = new TripletBatcher(batcherArgs());
    const batches = await collect(batcher.epoch(0));

    expect(batcher.stepsPerEpoch).toBe(2);
    expect(batches.map((b) => b.step)).toEqual([0, 1]);
    expect(batches.map((b) => b.triplets)).toEqual([3, 3]);
    expect(batches[1].images).toHaveLength(9 * IMAGE_VALUES);
    expect(batches.flatMap(imageIds)).not.toContain(18);
  });

  test('pixels are scaled to the unit range', async () => {
    const [batch] = await collect(new TripletBatcher(batcherArgs()).epoch(0));

    // Pixel (x 1, y 2) of image 4 is [40, 45, 100] / 255.
    const offset = 4 * IMAGE_VALUES + (2 * SIZE + 1) * 3;
    expect(batch.images[offset]).toBeCloseTo(40 / 255, 6);
    expect(batch.images[offset + 1]).toBeCloseTo(45 / 255, 6);
    expect(batch.images[offset + 2]).toBeCloseTo(100 / 255, 6);
  });

  test('shuffle follows the epoch order', async () => {
    const batches = await collect(new TripletBatcher(batcherArgs({ shuffle: true })).epoch(2));
    const order = epochOrder(TRIPLET_COUNT, 17, 2);
    const expected = Array.from(order.subarray(0, 6)).flatMap((t) => [3 * t, 3 * t + 1, 3 * t + 2]);

    expect(batches.flatMap(imageIds)).toEqual(expected);
  });
});

describe('TripletBatcher augmentation', () => {
  test('resume at a step repeats the batch', async () => {
    const args = batcherArgs({ shuffle: true, augment: {} });
    const full = await collect(new TripletBatcher(args).epoch(1));
    const resumed = await collect(new TripletBatcher(args).epoch(1, 1));

    expect(resumed).toHaveLength(1);
    expect(resumed[0].step).toBe(1);
    expect(resumed[0].images).toEqual(full[1].images);
    expect(resumed[0].images).not.toEqual(full[0].images);
  });

  test('same seed repeats, other seed differs', async () => {
    const first = await collect(new TripletBatcher(batcherArgs({ augment: {} })).epoch(0));
    const second = await collect(new TripletBatcher(batcherArgs({ augment: {} })).epoch(0));
    const otherSeed = await collect(new TripletBatcher(batcherArgs({ augment: {}, seed: 18 })).epoch(0));

    const unaugmented = await collect(new TripletBatcher(batcherArgs()).epoch(0));

    expect(second[0].images).toEqual(first[0].images);
    expect(otherSeed[0].images).not.toEqual(first[0].images);
    expect(first[0].images).not.toEqual(unaugmented[0].images);
    expect(imageIds(first[0])).toEqual(imageIds(unaugmented[0]));
  });

  test('worker threads give the same batches', async () => {
    const args = batcherArgs({ shuffle: true, augment: { interpolation: 'bilinear' } });
    const onMain = await collect(new TripletBatcher(args).epoch(3));
    const inWorkers = await collect(tripletBatches({ ...args, augmentWorkers: 2, epoch: 3 }));

    expect(inWorkers).toHaveLength(onMain.length);
    expect(inWorkers[0].images).toEqual(onMain[0].images);
    expect(inWorkers[1].images).toEqual(onMain[1].images);
    expect(inWorkers[0].images).not.toEqual(inWorkers[1].images);
  }, 30000);
});

describe('TripletBatcher bad samples', () => {
  let badTriplets: Triplet[];
  let csv: string;

  beforeAll(async () => {
    csv = path.join(dir, 'bad.csv');
    await writeFile(
      csv,
      [
        `${imageName(0)},${imageName(1)},${imageName(2)}`,
        `${imageName(3)},img/missing.png,${imageName(5)}`,
        `${imageName(6)},${imageName(7)},${imageName(8)}`,
        `${imageName(9)},${imageName(10)},img/corrupt.png`,
        `img/missing.png,img/corrupt.png,${imageName(11)}`,
        `${imageName(12)},${imageName(13)},img/missing.png`,
      ].join('\n'),
    );
    badTriplets = await readTriplets(csv, dir);
  });

  test('missing image stops the epoch', async () => {
    const batcher = new TripletBatcher(batcherArgs({ triplets: badTriplets }));

    const error = await collect(batcher.epoch(0)).then(
      () => undefined,
      (reason: unknown) => reason,
    );

    expect(error).toBeInstanceOf(DataSampleError);
    const message = (error as DataSampleError).message;
    expect(message).toContain(path.join(dir, 'img', 'missing.png'));
    expect(message).toContain(`${csv}:2`);
    expect(message).toContain('positive');
    expect(message).toContain('skipBadSamples');
  });

  test('bad triplets are skipped and reported', async () => {
    const skipped: SkippedTriplet[] = [];
    const batcher = new TripletBatcher(
      batcherArgs({ triplets: badTriplets, skipBadSamples: true, onSkip: (s) => skipped.push(s) }),
    );

    const batches = await collect(batcher.epoch(0));

    expect(batches).toHaveLength(1);
    expect(batches[0].step).toBe(0);
    expect(batches[0].triplets).toBe(2);
    expect(batches[0].skipped).toBe(1);
    expect(imageIds(batches[0])).toEqual([0, 1, 2, 6, 7, 8]);
    // Prefetched batches decode concurrently, so the reports may arrive in any order.
    const reports = skipped.map((s) => [s.step, s.triplet.source.line, s.role, s.error.reason]);
    reports.sort((a, b) => (a[1] as number) - (b[1] as number));
    expect(reports).toEqual([
      [0, 2, 'positive', 'missing'],
      [1, 4, 'negative', 'corrupt'],
      [1, 5, 'query', 'missing'],
      [1, 6, 'negative', 'missing'],
    ]);
    expect(batcher.skippedTriplets).toBe(4);
  });
});

describe('TripletBatcher prefetch', () => {
  test('decoding continues while the consumer holds a batch', async () => {
    const source = new CountingSource();
    const batches = new TripletBatcher(batcherArgs({ images: source, batchSize: 2, prefetch: 2 })).epoch(0);

    const first = await batches.next();
    expect(first.done).toBe(false);
    // Batches 1 and 2 (6 images each) decode without another next() call.
    await source.reached(18);

    expect(source.decoded).toBe(18);
    const rest = await collect(batches);
    expect(rest.map((b) => b.step)).toEqual([1, 2]);
    expect(source.decoded).toBe(18);
  });

  test('prefetch 0 waits for the consumer', async () => {
    const source = new CountingSource();
    const batches = new TripletBatcher(batcherArgs({ images: source, batchSize: 2, prefetch: 0 })).epoch(0);

    await batches.next();
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(source.decoded).toBe(6);
    await batches.return(undefined);
  });
});

describe('TripletBatcher arguments', () => {
  test('too few triplets are rejected', () => {
    expect(() => new TripletBatcher(batcherArgs({ batchSize: 8 }))).toThrow(/fewer than batchSize 8/);
  });

  test('invalid counts name the field', () => {
    expect(() => new TripletBatcher(batcherArgs({ batchSize: 0 }))).toThrow(/batchSize/);
    expect(() => new TripletBatcher(batcherArgs({ prefetch: -1 }))).toThrow(/prefetch/);
    expect(() => new TripletBatcher(batcherArgs({ seed: -3 }))).toThrow(/seed/);
  });

  test('start step out of range is rejected', async () => {
    const batcher = new TripletBatcher(batcherArgs());

    await expect(batcher.epoch(0, 3).next()).rejects.toThrow(/startStep must be an integer in \[0, 2\]/);
  });
});
