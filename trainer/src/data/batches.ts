/**
 * Batches of triplet images for the training loop, in the original's
 * layout: a step of B triplets feeds 3·B images ordered q1,p1,n1,q2,p2,n2,…
 * and the triplets left over after the last whole batch are dropped.
 *
 * Step s of an epoch always covers positions [s·B, (s+1)·B) of the epoch's
 * order, which depends only on (seed, epoch), and each image's augmentation
 * depends only on (seed, epoch, position, slot). So a run resumed at any
 * step gets the same batches as an uninterrupted one, and moving the
 * augmentation into worker threads does not change the results.
 */
import { AugmentPool } from './augment-pool';
import { type AugmentArgs, resolveAugmentArgs, sampleAugmentParams, transformImage } from './augment';
import { ImageDecodeError, type ImageSource, toUnitFloat } from './decode';
import { rgbLength } from './layout';
import { Random, STREAM_AUGMENT, assertSeed } from './random';
import { TRIPLET_ROLES, type Triplet, type TripletRole, epochOrder } from './triplets';

/** Default number of batches prepared ahead of the one the consumer holds. */
export const DEFAULT_PREFETCH = 2;

export interface TripletBatch {
  epoch: number;
  /** 0-based step within the epoch. */
  step: number;
  /** Side length of every image in pixels. */
  size: number;
  /** Triplets in this batch: batchSize less the skipped ones. */
  triplets: number;
  /** Triplets of this step skipped for a bad image (only with skipBadSamples). */
  skipped: number;
  /** 3·triplets × size × size × 3 values in [0, 1], images ordered q1,p1,n1,q2,… */
  images: Float32Array;
  /** Class id of each image in the order of `images`, when the batcher was given classes. */
  classes?: Int32Array;
}

/** A triplet left out because one of its images could not be decoded. */
export interface SkippedTriplet {
  epoch: number;
  step: number;
  triplet: Triplet;
  role: TripletRole;
  error: ImageDecodeError;
}

/** A bad image that stopped the epoch because skipBadSamples is off. */
export class DataSampleError extends Error {
  constructor(
    readonly triplet: Triplet,
    readonly role: TripletRole,
    cause: ImageDecodeError,
  ) {
    super(
      `${cause.message} (the ${role} of the triplet at ${triplet.source.file}:${triplet.source.line}). ` +
        'Fix or remove that line, or set skipBadSamples to skip triplets with bad images.',
      { cause },
    );
    this.name = 'DataSampleError';
  }
}

export interface TripletBatcherArgs {
  triplets: readonly Triplet[];
  /** Triplets per step. */
  batchSize: number;
  /** Decodes images to size×size RGB; usually an ImageDecoder, shared between training and validation. */
  images: ImageSource;
  /** Seed of the shuffle and of the augmentation. */
  seed: number;
  /** Visit the triplets in a new seeded order every epoch. Default true; false keeps file order. */
  shuffle?: boolean;
  /** Augmentation: `{}` for the original's training defaults, false for none (validation). */
  augment: AugmentArgs | false;
  /** Batches prepared ahead of the one the consumer holds. Default DEFAULT_PREFETCH. */
  prefetch?: number;
  /** Worker threads for augmentation; 0 runs it on the main thread. Default 0. */
  augmentWorkers?: number;
  /** Skip triplets with a missing or corrupt image instead of failing. Default false. */
  skipBadSamples?: boolean;
  /** Called once per skipped triplet; the caller logs it. */
  onSkip?: (skipped: SkippedTriplet) => void;
  /**
   * Class id of every image of `triplets`, three per triplet in query,
   * positive, negative order (see folderClasses). Batches then carry the
   * classes of their images, for triplet mining.
   */
  classes?: Int32Array;
}

