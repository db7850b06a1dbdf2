/**
 * Throughput of the data pipeline in images per second: JPEG decode and
 * resize (sharp), the original's augmentation, and batch assembly, at 32,
 * 64 and 224 pixels. Prints a Markdown table for docs/benchmarks.md.
 *
 * Usage: npx ts-node --transpile-only -P tsconfig.json bench/data.ts [--steps N]
 *
 * The source images are 256 synthetic 400×400 JPEG files (quality 90) with
 * smooth colour fields and noise, about the size of a catalogue photo.
 * Each configuration runs `steps` batches of 16 triplets (48 images) with
 * prefetch 2 and a consumer that does nothing, so the numbers are the
 * pipeline's ceiling on this machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import { ImageDecoder, Random, TripletBatcher, type Triplet, type TripletBatcherArgs } from '../trainer/src/data';

const SOURCE_IMAGES = 256;
const SOURCE_SIDE = 400;
const BATCH_TRIPLETS = 16;
const SIZES = [32, 64, 224];

interface Mode {
  name: string;
  augment: boolean;
  workers: number;
  /** Decode every image once before timing, so only augmentation and assembly remain. */
  warmCache: boolean;
}

const MODES: Mode[] = [
  { name: 'decode only', augment: false, workers: 0, warmCache: false },
  { name: 'decode + augment (main thread)', augment: true, workers: 0, warmCache: false },
  { name: 'decode + augment (2 workers)', augment: true, workers: 2, warmCache: false },
  { name: 'augment only, cache warm (main thread)', augment: true, workers: 0, warmCache: true },
];

function parseSteps(argv: string[]): number {
  const index = argv.indexOf('--steps');
  if (index < 0) {
    return 30;
  }
  const steps = Number(argv[index + 1]);
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`--steps must be a positive integer, got ${argv[index + 1]}`);
  }
  return steps;
}

async function writeSourceImages(dir: string): Promise<string[]> {
  const random = new Random(2024);
  const files: string[] = [];
  for (let i = 0; i < SOURCE_IMAGES; i++) {
    const pixels = Buffer.alloc(SOURCE_SIDE * SOURCE_SIDE * 3);
    const [r, g, b] = [random.nextInt(256), random.nextInt(256), random.nextInt(256)];
    for (let p = 0; p < SOURCE_SIDE * SOURCE_SIDE; p++) {
      const x = p % SOURCE_SIDE;
      const y = Math.floor(p / SOURCE_SIDE);
      const noise = random.nextInt(32);
      pixels[p * 3] = (r + x / 3 + noise) % 256;
      pixels[p * 3 + 1] = (g + y / 3 + noise) % 256;
      pixels[p * 3 + 2] = (b + (x + y) / 6) % 256;
    }
    const file = path.join(dir, `${i}.jpg`);
    await sharp(pixels, { raw: { width: SOURCE_SIDE, height: SOURCE_SIDE, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(file);
    files.push(file);
  }
  return files;
}

function makeTriplets(files: string[], count: number): Triplet[] {
  const random = new Random(7);
  return Array.from({ length: count }, (_, line) => ({
    query: files[random.nextInt(files.length)],
    positive: files[random.nextInt(files.length)],
    negative: files[random.nextInt(files.length)],
    source: { file: 'bench.csv', line: line + 1 },
  }));
}

async function measure(triplets: Triplet[], size: number, mode: Mode): Promise<number> {
  // With the cache off, every image reference in a batch is decoded again.
  const images = new ImageDecoder({ size, cacheBytes: mode.warmCache ? undefined : 0 });
  const args: TripletBatcherArgs = {
    triplets,
    batchSize: BATCH_TRIPLETS,
    images,
    seed: 1,
    shuffle: false,
    augment: mode.augment ? {} : false,
    augmentWorkers: mode.workers,
  };
  const batcher = new TripletBatcher(args);
  try {
    if (mode.warmCache) {
      for await (const batch of batcher.epoch(0)) {
        void batch;
      }
    }
    // A short untimed run loads the workers and warms up the JIT.
    for await (const batch of batcher.epoch(1, Math.max(0, batcher.stepsPerEpoch - 2))) {
      void batch;
    }

    let count = 0;
    const start = process.hrtime.bigint();
    for await (const batch of batcher.epoch(2)) {
      count += batch.triplets * 3;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return count / seconds;
  } finally {
    await batcher.close();
  }
}

async function main(): Promise<void> {
  const steps = parseSteps(process.argv);
  const dir = await mkdtemp(path.join(tmpdir(), 'mildnet-bench-data-'));
  try {
    const files = await writeSourceImages(dir);
    const triplets = makeTriplets(files, steps * BATCH_TRIPLETS);

    const rows: string[] = [];
    for (const mode of MODES) {
      const cells: string[] = [];
      for (const size of SIZES) {
        const rate = await measure(triplets, size, mode);
        cells.push(rate.toFixed(0));
      }
      rows.push(`| ${mode.name} | ${cells.join(' | ')} |`);
    }

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    console.log(`Machine: ${availableParallelism()} × ${cpu}, Node ${process.version}, sharp ${sharp.versions.sharp}`);
    console.log(`Load average (1 min) at the end: ${loadavg()[0].toFixed(1)}`);
    console.log(`Steps per configuration: ${steps} × ${BATCH_TRIPLETS} triplets (${steps * BATCH_TRIPLETS * 3} images)`);
    console.log('');
    console.log(`| images/s | ${SIZES.map((s) => `${s} px`).join(' | ')} |`);
    console.log(`|---|${SIZES.map(() => '---:').join('|')}|`);
    for (const row of rows) {
      console.log(row);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
