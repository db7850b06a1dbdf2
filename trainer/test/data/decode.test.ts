import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';

import sharp from 'sharp';

import { ImageDecodeError, ImageDecoder, decodeImageFile, toUnitFloat } from '../../src/data';
import { makeTempDir, patternPixels, removeDir, solidRgb, writeImage } from './fixtures';

let dir: string;

beforeAll(async () => {
  dir = await makeTempDir('decode');
});

afterAll(async () => {
  await removeDir(dir);
});

async function decodeError(file: string): Promise<ImageDecodeError> {
  try {
    await decodeImageFile(file, 8);
  } catch (error) {
    expect(error).toBeInstanceOf(ImageDecodeError);
    return error as ImageDecodeError;
  }
  throw new Error(`decodeImageFile accepted ${file}`);
}

describe('decodeImageFile', () => {
  test('RGB PNG keeps exact pixels', async () => {
    const pixels = patternPixels(8, 8, 3);
    const file = await writeImage(path.join(dir, 'rgb.png'), pixels, 8, 8, 3);

    const decoded = await decodeImageFile(file, 8);

    expect(decoded).toHaveLength(8 * 8 * 3);
    expect(Array.from(decoded)).toEqual(Array.from(pixels));
  });

  test('RGBA PNG drops alpha', async () => {
    const rgba = patternPixels(8, 8, 4);
    for (let i = 3; i < rgba.length; i += 8) {
      rgba[i] = 0; // every other pixel fully transparent
    }
    const file = await writeImage(path.join(dir, 'rgba.png'), rgba, 8, 8, 4);

    const decoded = await decodeImageFile(file, 8);

    expect(decoded).toHaveLength(8 * 8 * 3);
    for (let p = 0; p < 64; p++) {
      expect(Array.from(decoded.subarray(p * 3, p * 3 + 3))).toEqual(Array.from(rgba.subarray(p * 4, p * 4 + 3)));
    }
  });

  test('grayscale expands to three channels', async () => {
    const gray = patternPixels(8, 8, 1);
    const file = await writeImage(path.join(dir, 'gray.png'), gray, 8, 8, 1);
    expect((await sharp(file).metadata()).channels).toBe(1);

    const decoded = await decodeImageFile(file, 8);

    expect(decoded).toHaveLength(8 * 8 * 3);
    for (let p = 0; p < 64; p++) {
      expect(decoded[p * 3]).toBe(gray[p]);
      expect(decoded[p * 3 + 1]).toBe(gray[p]);
      expect(decoded[p * 3 + 2]).toBe(gray[p]);
    }
  });

  test('grayscale with alpha expands too', async () => {
    const grayAlpha = patternPixels(8, 8, 2);
    const file = await writeImage(path.join(dir, 'gray-alpha.png'), grayAlpha, 8, 8, 2);

    const decoded = await decodeImageFile(file, 8);

    expect(decoded).toHaveLength(8 * 8 * 3);
    expect(decoded[3 * 5]).toBe(grayAlpha[2 * 5]);
    expect(decoded[3 * 5 + 2]).toBe(grayAlpha[2 * 5]);
  });

  test('JPEG decodes near its colour', async () => {
    const file = await writeImage(path.join(dir, 'flat.jpg'), solidRgb(32, 32, [200, 40, 90]), 32, 32, 3, 'jpeg');

    const decoded = await decodeImageFile(file, 16);

    expect(decoded).toHaveLength(16 * 16 * 3);
    for (let p = 0; p < 256; p++) {
      expect(Math.abs(decoded[p * 3] - 200)).toBeLessThanOrEqual(4);
      expect(Math.abs(decoded[p * 3 + 1] - 40)).toBeLessThanOrEqual(4);
      expect(Math.abs(decoded[p * 3 + 2] - 90)).toBeLessThanOrEqual(4);
    }
  });

  test('non-square image is stretched to size', async () => {
    // Left half red, right half blue, 64×16: stretching keeps the halves.
    const pixels = new Uint8Array(64 * 16 * 3);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 64; x++) {
        pixels.set(x < 32 ? [255, 0, 0] : [0, 0, 255], (y * 64 + x) * 3);
      }
    }
    const file = await writeImage(path.join(dir, 'wide.png'), pixels, 64, 16, 3);

    const decoded = await decodeImageFile(file, 10);

    expect(decoded).toHaveLength(10 * 10 * 3);
    const pixelAt = (x: number, y: number) => Array.from(decoded.subarray((y * 10 + x) * 3, (y * 10 + x) * 3 + 3));
    expect(pixelAt(0, 0)).toEqual([255, 0, 0]);
    expect(pixelAt(9, 9)).toEqual([0, 0, 255]);
  });

  test('missing file is reported as missing', async () => {
    const file = path.join(dir, 'nope.png');

    const error = await decodeError(file);

    expect(error.reason).toBe('missing');
    expect(error.imagePath).toBe(file);
    expect(error.message).toContain(file);
  });

  test('garbage bytes are reported as corrupt', async () => {
    const file = path.join(dir, 'garbage.png');
    await writeFile(file, Buffer.from('this is not an image at all'));

    const error = await decodeError(file);

    expect(error.reason).toBe('corrupt');
    expect(error.message).toContain(file);
  });

  test('truncated JPEG is reported as corrupt', async () => {
    const whole = await sharp(patternPixels(64, 64, 3), { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer();
    const file = path.join(dir, 'truncated.jpg');
    await writeFile(file, whole.subarray(0, Math.floor(whole.length / 2)));

    const error = await decodeError(file);

    expect(error.reason).toBe('corrupt');
  });

  test('directory is reported as unreadable', async () => {
    const error = await decodeError(dir);

    expect(error.reason).toBe('unreadable');
  });
});