function checkCount(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`TripletBatcherArgs.${field} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Returns the class ids of the images of the given triplets, three per triplet. */
function imageClasses(classes: Int32Array, tripletIndices: readonly number[]): Int32Array {
  const selected = new Int32Array(3 * tripletIndices.length);
  for (const [k, index] of tripletIndices.entries()) {
    selected.set(classes.subarray(3 * index, 3 * index + 3), 3 * k);
  }
  return selected;
}

type DecodedTriplet = { ok: true; pixels: Uint8Array[] } | { ok: false; role: TripletRole; error: ImageDecodeError };

/**
 * Produces the batches of one epoch at a time with a prefetch queue: while
 * the consumer works on a batch, the next ones are decoded (sharp runs on
 * libuv's thread pool) and augmented. Call close() when done if
 * augmentWorkers > 0.
 */
export class TripletBatcher {
  readonly stepsPerEpoch: number;
  readonly batchSize: number;
  readonly size: number;
  private readonly triplets: readonly Triplet[];
  private readonly images: ImageSource;
  private readonly seed: number;
  private readonly shuffle: boolean;
  private readonly augment: Required<AugmentArgs> | undefined;
  private readonly prefetch: number;
  private readonly skipBadSamples: boolean;
  private readonly onSkip?: (skipped: SkippedTriplet) => void;
  private readonly pool?: AugmentPool;
  private readonly classes?: Int32Array;
  private skippedTotal = 0;

  constructor(args: TripletBatcherArgs) {
    this.batchSize = checkCount(args.batchSize, 'batchSize', 1);
    this.prefetch = checkCount(args.prefetch ?? DEFAULT_PREFETCH, 'prefetch', 0);
    const workers = checkCount(args.augmentWorkers ?? 0, 'augmentWorkers', 0);
    assertSeed(args.seed, 'TripletBatcherArgs.seed');
    if (args.triplets.length < this.batchSize) {
      throw new RangeError(
        `TripletBatcherArgs.triplets has ${args.triplets.length} triplets, fewer than batchSize ${this.batchSize}, ` +
          'so an epoch would have no step; lower batchSize or add triplets',
      );
    }
    if (args.classes !== undefined && args.classes.length !== 3 * args.triplets.length) {
      throw new RangeError(
        `TripletBatcherArgs.classes has ${args.classes.length} class ids for ${args.triplets.length} triplets; ` +
          'expected 3 per triplet (query, positive, negative)',
      );
    }

    this.triplets = args.triplets;
    this.images = args.images;
    this.size = args.images.size;
    this.seed = args.seed;
    this.shuffle = args.shuffle ?? true;
    this.augment = args.augment === false ? undefined : resolveAugmentArgs(args.augment);
    this.skipBadSamples = args.skipBadSamples ?? false;
    this.onSkip = args.onSkip;
    this.classes = args.classes;
    this.stepsPerEpoch = Math.floor(args.triplets.length / this.batchSize);
    if (workers > 0 && this.augment !== undefined) {
      this.pool = new AugmentPool(workers);
    }
  }

  /** Triplets skipped for bad images since this batcher was created. */
  get skippedTriplets(): number {
    return this.skippedTotal;
  }

  /**
   * Yields the batches of `epoch` from `startStep` on (0 for a whole epoch).
   * A step whose triplets were all skipped yields nothing, so steps may have
   * gaps; TripletBatch.step names each batch's step.
   */
  async *epoch(epoch: number, startStep = 0): AsyncGenerator<TripletBatch, void, undefined> {
    if (!Number.isSafeInteger(startStep) || startStep < 0 || startStep > this.stepsPerEpoch) {
      throw new RangeError(`startStep must be an integer in [0, ${this.stepsPerEpoch}], got ${String(startStep)}`);
    }
    const order = this.shuffle
      ? epochOrder(this.triplets.length, this.seed, epoch)
      : Uint32Array.from(this.triplets.keys());

    const queue: Promise<TripletBatch>[] = [];
    let nextStep = startStep;
    const fill = (depth: number): void => {
      while (queue.length < depth && nextStep < this.stepsPerEpoch) {
        const pending = this.buildBatch(order, epoch, nextStep++);
        // The consumer may stop before awaiting it; keep its rejection handled.
        pending.catch(() => undefined);
        queue.push(pending);
      }
    };

    fill(Math.max(1, this.prefetch));
    while (queue.length > 0) {
      const batch = await (queue.shift() as Promise<TripletBatch>);
      // Queue the next batches before handing this one over, so they are
      // decoded while the consumer works.
      fill(this.prefetch);
      if (batch.triplets > 0) {
        yield batch;
      }
      fill(Math.max(1, this.prefetch));
    }
  }

  /** Terminates the augmentation workers, if any. */
  async close(): Promise<void> {
    await this.pool?.close();
  }

  private async decodeTriplet(triplet: Triplet): Promise<DecodedTriplet> {
    const paths = [triplet.query, triplet.positive, triplet.negative];
    const results = await Promise.allSettled(paths.map((imagePath) => this.images.decode(imagePath)));
    const pixels: Uint8Array[] = [];

    for (const [slot, result] of results.entries()) {
      if (result.status === 'fulfilled') {
        pixels.push(result.value);
        continue;
      }
      if (!(result.reason instanceof ImageDecodeError)) {
        throw result.reason;
      }
      return { ok: false, role: TRIPLET_ROLES[slot], error: result.reason };
    }
    return { ok: true, pixels };
  }

  private async buildBatch(order: Uint32Array, epoch: number, step: number): Promise<TripletBatch> {
    const first = step * this.batchSize;
    const positions = Array.from({ length: this.batchSize }, (_, i) => first + i);
    const decoded = await Promise.all(positions.map((position) => this.decodeTriplet(this.triplets[order[position]])));

    const goodTriplets: { position: number; pixels: Uint8Array[] }[] = [];
    for (const [i, result] of decoded.entries()) {
      const triplet = this.triplets[order[positions[i]]];
      if (result.ok) {
        goodTriplets.push({ position: positions[i], pixels: result.pixels });
        continue;
      }
      if (!this.skipBadSamples) {
        throw new DataSampleError(triplet, result.role, result.error);
      }
      this.skippedTotal++;
      this.onSkip?.({ epoch, step, triplet, role: result.role, error: result.error });
    }

    const imageLength = rgbLength(this.size, this.size);
    const images = new Float32Array(goodTriplets.length * 3 * imageLength);
    const writes: Promise<void>[] = [];
    for (const [k, { position, pixels }] of goodTriplets.entries()) {
      for (const [slot, source] of pixels.entries()) {
        const offset = (k * 3 + slot) * imageLength;
        writes.push(this.writeImage(source, images, offset, epoch, position, slot));
      }
    }
    await Promise.all(writes);

    const batch: TripletBatch = {
      epoch,
      step,
      size: this.size,
      triplets: goodTriplets.length,
      skipped: this.batchSize - goodTriplets.length,
      images,
    };
    if (this.classes !== undefined) {
      batch.classes = imageClasses(this.classes, goodTriplets.map(({ position }) => order[position]));
    }
    return batch;
  }

  private async writeImage(
    source: Uint8Array,
    images: Float32Array,
    offset: number,
    epoch: number,
    position: number,
    slot: number,
  ): Promise<void> {
    if (this.augment === undefined) {
      toUnitFloat(source, images, offset);
      return;
    }

    const random = new Random(STREAM_AUGMENT, this.seed, epoch, position, slot);
    const params = sampleAugmentParams(this.augment, random);
    const scale = 1 / 255;
    if (this.pool === undefined) {
      transformImage(source, this.size, this.size, params, this.augment.interpolation, {
        out: images,
        outOffset: offset,
        scale,
      });
      return;
    }

    const out = await this.pool.run({
      source,
      height: this.size,
      width: this.size,
      params,
      interpolation: this.augment.interpolation,
      scale,
    });
    images.set(out, offset);
  }
}

/** Yields the batches of one epoch and closes the batcher afterwards (see TripletBatcher). */
export async function* tripletBatches(
  args: TripletBatcherArgs & { epoch: number; startStep?: number },
): AsyncGenerator<TripletBatch, void, undefined> {
  const batcher = new TripletBatcher(args);
  try {
    yield* batcher.epoch(args.epoch, args.startStep ?? 0);
  } finally {
    await batcher.close();
  }
}
