import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

import sharp from 'sharp';

import {
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  type FashionMnistProgress,
  type PrepareFashionMnistArgs,
  parseIdx,
  prepareFashionMnist,
  readIdxFile,
  readTriplets,
} from '../../src/data';
import { makeTempDir, removeDir } from './fixtures';

const TRAIN_IMAGES = 60;
const TEST_IMAGES = 20;

let dir: string;
let source: string;

function idxBytes(shape: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((size, i) => header.writeUInt32BE(size, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

/** Pixel values of synthetic image i, different for every image. */
function syntheticImage(i: number, salt: number): Uint8Array {
  return Uint8Array.from({ length: 28 * 28 }, (_, p) => (i * 13 + p * 7 + salt) % 256);
}

async function writeSyntheticSource(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  const build = (count: number, salt: number) => {
    const images = new Uint8Array(count * 28 * 28);
    for (let i = 0; i < count; i++) {
      images.set(syntheticImage(i, salt), i * 28 * 28);
    }
    const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
    return { images: idxBytes([count, 28, 28], images), labels: idxBytes([count], labels) };
  };
  const train = build(TRAIN_IMAGES, 0);
  const test = build(TEST_IMAGES, 100);
  // The training files are gzipped as Debian ships them; the test files are not.
  await writeFile(path.join(folder, 'train-images-idx3-ubyte.gz'), gzipSync(train.images));
  await writeFile(path.join(folder, 'train-labels-idx1-ubyte.gz'), gzipSync(train.labels));
  await writeFile(path.join(folder, 't10k-images-idx3-ubyte'), test.images);
  await writeFile(path.join(folder, 't10k-labels-idx1-ubyte'), test.labels);
}

function smallArgs(out: string, overrides: Partial<PrepareFashionMnistArgs> = {}): PrepareFashionMnistArgs {
  return {
    from: source,
    out: path.join(dir, out),
    seed: 7,
    trainTriplets: 30,
    valTriplets: 10,
    testTriplets: 8,
    valImages: 20,
    ...overrides,
  };
}

async function csvRows(file: string): Promise<string[][]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split(','));
}

async function countPngs(folder: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.png')) {
      count++;
    }
  }
  return count;
}

const folderOf = (imagePath: string) => imagePath.split('/')[1];

beforeAll(async () => {
  dir = await makeTempDir('fashion-mnist');
  source = path.join(dir, 'source');
  await writeSyntheticSource(source);
});

afterAll(async () => {
  // The full Debian conversion leaves 70,000 files to delete.
  await removeDir(dir);
}, 120000);

