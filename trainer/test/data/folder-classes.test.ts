import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

import {
  ImageDecoder,
  type TripletBatch,
  TripletBatcher,
  epochOrder,
  folderClasses,
  parseTriplets,
  readTriplets,
} from '../../src/data';
import { makeTempDir, removeDir, solidRgb, writeImage } from './fixtures';

const SIZE = 4;
const IMAGE_VALUES = SIZE * SIZE * 3;
const IMAGE_COUNT = 12;

describe('folderClasses', () => {
  const root = path.join(path.sep, 'data', 'images');
  const parse = (text: string) => parseTriplets(text, { file: 'train.csv', imageRoot: root });

  test('numbers folders in sorted order', () => {
    const triplets = parse('b/x.png,b/y.png,a/z.png\ntop.png,a/sub/w.png,b/y.png\n');
    const { folders, classes } = folderClasses(triplets, root);

    expect(folders).toEqual(['.', 'a', 'a/sub', 'b']);
    expect(Array.from(classes)).toEqual([3, 3, 1, 0, 2, 3]);
  });

  test('ids do not depend on triplet order', () => {
    const triplets = parse('b/1.png,b/2.png,c/3.png\nc/4.png,c/5.png,a/6.png\na/7.png,a/8.png,b/9.png\n');
    const forward = folderClasses(triplets, root);
    const backward = folderClasses([...triplets].reverse(), root);

    expect(backward.folders).toEqual(forward.folders);
    expect(Array.from(backward.classes)).toEqual([0, 0, 1, 2, 2, 0, 1, 1, 2]);
    expect(Array.from(forward.classes)).toEqual([1, 1, 2, 2, 2, 0, 0, 0, 1]);
  });

  test('no triplets give no classes', () => {
    expect(folderClasses([], root)).toEqual({ folders: [], classes: new Int32Array(0) });
  });
});

describe('TripletBatcher classes', () => {
  let dir: string;

  // Image k is a solid colour with red k * 20 in folder c<k mod 3>, so each
  // batch image names its source and its folder. Each triplet's query and
  // positive share a folder and its negative is in the next one.
  const folderOf = (k: number): string => `c${k % 3}`;
  const imageName = (k: number): string => `${folderOf(k)}/${k}.png`;

  beforeAll(async () => {
    dir = await makeTempDir('folder-classes');
    for (let folder = 0; folder < 3; folder++) {
      await mkdir(path.join(dir, `c${folder}`));
    }
    for (let k = 0; k < IMAGE_COUNT; k++) {
      await writeImage(path.join(dir, imageName(k)), solidRgb(SIZE, SIZE, [k * 20, 0, 0]), SIZE, SIZE, 3);
    }
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  function imageIds(batch: TripletBatch): number[] {
    return Array.from({ length: 3 * batch.triplets }, (_, i) => Math.round((batch.images[i * IMAGE_VALUES] * 255) / 20));
  }

  test('classes follow shuffled and skipped triplets', async () => {
    const lines = Array.from({ length: IMAGE_COUNT - 3 }, (_, k) => [imageName(k), imageName(k + 3), imageName(k + 1)].join(','));
    // A triplet whose positive is missing, in the folder of a class that also has images.
    lines.push(`c0/0.png,c0/missing.png,c1/1.png`);
    const csv = path.join(dir, 'train.csv');
    await writeFile(csv, `${lines.join('\n')}\n`);
    const triplets = await readTriplets(csv, dir);
    const { folders, classes } = folderClasses(triplets, dir);
    expect(folders).toEqual(['c0', 'c1', 'c2']);

    const batcher = new TripletBatcher({
      triplets,
      classes,
      batchSize: 5,
      images: new ImageDecoder({ size: SIZE }),
      seed: 5,
      augment: false,
      skipBadSamples: true,
    });
    const order = epochOrder(triplets.length, 5, 0);
    const badStep = Math.floor(order.indexOf(triplets.length - 1) / 5);
    let batches = 0;
    for await (const batch of batcher.epoch(0)) {
      batches++;
      expect(batch.classes).toHaveLength(3 * batch.triplets);
      expect(batch.triplets).toBe(batch.step === badStep ? 4 : 5);
      const expected = imageIds(batch).map((k) => folders.indexOf(folderOf(k)));
      expect(Array.from(batch.classes as Int32Array)).toEqual(expected);
    }
    expect(batches).toBe(2);
    expect(batcher.skippedTriplets).toBe(1);
  });

  test('batches carry no classes unless given', async () => {
    const csv = path.join(dir, 'plain.csv');
    await writeFile(csv, `${imageName(0)},${imageName(3)},${imageName(1)}\n`);
    const batcher = new TripletBatcher({
      triplets: await readTriplets(csv, dir),
      batchSize: 1,
      images: new ImageDecoder({ size: SIZE }),
      seed: 5,
      augment: false,
    });
    for await (const batch of batcher.epoch(0)) {
      expect(batch.classes).toBeUndefined();
    }
  });

  test('rejects a class count that does not match', async () => {
    const csv = path.join(dir, 'short.csv');
    await writeFile(csv, `${imageName(0)},${imageName(3)},${imageName(1)}\n`);
    const create = async () =>
      new TripletBatcher({
        triplets: await readTriplets(csv, dir),
        classes: new Int32Array(2),
        batchSize: 1,
        images: new ImageDecoder({ size: SIZE }),
        seed: 5,
        augment: false,
      });
    await expect(create()).rejects.toThrow(/classes has 2 class ids for 1 triplets; expected 3 per triplet/);
  });
});
