/**
 * The original's training augmentation: a random affine transform
 * (rotation, shear, zoom) about the image centre, then random horizontal and
 * vertical flips, on RGB images in height × width × channel order. Points
 * that map outside the source take the nearest edge pixel ("nearest" fill).
 *
 * The original used its own copy of an early Keras 2 ImageDataGenerator, so:
 * - rotation is in degrees, drawn from [-rotation, rotation];
 * - shear is an angle in radians, drawn from [-shear, shear]. Keras
 *   switched shear_range to degrees in December 2017 (keras-team/keras pull
 *   request 8868), under which 0.2 would be an almost invisible 0.2°;
 * - zoom draws the row and column factors independently from
 *   [1 - zoom, 1 + zoom]; a factor above 1 samples a larger source area, so
 *   the content shrinks;
 * - the flips come after the affine transform, each with probability 0.5.
 *
 * Porting notes: the original sampled with nearest-neighbour interpolation
 * (scipy's affine_transform with order=0); the default here is bilinear and
 * `interpolation: 'nearest'` reproduces the original. The original turned
 * about the point (size/2 + 0.5), one pixel past the true centre
 * ((size - 1)/2) used here, so its transformed images sat up to about a
 * pixel off centre.
 */
import { RGB_CHANNELS } from './layout';
import { Random } from './random';

export type Interpolation = 'bilinear' | 'nearest';

export interface AugmentArgs {
  /** Mirror left-right with probability 0.5. Default true. */
  flipHorizontal?: boolean;
  /** Mirror top-bottom with probability 0.5. Default true. */
  flipVertical?: boolean;
  /** Zoom range as a fraction: each axis is scaled by a factor from [1 - zoom, 1 + zoom]. Default 0.2; 0 switches zoom off. */
  zoom?: number;
  /** Shear range in radians. Default 0.2; 0 switches shear off. */
  shear?: number;
  /** Rotation range in degrees. Default 30; 0 switches rotation off. */
  rotation?: number;
  /** Sampling of the transformed image. Default 'bilinear'; 'nearest' matches the original. */
  interpolation?: Interpolation;
}

/** The original's training augmentation (see the module comment). */
export const ORIGINAL_AUGMENTATION: Readonly<Required<AugmentArgs>> = Object.freeze({
  flipHorizontal: true,
  flipVertical: true,
  zoom: 0.2,
  shear: 0.2,
  rotation: 30,
  interpolation: 'bilinear',
});

/** Augmentation with every part switched off: the identity. */
export const NO_AUGMENTATION: Readonly<Required<AugmentArgs>> = Object.freeze({
  flipHorizontal: false,
  flipVertical: false,
  zoom: 0,
  shear: 0,
  rotation: 0,
  interpolation: 'bilinear',
});

/** The random draws for one image. */
export interface AugmentParams {
  /** Rotation angle in radians. */
  rotation: number;
  /** Shear angle in radians. */
  shear: number;
  zoomRows: number;
  zoomColumns: number;
  flipHorizontal: boolean;
  flipVertical: boolean;
}

function checkRange(value: unknown, field: string, max: number, unit: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    throw new RangeError(`augment.${field} must be a number of ${unit} in [0, ${max}], got ${String(value)}`);
  }
  return value;
}

function checkFlag(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`augment.${field} must be true or false, got ${String(value)}`);
  }
  return value;
}

/** Fills in the original's defaults and validates every field. */
export function resolveAugmentArgs(args: AugmentArgs = {}): Required<AugmentArgs> {
  const merged = { ...ORIGINAL_AUGMENTATION, ...args };
  if (merged.interpolation !== 'bilinear' && merged.interpolation !== 'nearest') {
    throw new TypeError(
      `augment.interpolation must be "bilinear" or "nearest", got ${JSON.stringify(merged.interpolation)}`,
    );
  }
  return {
    flipHorizontal: checkFlag(merged.flipHorizontal, 'flipHorizontal'),
    flipVertical: checkFlag(merged.flipVertical, 'flipVertical'),
    zoom: checkRange(merged.zoom, 'zoom', 0.99, 'fractions'),
    shear: checkRange(merged.shear, 'shear', Math.PI / 2 - 0.01, 'radians'),
    rotation: checkRange(merged.rotation, 'rotation', 180, 'degrees'),
    interpolation: merged.interpolation,
  };
}

/**
 * Draws one image's parameters. Every draw happens whether or not its part
 * is switched on, so switching one part off leaves the others' values as
 * they were for the same generator state.
 */
export function sampleAugmentParams(args: Required<AugmentArgs>, random: Random): AugmentParams {
  const rotationDegrees = random.uniform(-args.rotation, args.rotation);
  const shear = random.uniform(-args.shear, args.shear);
  const zoomRows = random.uniform(1 - args.zoom, 1 + args.zoom);
  const zoomColumns = random.uniform(1 - args.zoom, 1 + args.zoom);
  const flipHorizontal = random.nextFloat() < 0.5;
  const flipVertical = random.nextFloat() < 0.5;

  return {
    rotation: args.rotation === 0 ? 0 : (rotationDegrees * Math.PI) / 180,
    shear: args.shear === 0 ? 0 : shear,
    zoomRows: args.zoom === 0 ? 1 : zoomRows,
    zoomColumns: args.zoom === 0 ? 1 : zoomColumns,
    flipHorizontal: args.flipHorizontal && flipHorizontal,
    flipVertical: args.flipVertical && flipVertical,
  };
}

