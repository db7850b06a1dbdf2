/**
 * Converts Fashion-MNIST (Zalando, 70,000 28×28 grayscale product images in
 * 10 classes, MIT licence) into the original's data layout: an image folder
 * and `query,positive,negative` CSV files.
 *
 * Output under `out`:
 *   images/<split>/<class>/<index>.png   split: train, val, test; index: the
 *                                         image's position in its IDX file
 *   train.csv, val.csv, test.csv         paths relative to images/
 *   classes.json                         classes with image counts per split
 *   manifest.json                        written last; marks a complete output
 *
 * val contains a seeded selection of the training IDX file's images, which
 * train.csv never uses, and test uses the test IDX file. The same seed, counts
 * and source files give byte-identical CSV files.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

import { readIdxFile } from './idx';
import { encodePng } from './png';
import { Random, STREAM_DATASET, assertSeed } from './random';
import { type LabelledImage, formatTripletCsv, sampleTriplets } from './triplet-sampling';

/** Folder in which Debian's `dataset-fashion-mnist` package installs the four gzipped IDX files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = [
  { label: 0, name: 'T-shirt/top', folder: 't-shirt-top' },
  { label: 1, name: 'Trouser', folder: 'trouser' },
  { label: 2, name: 'Pullover', folder: 'pullover' },
  { label: 3, name: 'Dress', folder: 'dress' },
  { label: 4, name: 'Coat', folder: 'coat' },
  { label: 5, name: 'Sandal', folder: 'sandal' },
  { label: 6, name: 'Shirt', folder: 'shirt' },
  { label: 7, name: 'Sneaker', folder: 'sneaker' },
  { label: 8, name: 'Bag', folder: 'bag' },
  { label: 9, name: 'Ankle boot', folder: 'ankle-boot' },
] as const;

export const FASHION_MNIST_DEFAULTS = Object.freeze({
  trainTriplets: 20000,
  valTriplets: 2000,
  testTriplets: 2000,
  /** Training-file images held out for validation. */
  valImages: 10000,
});

const IMAGE_SIDE = 28;
const WRITE_CONCURRENCY = 16;
const PROGRESS_EVERY_IMAGES = 2000;
const MANIFEST_FORMAT = 'mildnet-triplet-dataset/v1';
/** File that marks an output folder as being written; removed after the manifest. */
const INCOMPLETE_MARKER = '.incomplete';

export type FashionMnistSplit = 'train' | 'val' | 'test';
export const FASHION_MNIST_SPLITS: readonly FashionMnistSplit[] = ['train', 'val', 'test'];

export interface FashionMnistProgress {
  phase: 'check' | 'read' | 'images' | 'triplets' | 'done';
  /** Units finished in this phase (images for 'images', CSV files for 'triplets'). */
  done: number;
  total: number;
}

export interface PrepareFashionMnistArgs {
  /** Folder with the four IDX files, gzipped or not. Default DEBIAN_FASHION_MNIST_DIR. */
  from?: string;
  /** Output folder; created if missing. */
  out: string;
  /** Seed of the validation hold-out and the triplet draws. */
  seed: number;
  /** Default FASHION_MNIST_DEFAULTS.trainTriplets. */
  trainTriplets?: number;
  /** Default FASHION_MNIST_DEFAULTS.valTriplets. */
  valTriplets?: number;
  /** Default FASHION_MNIST_DEFAULTS.testTriplets. */
  testTriplets?: number;
  /** Training-file images held out for validation. Default FASHION_MNIST_DEFAULTS.valImages. */
  valImages?: number;
  onProgress?: (progress: FashionMnistProgress) => void;
}

export interface FashionMnistManifest {
  format: typeof MANIFEST_FORMAT;
  dataset: 'fashion-mnist';
  seed: number;
  valImages: number;
  imageSize: number;
  /** The IDX files read, by base name, with their SHA-256 digests. */
  source: Record<string, { sha256: string }>;
  classes: { label: number; name: string; folder: string }[];
  splits: Record<FashionMnistSplit, { csv: string; triplets: number; images: number }>;
  imageRoot: string;
}

