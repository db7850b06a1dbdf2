/**
 * Real image files for the data tests, written with sharp into a
 * temporary folder that each suite removes afterwards.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `mildnet-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Writes raw 8-bit pixels with 1 to 4 channels as PNG (or JPEG) and returns the file path. */
export async function writeImage(
  file: string,
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  format: 'png' | 'jpeg' = 'png',
): Promise<string> {
  let image = sharp(pixels, { raw: { width, height, channels } });
  if (channels <= 2) {
    image = image.toColourspace('b-w');
  }
  const encoded = format === 'png' ? await image.png().toBuffer() : await image.jpeg({ quality: 95 }).toBuffer();
  await writeFile(file, encoded);
  return file;
}

/** Returns width × height × 3 bytes of one colour. */
export function solidRgb(width: number, height: number, rgb: [number, number, number]): Uint8Array {
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    pixels.set(rgb, i * 3);
  }
  return pixels;
}

/** Returns width × height × channels bytes where every value differs from its neighbours. */
export function patternPixels(width: number, height: number, channels: number, salt = 0): Uint8Array {
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0; i < pixels.length; i++) {
    pixels[i] = (i * 37 + salt * 11 + 5) % 256;
  }
  return pixels;
}