/**
 * Returns the 2×2 matrix that maps an output offset from the centre
 * (row, column) to the source offset: rotation · shear · zoom, as the
 * original composed them.
 */
export function sourceMatrix(params: AugmentParams): [number, number, number, number] {
  const cos = Math.cos(params.rotation);
  const sin = Math.sin(params.rotation);
  const shearSin = Math.sin(params.shear);
  const shearCos = Math.cos(params.shear);
  // rotation [[cos, -sin], [sin, cos]] times shear [[1, -shearSin], [0, shearCos]]
  const a = cos;
  const b = -cos * shearSin - sin * shearCos;
  const c = sin;
  const d = -sin * shearSin + cos * shearCos;
  // times zoom diag(zoomRows, zoomColumns)
  return [a * params.zoomRows, b * params.zoomColumns, c * params.zoomRows, d * params.zoomColumns];
}

export interface TransformTarget {
  /** Array that receives the image; default a new Float32Array. */
  out?: Float32Array;
  /** Index in out of the image's first value. Default 0. */
  outOffset?: number;
  /** Factor applied to every source value, e.g. 1/255 for 8-bit input. Default 1. */
  scale?: number;
}

function isIdentity(params: AugmentParams): boolean {
  return params.rotation === 0 && params.shear === 0 && params.zoomRows === 1 && params.zoomColumns === 1;
}

/**
 * Applies params to an RGB image of height × width pixels (HWC order) and
 * writes the result, times `scale`, to `out` at `outOffset`. With every part
 * off the output equals the input times `scale` exactly.
 */
export function transformImage(
  source: Float32Array | Uint8Array,
  height: number,
  width: number,
  params: AugmentParams,
  interpolation: Interpolation,
  target: TransformTarget = {},
): Float32Array {
  const length = height * width * RGB_CHANNELS;
  if (source.length !== length) {
    throw new RangeError(`source has ${source.length} values, expected ${height}×${width}×${RGB_CHANNELS} = ${length}`);
  }
  const out = target.out ?? new Float32Array(length);
  const offset = target.outOffset ?? 0;
  const scale = target.scale ?? 1;
  if (offset < 0 || offset + length > out.length) {
    throw new RangeError(`out has ${out.length} values, too few for an image of ${length} at offset ${offset}`);
  }

  const identity = isIdentity(params);
  const [m00, m01, m10, m11] = sourceMatrix(params);
  const centreRow = (height - 1) / 2;
  const centreColumn = (width - 1) / 2;
  const maxRow = height - 1;
  const maxColumn = width - 1;

  for (let row = 0; row < height; row++) {
    const outRow = params.flipVertical ? maxRow - row : row;
    const dRow = row - centreRow;
    for (let column = 0; column < width; column++) {
      const outColumn = params.flipHorizontal ? maxColumn - column : column;
      const o = offset + (outRow * width + outColumn) * RGB_CHANNELS;

      if (identity) {
        const s = (row * width + column) * RGB_CHANNELS;
        out[o] = source[s] * scale;
        out[o + 1] = source[s + 1] * scale;
        out[o + 2] = source[s + 2] * scale;
        continue;
      }

      const dColumn = column - centreColumn;
      let y = m00 * dRow + m01 * dColumn + centreRow;
      let x = m10 * dRow + m11 * dColumn + centreColumn;
      // "nearest" fill: clamping the coordinate repeats the edge pixels.
      y = Math.min(Math.max(y, 0), maxRow);
      x = Math.min(Math.max(x, 0), maxColumn);

      if (interpolation === 'nearest') {
        const s = (Math.round(y) * width + Math.round(x)) * RGB_CHANNELS;
        out[o] = source[s] * scale;
        out[o + 1] = source[s + 1] * scale;
        out[o + 2] = source[s + 2] * scale;
        continue;
      }

      const y0 = Math.floor(y);
      const x0 = Math.floor(x);
      const y1 = y0 < maxRow ? y0 + 1 : maxRow;
      const x1 = x0 < maxColumn ? x0 + 1 : maxColumn;
      const fy = y - y0;
      const fx = x - x0;
      const w00 = (1 - fy) * (1 - fx) * scale;
      const w01 = (1 - fy) * fx * scale;
      const w10 = fy * (1 - fx) * scale;
      const w11 = fy * fx * scale;
      const s00 = (y0 * width + x0) * RGB_CHANNELS;
      const s01 = (y0 * width + x1) * RGB_CHANNELS;
      const s10 = (y1 * width + x0) * RGB_CHANNELS;
      const s11 = (y1 * width + x1) * RGB_CHANNELS;
      for (let channel = 0; channel < RGB_CHANNELS; channel++) {
        out[o + channel] =
          w00 * source[s00 + channel] +
          w01 * source[s01 + channel] +
          w10 * source[s10 + channel] +
          w11 * source[s11 + channel];
      }
    }
  }

  return out;
}

/** Draws parameters from random and applies them (see transformImage). */
export function augmentImage(
  source: Float32Array | Uint8Array,
  height: number,
  width: number,
  args: Required<AugmentArgs>,
  random: Random,
  target: TransformTarget = {},
): Float32Array {
  const params = sampleAugmentParams(args, random);
  return transformImage(source, height, width, params, args.interpolation, target);
}