export interface PrepareFashionMnistResult {
  out: string;
  manifest: FashionMnistManifest;
  /** True when a complete output with the same arguments already existed and nothing was written. */
  reused: boolean;
}

const SOURCE_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
type SourceKey = keyof typeof SOURCE_FILES;

function checkCount(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${field} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Finds each IDX file in `from`, gzipped (`.gz`) or not. */
async function locateSources(from: string): Promise<Record<SourceKey, string>> {
  const found: Partial<Record<SourceKey, string>> = {};
  for (const [key, base] of Object.entries(SOURCE_FILES) as [SourceKey, string][]) {
    for (const candidate of [`${base}.gz`, base]) {
      if (await exists(path.join(from, candidate))) {
        found[key] = path.join(from, candidate);
        break;
      }
    }
    if (found[key] === undefined) {
      throw new Error(
        `Fashion-MNIST file ${base}.gz (or ${base}) not found in ${from}. Install Debian's dataset-fashion-mnist ` +
          `package (scripts/install-fashion-mnist.sh puts the files in ${DEBIAN_FASHION_MNIST_DIR}) ` +
          'or pass a folder that holds the four IDX files.',
      );
    }
  }
  return found as Record<SourceKey, string>;
}

async function digestSources(files: Record<SourceKey, string>): Promise<Record<string, { sha256: string }>> {
  const source: Record<string, { sha256: string }> = {};
  for (const key of Object.keys(SOURCE_FILES) as SourceKey[]) {
    const bytes = await readFile(files[key]);
    source[path.basename(files[key])] = { sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  return source;
}

interface SourceSplit {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

async function readSplit(imagesFile: string, labelsFile: string): Promise<SourceSplit> {
  const images = await readIdxFile(imagesFile);
  const labels = await readIdxFile(labelsFile);
  const [count, rows, columns] = images.shape;
  if (images.shape.length !== 3 || rows !== IMAGE_SIDE || columns !== IMAGE_SIDE) {
    throw new Error(`${imagesFile} has shape [${images.shape.join(', ')}], expected [N, 28, 28]`);
  }
  if (labels.shape.length !== 1 || labels.shape[0] !== count) {
    throw new Error(`${labelsFile} has shape [${labels.shape.join(', ')}], expected [${count}] to match ${imagesFile}`);
  }
  const badLabel = labels.data.findIndex((label) => label >= FASHION_MNIST_CLASSES.length);
  if (badLabel >= 0) {
    throw new Error(`${labelsFile} has label ${labels.data[badLabel]} at index ${badLabel}; labels must be 0..9`);
  }
  return { images: images.data, labels: labels.data, count };
}

/** One image to write: its source index, label and path relative to images/. */
interface PlannedImage extends LabelledImage {
  index: number;
}

function planSplit(split: FashionMnistSplit, indices: Iterable<number>, labels: Uint8Array): PlannedImage[] {
  const planned: PlannedImage[] = [];
  for (const index of indices) {
    const label = labels[index];
    const folder = FASHION_MNIST_CLASSES[label].folder;
    planned.push({ index, label, path: `${split}/${folder}/${index}.png` });
  }
  return planned;
}

async function writeImages(
  imageRoot: string,
  planned: readonly { image: PlannedImage; pixels: Uint8Array }[],
  onProgress: (done: number) => void,
): Promise<void> {
  const dirs = new Set(planned.map(({ image }) => path.posix.dirname(image.path)));
  for (const dir of dirs) {
    await mkdir(path.join(imageRoot, dir), { recursive: true });
  }

  let next = 0;
  let done = 0;
  const writeNext = async (): Promise<void> => {
    while (next < planned.length) {
      const { image, pixels } = planned[next++];
      await writeFile(path.join(imageRoot, image.path), encodePng(pixels, IMAGE_SIDE, IMAGE_SIDE, 1));
      done++;
      if (done % PROGRESS_EVERY_IMAGES === 0 || done === planned.length) {
        onProgress(done);
      }
    }
  };
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, writeNext));
}

function imagePixels(split: SourceSplit, index: number): Uint8Array {
  const length = IMAGE_SIDE * IMAGE_SIDE;
  return split.images.subarray(index * length, (index + 1) * length);
}

function sameArguments(existing: FashionMnistManifest, expected: FashionMnistManifest): boolean {
  const pick = (m: FashionMnistManifest) =>
    JSON.stringify([m.format, m.seed, m.valImages, m.source, FASHION_MNIST_SPLITS.map((s) => m.splits[s].triplets)]);
  return pick(existing) === pick(expected);
}

/**
 * Makes sure `out` is new, empty or left by an interrupted run of this
 * function (it contains INCOMPLETE_MARKER), then marks it as in progress.
 * The marker keeps the clean-up of an interrupted run away from folders
 * that contain other files.
 */
async function claimOutput(out: string): Promise<void> {
  await mkdir(out, { recursive: true });
  const entries = await readdir(out);
  if (entries.length > 0 && !entries.includes(INCOMPLETE_MARKER)) {
    throw new Error(
      `${out} is not empty and contains no Fashion-MNIST conversion (${entries.slice(0, 3).join(', ')}` +
        `${entries.length > 3 ? ', ...' : ''}); choose a new or empty output folder`,
    );
  }
  await writeFile(path.join(out, INCOMPLETE_MARKER), 'Fashion-MNIST conversion in progress or interrupted\n');
}

async function readManifest(file: string): Promise<FashionMnistManifest | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as FashionMnistManifest;
  } catch (error) {
    throw new Error(`${file} is not valid JSON; delete the output folder and run again`, { cause: error });
  }
}

