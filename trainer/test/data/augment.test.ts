import {
  type AugmentParams,
  NO_AUGMENTATION,
  ORIGINAL_AUGMENTATION,
  Random,
  augmentImage,
  resolveAugmentArgs,
  sampleAugmentParams,
  transformImage,
} from '../../src/data';
import { sourceMatrix } from '../../src/data/augment';
import { patternPixels } from './fixtures';

const SIZE = 12;
const identity: AugmentParams = {
  rotation: 0,
  shear: 0,
  zoomRows: 1,
  zoomColumns: 1,
  flipHorizontal: false,
  flipVertical: false,
};

function pixel(image: ArrayLike<number>, row: number, column: number, width = SIZE): number[] {
  const o = (row * width + column) * 3;
  return [image[o], image[o + 1], image[o + 2]];
}

function unitImage(salt = 0): Float32Array {
  return Float32Array.from(patternPixels(SIZE, SIZE, 3, salt), (v) => v / 255);
}

describe('resolveAugmentArgs', () => {
  test('defaults equal the original', () => {
    expect(resolveAugmentArgs()).toEqual({
      flipHorizontal: true,
      flipVertical: true,
      zoom: 0.2,
      shear: 0.2,
      rotation: 30,
      interpolation: 'bilinear',
    });
    expect(resolveAugmentArgs({})).toEqual(ORIGINAL_AUGMENTATION);
  });

  test('invalid values name the field', () => {
    expect(() => resolveAugmentArgs({ zoom: -0.1 })).toThrow(/augment\.zoom/);
    expect(() => resolveAugmentArgs({ rotation: 270 })).toThrow(/augment\.rotation/);
    expect(() => resolveAugmentArgs({ shear: Number.NaN })).toThrow(/augment\.shear/);
    expect(() => resolveAugmentArgs({ flipVertical: 'yes' as unknown as boolean })).toThrow(/augment\.flipVertical/);
    expect(() => resolveAugmentArgs({ interpolation: 'cubic' as 'nearest' })).toThrow(/augment\.interpolation/);
  });
});

describe('sampleAugmentParams', () => {
  test('draws stay within the original ranges', () => {
    const random = new Random(5);
    const draws = Array.from({ length: 2000 }, () => sampleAugmentParams(ORIGINAL_AUGMENTATION, random));
    const max = (values: number[]) => Math.max(...values);
    const min = (values: number[]) => Math.min(...values);
    const horizontal = draws.filter((p) => p.flipHorizontal).length;
    const vertical = draws.filter((p) => p.flipVertical).length;

    expect(max(draws.map((p) => Math.abs(p.rotation)))).toBeLessThanOrEqual(Math.PI / 6);
    expect(max(draws.map((p) => Math.abs(p.rotation)))).toBeGreaterThan(Math.PI / 6 - 0.01);
    expect(max(draws.map((p) => Math.abs(p.shear)))).toBeLessThanOrEqual(0.2);
    expect(min(draws.map((p) => p.zoomRows))).toBeGreaterThanOrEqual(0.8);
    expect(max(draws.map((p) => p.zoomRows))).toBeLessThanOrEqual(1.2);
    expect(min(draws.map((p) => p.zoomColumns))).toBeGreaterThanOrEqual(0.8);
    expect(max(draws.map((p) => p.zoomColumns))).toBeLessThanOrEqual(1.2);

    expect(horizontal).toBeGreaterThan(900);
    expect(horizontal).toBeLessThan(1100);
    expect(vertical).toBeGreaterThan(900);
    expect(vertical).toBeLessThan(1100);
  });

  test('switched-off parts stay neutral', () => {
    const random = new Random(6);

    for (let i = 0; i < 100; i++) {
      expect(sampleAugmentParams(NO_AUGMENTATION, random)).toEqual(identity);
    }
  });

  test('switching one part off keeps the others', () => {
    const withRotation = sampleAugmentParams(ORIGINAL_AUGMENTATION, new Random(7));
    const without = sampleAugmentParams({ ...ORIGINAL_AUGMENTATION, rotation: 0 }, new Random(7));

    expect(without.rotation).toBe(0);
    expect(without.shear).toBe(withRotation.shear);
    expect(without.zoomRows).toBe(withRotation.zoomRows);
    expect(without.flipVertical).toBe(withRotation.flipVertical);
  });
});

describe('sourceMatrix', () => {
  test('shear angle is in radians', () => {
    const [a, b, c, d] = sourceMatrix({ ...identity, shear: 0.2 });

    expect(a).toBeCloseTo(1, 12);
    expect(b).toBeCloseTo(-Math.sin(0.2), 12);
    expect(c).toBeCloseTo(0, 12);
    expect(d).toBeCloseTo(Math.cos(0.2), 12);
  });

  test('zoom scales the source offsets', () => {
    const [a, b, c, d] = sourceMatrix({ ...identity, zoomRows: 1.2, zoomColumns: 0.8 });

    expect(a).toBeCloseTo(1.2, 12);
    expect(b).toBeCloseTo(0, 12);
    expect(c).toBeCloseTo(0, 12);
    expect(d).toBeCloseTo(0.8, 12);
  });
});