describe('prepareFashionMnist from a folder', () => {
  let out: string;
  let progress: FashionMnistProgress[];

  beforeAll(async () => {
    progress = [];
    const args = smallArgs('first', { onProgress: (p) => progress.push(p) });
    out = args.out;
    const result = await prepareFashionMnist(args);
    expect(result.reused).toBe(false);
  });

  test('image counts per split', async () => {
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));

    expect(manifest.splits.train.images).toBe(40);
    expect(manifest.splits.val.images).toBe(20);
    expect(manifest.splits.test.images).toBe(20);
    expect(await countPngs(path.join(out, 'images', 'train'))).toBe(40);
    expect(await countPngs(path.join(out, 'images', 'val'))).toBe(20);
    expect(await countPngs(path.join(out, 'images', 'test'))).toBe(20);
    expect(manifest.seed).toBe(7);
    expect(existsSync(path.join(out, '.incomplete'))).toBe(false);
  });

  test('triplet counts per split', async () => {
    expect(await csvRows(path.join(out, 'train.csv'))).toHaveLength(30);
    expect(await csvRows(path.join(out, 'val.csv'))).toHaveLength(10);
    expect(await csvRows(path.join(out, 'test.csv'))).toHaveLength(8);
  });

  test('classes.json lists ten classes', async () => {
    const classes = JSON.parse(await readFile(path.join(out, 'classes.json'), 'utf8'));

    expect(classes.map((c: { name: string }) => c.name)).toEqual(FASHION_MNIST_CLASSES.map((c) => c.name));
    const total = classes.reduce(
      (sum: number, c: { images: Record<string, number> }) => sum + c.images.train + c.images.val + c.images.test,
      0,
    );
    expect(total).toBe(TRAIN_IMAGES + TEST_IMAGES);
    expect(classes[3].images.test).toBe(2);
  });

  test('positive shares the class, negative does not', async () => {
    for (const split of ['train', 'val', 'test']) {
      for (const [query, positive, negative] of await csvRows(path.join(out, `${split}.csv`))) {
        expect(folderOf(positive)).toBe(folderOf(query));
        expect(folderOf(negative)).not.toBe(folderOf(query));
        expect(positive).not.toBe(query);
        for (const image of [query, positive, negative]) {
          expect(image.startsWith(`${split}/`)).toBe(true);
        }
      }
    }
  });

  test('triplets resolve to existing images', async () => {
    const triplets = await readTriplets(path.join(out, 'val.csv'), path.join(out, 'images'));

    for (const triplet of triplets) {
      expect(existsSync(triplet.query)).toBe(true);
      expect(existsSync(triplet.positive)).toBe(true);
      expect(existsSync(triplet.negative)).toBe(true);
    }
  });

  test('val images are held out of train', async () => {
    const indexOf = (file: string) => path.basename(file, '.png');
    const valIndices = new Set<string>();
    for (const entry of await readdir(path.join(out, 'images', 'val'), { recursive: true })) {
      if (entry.endsWith('.png')) {
        valIndices.add(indexOf(entry));
      }
    }

    expect(valIndices.size).toBe(20);
    for (const row of await csvRows(path.join(out, 'train.csv'))) {
      for (const image of row) {
        expect(valIndices.has(indexOf(image))).toBe(false);
      }
    }
  });

  test('PNG pixels equal the IDX pixels', async () => {
    const [query] = (await csvRows(path.join(out, 'train.csv')))[0];
    const index = Number(path.basename(query, '.png'));

    const { data, info } = await sharp(path.join(out, 'images', query)).raw().toBuffer({ resolveWithObject: true });

    expect(info.width).toBe(28);
    expect(info.height).toBe(28);
    const gray = Uint8Array.from({ length: 28 * 28 }, (_, p) => data[p * info.channels]);
    expect(gray).toEqual(syntheticImage(index, 0));
    expect(Number(FASHION_MNIST_CLASSES.findIndex((c) => c.folder === folderOf(query)))).toBe(index % 10);
  });

  test('progress ends with done', () => {
    const images = progress.filter((p) => p.phase === 'images');

    expect(images[images.length - 1]).toEqual({ phase: 'images', done: 80, total: 80 });
    expect(progress[progress.length - 1].phase).toBe('done');
  });

  test('same seed gives identical CSV bytes', async () => {
    const again = smallArgs('second');
    await prepareFashionMnist(again);

    for (const file of ['train.csv', 'val.csv', 'test.csv', 'classes.json']) {
      expect(await readFile(path.join(again.out, file))).toEqual(await readFile(path.join(out, file)));
    }
  });

  test('other seed gives other triplets', async () => {
    const other = smallArgs('other-seed', { seed: 8 });
    await prepareFashionMnist(other);

    expect(await readFile(path.join(other.out, 'train.csv'), 'utf8')).not.toBe(
      await readFile(path.join(out, 'train.csv'), 'utf8'),
    );
  });

  test('rerun on complete output is reused', async () => {
    const before = await stat(path.join(out, 'manifest.json'));

    const result = await prepareFashionMnist(smallArgs('first'));

    expect(result.reused).toBe(true);
    expect(result.manifest.splits.train.triplets).toBe(30);
    expect((await stat(path.join(out, 'manifest.json'))).mtimeMs).toBe(before.mtimeMs);
  });

  test('rerun with other arguments is rejected', async () => {
    await expect(prepareFashionMnist(smallArgs('first', { trainTriplets: 31 }))).rejects.toThrow(
      /already contains a Fashion-MNIST conversion made from other arguments/,
    );
  });
});