/**
 * Converts the Fashion-MNIST IDX files into images and triplet CSV files
 * (see the module comment for the layout). Re-running with the same
 * arguments on a complete output returns at once with `reused: true`. A run
 * in a folder left by an interrupted run starts that conversion over.
 */
export async function prepareFashionMnist(args: PrepareFashionMnistArgs): Promise<PrepareFashionMnistResult> {
  assertSeed(args.seed);
  const from = path.resolve(args.from ?? DEBIAN_FASHION_MNIST_DIR);
  const out = path.resolve(args.out);
  const counts: Record<FashionMnistSplit, number> = {
    train: checkCount(args.trainTriplets ?? FASHION_MNIST_DEFAULTS.trainTriplets, 'trainTriplets'),
    val: checkCount(args.valTriplets ?? FASHION_MNIST_DEFAULTS.valTriplets, 'valTriplets'),
    test: checkCount(args.testTriplets ?? FASHION_MNIST_DEFAULTS.testTriplets, 'testTriplets'),
  };
  const valImages = checkCount(args.valImages ?? FASHION_MNIST_DEFAULTS.valImages, 'valImages');
  const report = args.onProgress ?? (() => undefined);

  // Step 1: compare with a finished output of an earlier run.
  report({ phase: 'check', done: 0, total: 1 });
  const sources = await locateSources(from);
  const source = await digestSources(sources);
  const manifestFile = path.join(out, 'manifest.json');
  const existing = await readManifest(manifestFile);
  const expectedKey: FashionMnistManifest = {
    format: MANIFEST_FORMAT,
    dataset: 'fashion-mnist',
    seed: args.seed,
    valImages,
    imageSize: IMAGE_SIDE,
    source,
    classes: FASHION_MNIST_CLASSES.map((c) => ({ ...c })),
    splits: {
      train: { csv: 'train.csv', triplets: counts.train, images: 0 },
      val: { csv: 'val.csv', triplets: counts.val, images: 0 },
      test: { csv: 'test.csv', triplets: counts.test, images: 0 },
    },
    imageRoot: 'images',
  };
  if (existing !== undefined) {
    if (sameArguments(existing, expectedKey)) {
      report({ phase: 'done', done: 1, total: 1 });
      return { out, manifest: existing, reused: true };
    }
    throw new Error(
      `${out} already contains a Fashion-MNIST conversion made from other arguments or source files ` +
        `(seed ${existing.seed}, triplets ${FASHION_MNIST_SPLITS.map((s) => existing.splits?.[s]?.triplets).join('/')}, ` +
        `valImages ${existing.valImages}); choose another output folder or delete that one`,
    );
  }
  await claimOutput(out);

  // Step 2: read the IDX files and split the training file into train and val.
  report({ phase: 'read', done: 0, total: 4 });
  const train = await readSplit(sources.trainImages, sources.trainLabels);
  const test = await readSplit(sources.testImages, sources.testLabels);
  report({ phase: 'read', done: 4, total: 4 });
  if (valImages >= train.count) {
    throw new RangeError(`valImages must be below the ${train.count} training images, got ${valImages}`);
  }
  const heldOut = new Random(STREAM_DATASET, args.seed, 0).permutation(train.count);
  const valIndices = Array.from(heldOut.subarray(0, valImages)).sort((a, b) => a - b);
  const trainIndices = Array.from(heldOut.subarray(valImages)).sort((a, b) => a - b);
  const plans: Record<FashionMnistSplit, PlannedImage[]> = {
    train: planSplit('train', trainIndices, train.labels),
    val: planSplit('val', valIndices, train.labels),
    test: planSplit('test', Array.from(test.labels.keys()), test.labels),
  };

  // Step 3: write the PNG files, replacing any from an interrupted run.
  const imageRoot = path.join(out, 'images');
  await rm(imageRoot, { recursive: true, force: true });
  const planned = [
    ...[...plans.train, ...plans.val].map((image) => ({ image, pixels: imagePixels(train, image.index) })),
    ...plans.test.map((image) => ({ image, pixels: imagePixels(test, image.index) })),
  ];
  report({ phase: 'images', done: 0, total: planned.length });
  await writeImages(imageRoot, planned, (done) => report({ phase: 'images', done, total: planned.length }));

  // Step 4: draw and write the triplets, one stream per split.
  report({ phase: 'triplets', done: 0, total: FASHION_MNIST_SPLITS.length });
  for (const [i, split] of FASHION_MNIST_SPLITS.entries()) {
    const random = new Random(STREAM_DATASET, args.seed, i + 1);
    const triplets = sampleTriplets(plans[split], counts[split], random);
    await writeFile(path.join(out, `${split}.csv`), formatTripletCsv(triplets));
    report({ phase: 'triplets', done: i + 1, total: FASHION_MNIST_SPLITS.length });
  }

  // Step 5: classes.json, then the manifest, which marks the output complete.
  const manifest: FashionMnistManifest = {
    ...expectedKey,
    splits: {
      train: { ...expectedKey.splits.train, images: plans.train.length },
      val: { ...expectedKey.splits.val, images: plans.val.length },
      test: { ...expectedKey.splits.test, images: plans.test.length },
    },
  };
  const classes = FASHION_MNIST_CLASSES.map((c) => ({
    ...c,
    images: Object.fromEntries(
      FASHION_MNIST_SPLITS.map((split) => [split, plans[split].filter((image) => image.label === c.label).length]),
    ),
  }));
  await writeFile(path.join(out, 'classes.json'), `${JSON.stringify(classes, null, 2)}\n`);
  await writeFile(`${manifestFile}.partial`, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(`${manifestFile}.partial`, manifestFile);
  await rm(path.join(out, INCOMPLETE_MARKER), { force: true });
  report({ phase: 'done', done: 1, total: 1 });

  return { out, manifest, reused: false };
}
