/**
 * Image decoding: any format sharp reads (JPEG, PNG, WebP, GIF, TIFF, ...)
 * to size×size RGB, 8 bits per channel, height × width × channel order.
 *
 * Porting note: the original stretched each image to the target size with
 * PIL's default filter, nearest neighbour in Pillow 5. This module stretches
 * too (the aspect ratio is not kept) but resamples with sharp's default
 * Lanczos-3 kernel, which aliases less. Neither applies EXIF orientation.
 */
import { readFile } from 'node:fs/promises';

import { LRUCache } from 'lru-cache';
import sharp from 'sharp';

import { RGB_CHANNELS } from './layout';

/** Default bound of the decoded-image cache: 256 MiB of 8-bit pixels. */
export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

export type ImageDecodeFailure = 'missing' | 'unreadable' | 'corrupt';

/** An image that cannot be read or decoded; `reason` names the failure. */
export class ImageDecodeError extends Error {
  constructor(
    readonly imagePath: string,
    readonly reason: ImageDecodeFailure,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Image ${imagePath} is ${reason}: ${detail}`, options);
    this.name = 'ImageDecodeError';
  }
}

/** Throws unless size is an image side length in pixels that sharp can produce. */
export function assertImageSize(size: number, field = 'size'): void {
  if (!Number.isInteger(size) || size < 1 || size > 4096) {
    throw new RangeError(`${field} must be an integer number of pixels in [1, 4096], got ${String(size)}`);
  }
}

/**
 * Decodes an encoded image to size×size RGB, 8 bits per channel. Alpha is
 * dropped without compositing (as PIL's convert('RGB') does) and grayscale
 * is expanded to three equal channels.
 */
export async function decodeImageBuffer(encoded: Buffer, size: number, imagePath = '<buffer>'): Promise<Uint8Array> {
  assertImageSize(size);
  let data: Buffer;
  let channels: number;
  try {
    const result = await sharp(encoded)
      .resize(size, size, { fit: 'fill' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    data = result.data;
    channels = result.info.channels;
  } catch (error) {
    throw new ImageDecodeError(imagePath, 'corrupt', (error as Error).message, { cause: error });
  }
  if (channels !== RGB_CHANNELS || data.length !== size * size * RGB_CHANNELS) {
    throw new ImageDecodeError(imagePath, 'corrupt', `decoded to ${channels} channels and ${data.length} bytes`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Reads and decodes an image file (see decodeImageBuffer). */
export async function decodeImageFile(imagePath: string, size: number): Promise<Uint8Array> {
  let encoded: Buffer;
  try {
    encoded = await readFile(imagePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason: ImageDecodeFailure = code === 'ENOENT' ? 'missing' : 'unreadable';
    throw new ImageDecodeError(imagePath, reason, (error as Error).message, { cause: error });
  }
  return decodeImageBuffer(encoded, size, imagePath);
}

/** Converts 8-bit pixels to floats in [0, 1] (scaled by 1/255, as the original). */
export function toUnitFloat(
  pixels: Uint8Array,
  out: Float32Array = new Float32Array(pixels.length),
  outOffset = 0,
): Float32Array {
  const scale = 1 / 255;
  for (let i = 0; i < pixels.length; i++) {
    out[outOffset + i] = pixels[i] * scale;
  }
  return out;
}

/** Decoder interface of the batch pipeline, implemented by ImageDecoder. */
export interface ImageSource {
  /** Side length of every decoded image in pixels. */
  readonly size: number;
  /** Returns size×size×3 RGB bytes; rejects with ImageDecodeError. */
  decode(imagePath: string): Promise<Uint8Array>;
}

export interface ImageDecoderArgs {
  /** Side length of the decoded images in pixels. */
  size: number;
  /** Upper bound of the cache in bytes of decoded pixels; 0 disables it. Default DEFAULT_CACHE_BYTES. */
  cacheBytes?: number;
}

export interface ImageCacheStats {
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
}

/**
 * Decoder with an LRU cache of decoded images keyed by path, bounded in
 * bytes, and with one shared decode per path while it is in flight, because
 * the same images recur across triplets. Cached arrays are shared: callers
 * must not modify them.
 */
export class ImageDecoder implements ImageSource {
  readonly size: number;
  private readonly cache?: LRUCache<string, Uint8Array>;
  private readonly inFlight = new Map<string, Promise<Uint8Array>>();
  private hits = 0;
  private misses = 0;

  constructor(args: ImageDecoderArgs) {
    assertImageSize(args.size, 'ImageDecoderArgs.size');
    const cacheBytes = args.cacheBytes ?? DEFAULT_CACHE_BYTES;
    if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) {
      throw new RangeError(`ImageDecoderArgs.cacheBytes must be a non-negative integer, got ${String(cacheBytes)}`);
    }
    this.size = args.size;
    if (cacheBytes > 0) {
      this.cache = new LRUCache<string, Uint8Array>({
        maxSize: cacheBytes,
        sizeCalculation: (pixels) => pixels.byteLength,
      });
    }
  }

  async decode(imagePath: string): Promise<Uint8Array> {
    const cached = this.cache?.get(imagePath);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    const pending = this.inFlight.get(imagePath);
    if (pending !== undefined) {
      this.hits++;
      return pending;
    }

    this.misses++;
    const decoding = decodeImageFile(imagePath, this.size);
    this.inFlight.set(imagePath, decoding);
    try {
      const pixels = await decoding;
      this.cache?.set(imagePath, pixels);
      return pixels;
    } finally {
      this.inFlight.delete(imagePath);
    }
  }

  stats(): ImageCacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      entries: this.cache?.size ?? 0,
      bytes: this.cache?.calculatedSize ?? 0,
    };
  }
}