describe('prepareFashionMnist output folder', () => {
  test('unrelated files are left alone', async () => {
    const out = path.join(dir, 'unrelated');
    await mkdir(out);
    await writeFile(path.join(out, 'notes.txt'), 'keep me');

    await expect(prepareFashionMnist(smallArgs('unrelated'))).rejects.toThrow(/is not empty/);
    expect(await readFile(path.join(out, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  test('interrupted run is redone', async () => {
    const out = path.join(dir, 'interrupted');
    await mkdir(path.join(out, 'images', 'train'), { recursive: true });
    await writeFile(path.join(out, '.incomplete'), '');
    await writeFile(path.join(out, 'images', 'train', 'stale.png'), 'partial');

    const result = await prepareFashionMnist(smallArgs('interrupted'));

    expect(result.reused).toBe(false);
    expect(existsSync(path.join(out, 'images', 'train', 'stale.png'))).toBe(false);
    expect(existsSync(path.join(out, '.incomplete'))).toBe(false);
    expect(await countPngs(path.join(out, 'images'))).toBe(TRAIN_IMAGES + TEST_IMAGES);
  });

  test('missing source files name the installer', async () => {
    const empty = path.join(dir, 'empty-source');
    await mkdir(empty);

    await expect(prepareFashionMnist(smallArgs('no-source', { from: empty }))).rejects.toThrow(
      /train-images-idx3-ubyte\.gz \(or train-images-idx3-ubyte\) not found.*install-fashion-mnist\.sh/,
    );
  });

  test('too many held-out images are rejected', async () => {
    await expect(prepareFashionMnist(smallArgs('too-many-val', { valImages: 60 }))).rejects.toThrow(
      /valImages must be below the 60 training images/,
    );
  });
});

describe('parseIdx', () => {
  test('reads shape and data', () => {
    const idx = parseIdx(idxBytes([2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6])), 'x.idx');

    expect(idx.shape).toEqual([2, 3]);
    expect(Array.from(idx.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('wrong magic is rejected', () => {
    expect(() => parseIdx(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]), 'x.idx')).toThrow(/not an IDX file/);
  });

  test('non-byte type is rejected', () => {
    const floats = idxBytes([1], Uint8Array.from([0, 0, 0, 0]));
    floats[2] = 0x0d;

    expect(() => parseIdx(floats, 'x.idx')).toThrow(/type 0xd/);
  });

  test('truncated data is rejected', () => {
    expect(() => parseIdx(idxBytes([4], Uint8Array.from([1, 2])), 'x.idx')).toThrow(/2 data bytes, expected 4/);
  });
});

const debianInstalled = existsSync(path.join(DEBIAN_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

// Needs Debian's dataset-fashion-mnist package (scripts/install-fashion-mnist.sh).
(debianInstalled ? describe : describe.skip)('Debian Fashion-MNIST files', () => {
  test('IDX files have the published sizes', async () => {
    const trainLabels = await readIdxFile(path.join(DEBIAN_FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'));
    const testImages = await readIdxFile(path.join(DEBIAN_FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'));

    expect(trainLabels.shape).toEqual([60000]);
    expect(testImages.shape).toEqual([10000, 28, 28]);
    const perClass = new Array<number>(10).fill(0);
    for (const label of trainLabels.data) {
      perClass[label]++;
    }
    expect(perClass).toEqual(new Array<number>(10).fill(6000));
  });

  test('default conversion writes every image', async () => {
    const out = path.join(dir, 'debian');

    const result = await prepareFashionMnist({ out, seed: 1 });

    expect(result.manifest.splits.train).toEqual({ csv: 'train.csv', triplets: 20000, images: 50000 });
    expect(result.manifest.splits.val).toEqual({ csv: 'val.csv', triplets: 2000, images: 10000 });
    expect(result.manifest.splits.test).toEqual({ csv: 'test.csv', triplets: 2000, images: 10000 });
    expect(await countPngs(path.join(out, 'images', 'test'))).toBe(10000);
    const rows = await csvRows(path.join(out, 'test.csv'));
    expect(rows).toHaveLength(2000);
    expect(rows.every(([q, p, n]) => folderOf(q) === folderOf(p) && folderOf(q) !== folderOf(n))).toBe(true);
  }, 180000);
});
