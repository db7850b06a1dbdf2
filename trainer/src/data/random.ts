/**
 * Seeded pseudo-random numbers for shuffling and augmentation.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counting
 * generator, 128-bit state, passes PractRand). Seeds are tuples of integers
 * mixed with MurmurHash3's 32-bit finaliser, so one run seed can give
 * independent streams per epoch, triplet and image slot without sharing
 * state between them.
 */

/** Stream tags that keep the shuffle and augmentation streams of one seed apart. */
export const STREAM_SHUFFLE = 0x5348;
export const STREAM_AUGMENT = 0x4147;
export const STREAM_DATASET = 0x4453;
/** Initial weights of a model built for a run. */
export const STREAM_WEIGHTS = 0x5749;
/** Random ops inside one training step, such as dropout masks. */
export const STREAM_STEP = 0x5354;

/** Throws unless seed is a non-negative safe integer. */
export function assertSeed(seed: number, field = 'seed'): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`${field} must be a non-negative integer up to 2^53 - 1, got ${String(seed)}`);
  }
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Mixes integers (each a safe integer, negative allowed) into one 32-bit
 * seed. Both 32-bit halves of every part enter the hash, so seeds above
 * 2^32 differ from their low bits alone.
 */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    const low = part >>> 0;
    const high = Math.floor(part / 0x100000000) >>> 0;
    h = fmix32(h ^ low) + 0x632be5ab;
    h = fmix32(h ^ high) + 0x632be5ab;
  }
  return fmix32(h);
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds the generator from one or more integers (see hashSeed). */
  constructor(...seedParts: number[]) {
    const seed = hashSeed(...seedParts);
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed;
    // The first outputs of sfc32 still correlate with the seed; discard them.
    for (let i = 0; i < 12; i++) {
      this.nextUint32();
    }
  }

  /** Returns a uniformly distributed integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Returns a float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Returns a float in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.nextFloat();
  }

  /** Returns an integer in [0, n) without modulo bias; n is at most 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) {
      throw new RangeError(`nextInt bound must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) {
        return x % n;
      }
    }
  }

  /** Shuffles array in place with the Fisher-Yates algorithm and returns it. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** Returns a random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Uint32Array {
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      order[i] = i;
    }
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = order[i];
      order[i] = order[j];
      order[j] = tmp;
    }
    return order;
  }
}