describe('toUnitFloat', () => {
  test('scales bytes by 1/255', () => {
    const floats = toUnitFloat(Uint8Array.from([0, 51, 255]));

    expect(floats[0]).toBe(0);
    expect(floats[1]).toBeCloseTo(0.2, 6);
    expect(floats[2]).toBeCloseTo(1, 6);
  });
});

describe('ImageDecoder', () => {
  let files: string[];

  beforeAll(async () => {
    files = [];
    for (let i = 0; i < 4; i++) {
      files.push(await writeImage(path.join(dir, `cache-${i}.png`), patternPixels(8, 8, 3, i), 8, 8, 3));
    }
  });

  test('repeated path hits the cache', async () => {
    const decoder = new ImageDecoder({ size: 8 });

    const first = await decoder.decode(files[0]);
    const second = await decoder.decode(files[0]);

    expect(second).toBe(first);
    expect(decoder.stats()).toEqual({ hits: 1, misses: 1, entries: 1, bytes: 8 * 8 * 3 });
  });

  test('concurrent requests share one decode', async () => {
    const decoder = new ImageDecoder({ size: 8 });

    const results = await Promise.all([decoder.decode(files[1]), decoder.decode(files[1]), decoder.decode(files[1])]);

    expect(results[1]).toBe(results[0]);
    expect(results[2]).toBe(results[0]);
    expect(decoder.stats().misses).toBe(1);
  });

  test('cache stays within its byte bound', async () => {
    const imageBytes = 8 * 8 * 3;
    const decoder = new ImageDecoder({ size: 8, cacheBytes: 2 * imageBytes });

    for (const file of files) {
      await decoder.decode(file);
    }
    await decoder.decode(files[0]); // evicted: least recently used

    expect(decoder.stats().entries).toBe(2);
    expect(decoder.stats().bytes).toBeLessThanOrEqual(2 * imageBytes);
    expect(decoder.stats().misses).toBe(5);
  });

  test('zero cache bytes disables the cache', async () => {
    const decoder = new ImageDecoder({ size: 8, cacheBytes: 0 });

    await decoder.decode(files[2]);
    await decoder.decode(files[2]);

    expect(decoder.stats()).toEqual({ hits: 0, misses: 2, entries: 0, bytes: 0 });
  });

  test('failed decode is not cached', async () => {
    const decoder = new ImageDecoder({ size: 8 });
    const missing = path.join(dir, 'gone.png');

    await expect(decoder.decode(missing)).rejects.toBeInstanceOf(ImageDecodeError);
    await expect(decoder.decode(missing)).rejects.toBeInstanceOf(ImageDecodeError);
    expect(decoder.stats().misses).toBe(2);
  });

  test('invalid size is rejected', () => {
    expect(() => new ImageDecoder({ size: 0 })).toThrow(/ImageDecoderArgs.size/);
    expect(() => new ImageDecoder({ size: 8, cacheBytes: -1 })).toThrow(/cacheBytes/);
  });
});
