import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ConfigError } from '../config/errors';
import type { JobConfig } from '../config/job-config';
import {
  ImageDecoder,
  TripletBatcher,
  folderClasses,
  readTriplets,
  type AugmentArgs,
  type SkippedTriplet,
  type Triplet,
} from '../data';
import { unpackZip } from '../storage';
import type { TripletBatch, TripletData } from './trainer';

export interface DataSourceArgs {
  config: JobConfig;
  /** Local directory with the CSVs and the image folder or archive. */
  dataDir: string;
  /** Folder that zip archives are unpacked into; defaults to one under the system's temp dir. */
  cacheDir?: string;
  /** Worker threads for augmentation; 0 augments on the main thread. */
  augmentWorkers?: number;
  onSkip?: (skipped: SkippedTriplet) => void;
}

/** Translates the job config's augmentation fields into the data pipeline's options. */
export function augmentationArgs(config: JobConfig): AugmentArgs | false {
  const a = config.augmentation;
  if (!a.enabled) return false;
  return {
    flipHorizontal: a.flip_horizontal,
    flipVertical: a.flip_vertical,
    zoom: a.zoom_range,
    shear: a.shear_range,
    rotation: a.rotation_range,
  };
}

/**
 * Returns the class id of every training image (three per triplet) when
 * the config mines triplets with labels `folders`, and undefined otherwise.
 */
export function miningClasses(config: JobConfig, triplets: readonly Triplet[], imageRoot: string): Int32Array | undefined {
  const mining = config.triplet_mining;
  if (mining.strategy === 'none' || mining.labels !== 'folders') return undefined;

  const { folders, classes } = folderClasses(triplets, imageRoot);
  if (triplets.length > 0 && folders.length < 2) {
    throw new RangeError(
      `triplet_mining.labels is folders, but every image of ${config.train_csv} is in the folder ${folders[0]} ` +
        `of ${imageRoot}, so no image can be a negative; put each class in its own folder or set triplet_mining.labels to pairs`,
    );
  }
  return classes;
}

/**
 * Finds the folder that the CSV paths are relative to: the `images` folder,
 * or the `images` zip archive unpacked once into the cache dir, or the data
 * dir itself when a remote fetch already unpacked the archive there.
 */
export async function resolveImageRoot(dataDir: string, images: string, cacheDir: string): Promise<string> {
  const target = path.resolve(dataDir, images);
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (stat?.isDirectory()) return target;

  if (stat?.isFile() && images.endsWith('.zip')) {
    const digest = createHash('sha256').update(`${target}\n${stat.size}\n${stat.mtimeMs}`).digest('hex').slice(0, 16);
    const unpacked = path.join(cacheDir, 'archives', digest);
    const done = path.join(unpacked, '.unpacked');
    if (!fs.existsSync(done)) {
      fs.rmSync(unpacked, { recursive: true, force: true });
      fs.mkdirSync(unpacked, { recursive: true });
      await unpackZip(target, unpacked, unpacked);
      fs.writeFileSync(done, '');
    }
    return unpacked;
  }

  if (!stat && images.endsWith('.zip')) return dataDir;
  throw new Error(
    `The image location ${target} (config field images: ${images}) is not a folder or a .zip file; ` +
      'set images to the folder or archive that the CSV paths are relative to',
  );
}

/** Throws a ConfigError on batch_size when a triplet file has fewer triplets than one batch. */
function assertOneBatch(config: JobConfig, dataDir: string, files: Array<[string, number]>): void {
  const problems = files
    .filter(([, triplets]) => triplets < config.batch_size)
    .map(([file, triplets]) => ({
      path: 'batch_size',
      message: `got ${config.batch_size}, more than the ${triplets} triplets of ${file}, so an epoch would have no step; lower batch_size to at most ${triplets} or add triplets`,
    }));
  if (problems.length > 0) throw new ConfigError(`with the data in ${dataDir}`, problems);
}

/** Training and validation batches of a job config, read from a local data dir. */
export async function openTripletData(args: DataSourceArgs): Promise<TripletData & { close(): Promise<void> }> {
  const { config, dataDir } = args;
  const cacheDir = args.cacheDir ?? path.join(os.tmpdir(), 'mildnet-cache');
  const imageRoot = await resolveImageRoot(dataDir, config.images, cacheDir);
  const images = new ImageDecoder({ size: config.input_size });

  const trainTriplets = await readTriplets(path.resolve(dataDir, config.train_csv), imageRoot);
  const validationTriplets = await readTriplets(path.resolve(dataDir, config.val_csv), imageRoot);
  assertOneBatch(config, dataDir, [
    [config.train_csv, trainTriplets.length],
    [config.val_csv, validationTriplets.length],
  ]);
  const train = new TripletBatcher({
    triplets: trainTriplets,
    classes: miningClasses(config, trainTriplets, imageRoot),
    batchSize: config.batch_size,
    images,
    seed: config.seed,
    augment: augmentationArgs(config),
    augmentWorkers: args.augmentWorkers ?? 0,
    skipBadSamples: config.skip_bad_samples,
    onSkip: args.onSkip,
  });
  const validation = new TripletBatcher({
    triplets: validationTriplets,
    batchSize: config.batch_size,
    images,
    seed: config.seed,
    shuffle: false,
    augment: false,
    skipBadSamples: config.skip_bad_samples,
    onSkip: args.onSkip,
  });

  const batchers = { train, val: validation };
  return {
    stepsPerEpoch: (split) => batchers[split].stepsPerEpoch,
    async *batches(split, epoch, startStep): AsyncIterable<TripletBatch> {
      for await (const batch of batchers[split].epoch(epoch, startStep)) {
        yield { images: batch.images, triplets: batch.triplets, classes: batch.classes };
      }
    },
    close: async () => {
      await train.close();
      await validation.close();
    },
  };
}