describe('transformImage', () => {
  test('identity copies exactly', () => {
    const source = unitImage();

    const out = transformImage(source, SIZE, SIZE, identity, 'bilinear');

    expect(out).toEqual(source);
  });

  test('all switches off is identity', () => {
    const source = unitImage(1);
    const out = augmentImage(source, SIZE, SIZE, resolveAugmentArgs(NO_AUGMENTATION), new Random(1));

    expect(out).toEqual(source);
  });

  test('8-bit source is scaled', () => {
    const bytes = patternPixels(SIZE, SIZE, 3);

    const out = transformImage(bytes, SIZE, SIZE, identity, 'bilinear', { scale: 1 / 255 });

    expect(out[7]).toBeCloseTo(bytes[7] / 255, 6);
  });

  test('horizontal flip mirrors columns exactly', () => {
    const source = unitImage();

    const out = transformImage(source, SIZE, SIZE, { ...identity, flipHorizontal: true }, 'bilinear');

    for (let row = 0; row < SIZE; row++) {
      for (let column = 0; column < SIZE; column++) {
        expect(pixel(out, row, column)).toEqual(pixel(source, row, SIZE - 1 - column));
      }
    }
  });

  test('vertical flip mirrors rows exactly', () => {
    const source = unitImage();

    const out = transformImage(source, SIZE, SIZE, { ...identity, flipVertical: true }, 'bilinear');

    for (let row = 0; row < SIZE; row++) {
      for (let column = 0; column < SIZE; column++) {
        expect(pixel(out, row, column)).toEqual(pixel(source, SIZE - 1 - row, column));
      }
    }
  });

  test('quarter turn moves pixels', () => {
    const source = unitImage();

    const out = transformImage(source, SIZE, SIZE, { ...identity, rotation: Math.PI / 2 }, 'bilinear');

    // Output (r, c) samples source (size-1-c, r) under rotation [[cos, -sin], [sin, cos]].
    for (let row = 0; row < SIZE; row++) {
      for (let column = 0; column < SIZE; column++) {
        const expected = pixel(source, SIZE - 1 - column, row);
        const actual = pixel(out, row, column);
        for (let channel = 0; channel < 3; channel++) {
          expect(actual[channel]).toBeCloseTo(expected[channel], 5);
        }
      }
    }
  });

  test('zoom out repeats edge pixels', () => {
    const source = unitImage();

    const out = transformImage(source, SIZE, SIZE, { ...identity, zoomRows: 3, zoomColumns: 3 }, 'bilinear');

    expect(pixel(out, 0, 0)).toEqual(pixel(source, 0, 0));
    expect(pixel(out, SIZE - 1, SIZE - 1)).toEqual(pixel(source, SIZE - 1, SIZE - 1));
    expect(pixel(out, 0, SIZE - 1)).toEqual(pixel(source, 0, SIZE - 1));
  });

  test('nearest sampling returns source values', () => {
    const source = unitImage();
    const values = new Set(source);
    const params = sampleAugmentParams(ORIGINAL_AUGMENTATION, new Random(3));

    const out = transformImage(source, SIZE, SIZE, params, 'nearest');

    for (const value of out) {
      expect(values.has(value)).toBe(true);
    }
  });

  test('output stays in the unit range', () => {
    const random = new Random(11);
    const source = unitImage();

    for (let i = 0; i < 50; i++) {
      const out = augmentImage(source, SIZE, SIZE, ORIGINAL_AUGMENTATION, random);
      expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...out)).toBeLessThanOrEqual(1);
    }
  });

  test('same seed gives the same image', () => {
    const source = unitImage();

    const first = augmentImage(source, SIZE, SIZE, ORIGINAL_AUGMENTATION, new Random(21, 4));
    const second = augmentImage(source, SIZE, SIZE, ORIGINAL_AUGMENTATION, new Random(21, 4));
    const other = augmentImage(source, SIZE, SIZE, ORIGINAL_AUGMENTATION, new Random(21, 5));

    expect(second).toEqual(first);
    expect(other).not.toEqual(first);
  });

  test('writes at an offset', () => {
    const source = unitImage();
    const out = new Float32Array(source.length * 2).fill(-1);

    transformImage(source, SIZE, SIZE, identity, 'bilinear', { out, outOffset: source.length });

    expect(out[0]).toBe(-1);
    expect(out.subarray(source.length)).toEqual(source);
  });

  test('size mismatch is rejected', () => {
    expect(() => transformImage(new Float32Array(10), SIZE, SIZE, identity, 'bilinear')).toThrow(/expected 12×12×3/);
    expect(() =>
      transformImage(unitImage(), SIZE, SIZE, identity, 'bilinear', { out: new Float32Array(5) }),
    ).toThrow(/too few/);
  });
});
