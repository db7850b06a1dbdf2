import sharp from 'sharp';

import { Random, hashSeed } from '../../src/data';
import { crc32, encodePng } from '../../src/data/png';
import { patternPixels } from './fixtures';

describe('Random', () => {
  test('same seed repeats the sequence', () => {
    const a = new Random(1, 2, 3);
    const b = new Random(1, 2, 3);

    for (let i = 0; i < 100; i++) {
      expect(a.nextUint32()).toBe(b.nextUint32());
    }
  });

  test('seed parts above 2^32 matter', () => {
    expect(hashSeed(2 ** 32 + 5)).not.toBe(hashSeed(5));
    expect(hashSeed(1, 2)).not.toBe(hashSeed(2, 1));
  });

  test('nextInt stays in range and covers it', () => {
    const random = new Random(9);
    const values = Array.from({ length: 7000 }, () => random.nextInt(7));
    const seen = new Array<number>(7).fill(0);
    for (const value of values) {
      seen[value]++;
    }

    expect(values.every(Number.isInteger)).toBe(true);
    expect(Math.min(...values)).toBe(0);
    expect(Math.max(...values)).toBe(6);
    for (const count of seen) {
      expect(count).toBeGreaterThan(850);
      expect(count).toBeLessThan(1150);
    }
  });

  test('uniform stays in its interval', () => {
    const random = new Random(10);
    const values = Array.from({ length: 5000 }, () => random.uniform(-2, 3));
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;

    expect(Math.min(...values)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...values)).toBeLessThan(3);
    expect(mean).toBeGreaterThan(0.4);
    expect(mean).toBeLessThan(0.6);
  });

  test('invalid bound is rejected', () => {
    expect(() => new Random(1).nextInt(0)).toThrow(RangeError);
    expect(() => new Random(1).nextInt(2.5)).toThrow(/nextInt bound/);
  });
});

describe('encodePng', () => {
  test('crc32 matches the check value', () => {
    expect(crc32(Buffer.from('123456789', 'ascii'))).toBe(0xcbf43926);
  });

  test('grayscale round-trips through sharp', async () => {
    const gray = patternPixels(28, 28, 1);

    const { data, info } = await sharp(encodePng(gray, 28, 28, 1)).raw().toBuffer({ resolveWithObject: true });

    expect(info.width).toBe(28);
    expect(info.height).toBe(28);
    expect(Uint8Array.from({ length: 28 * 28 }, (_, p) => data[p * info.channels])).toEqual(gray);
  });

  test('RGB round-trips through sharp', async () => {
    const rgb = patternPixels(5, 3, 3);

    const { data, info } = await sharp(encodePng(rgb, 5, 3, 3)).raw().toBuffer({ resolveWithObject: true });

    expect(info.channels).toBe(3);
    expect(new Uint8Array(data)).toEqual(rgb);
  });

  test('wrong pixel count is rejected', () => {
    expect(() => encodePng(new Uint8Array(10), 4, 4, 1)).toThrow(/expected 4×4×1/);
  });
});
