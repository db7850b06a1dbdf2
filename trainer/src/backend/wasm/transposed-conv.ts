import type { TensorInfo } from '@tensorflow/tfjs';

import type { ExplicitPadding, KernelScope } from './kernel-scope';

/** Sizes of a strided 2-D window operation (convolution or pooling) on an NHWC input, which its input gradient needs. */
export interface WindowGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/**
 * One stride phase along one axis: the input rows `r` with
 * `r % stride === residue` receive contributions only from the filter taps
 * `firstTap, firstTap + stride, …` (`taps` of them).
 */
export interface AxisPhase {
  firstTap: number;
  taps: number;
  /** Stride-1 convolution padding of dy before and after this axis. */
  padBefore: number;
  padAfter: number;
  /** Rows to drop from the start of the convolution output. */
  cropBegin: number;
}

/** Filter taps and stride-1 padding of one 2-D phase, as a phase convolution needs them. */
export interface PhaseSpec {
  /** First tap `[row, column]`. The phase uses every stride-th tap from there. */
  firstTap: [number, number];
  /** Number of taps `[rows, columns]`, both at least 1. */
  taps: [number, number];
  pad: ExplicitPadding;
}

/**
 * Splits one axis of a transposed convolution into its stride phases.
 *
 * Input row `r` (0-based, unpadded) sits at padded position `P = r + padBefore`.
 * Output row `q` covers padded positions `q * stride + tap`, so `P` receives
 * `dy[q]` through tap `P - q * stride`. Rows with the same residue
 * `r % stride` share one sub-filter (every stride-th tap), which turns the
 * strided transposed convolution into `stride` stride-1 correlations with
 * `ceil(inSize / stride)` rows each. Phase `residue` row `j` is input row
 * `residue + j * stride`.
 */
export function axisPhases(
  inSize: number,
  outSize: number,
  filterSize: number,
  stride: number,
  padBefore: number,
): { phases: AxisPhase[]; rowsPerPhase: number } {
  const rowsPerPhase = Math.ceil(inSize / stride);
  const phases: AxisPhase[] = [];

  for (let residue = 0; residue < stride; residue++) {
    const firstTap = (residue + padBefore) % stride;
    const taps = firstTap < filterSize ? Math.ceil((filterSize - firstTap) / stride) : 0;
    // Output row of dy whose tap `firstTap` lands on input row `residue`.
    const firstOutputRow = (padBefore + residue - firstTap) / stride;

    const exactPadBefore = taps - 1 - firstOutputRow;
    const exactPadAfter = firstOutputRow + rowsPerPhase - outSize;
    const padBeforePhase = Math.max(0, exactPadBefore);
    phases.push({
      firstTap,
      taps,
      padBefore: padBeforePhase,
      padAfter: Math.max(0, exactPadAfter),
      cropBegin: padBeforePhase - exactPadBefore,
    });
  }
  return { phases, rowsPerPhase };
}

/**
 * Computes the input gradient of a strided 2-D window operation as a set of
 * stride-1 convolutions, one per stride phase, and interleaves their outputs.
 *
 * `phaseConv` receives dy's phase spec and must return
 * `[batch, rows, cols, channels]` for the stride-1 convolution of dy with the
 * phase's reversed sub-filter under `spec.pad`. Phases without taps are zero.
 * The total work equals that of the direct transposed convolution: no zeros
 * are inserted between dy's rows.
 */
export function phaseTransposedConv(
  scope: KernelScope,
  geometry: WindowGeometry,
  channels: number,
  phaseConv: (spec: PhaseSpec) => TensorInfo,
): TensorInfo {
  const rows = axisPhases(
    geometry.inHeight,
    geometry.outHeight,
    geometry.filterHeight,
    geometry.strideHeight,
    geometry.padTop,
  );
  const cols = axisPhases(
    geometry.inWidth,
    geometry.outWidth,
    geometry.filterWidth,
    geometry.strideWidth,
    geometry.padLeft,
  );
  const phaseShape = [geometry.batchSize, rows.rowsPerPhase, cols.rowsPerPhase, channels];

  const phaseOutputs: TensorInfo[] = [];
  for (const rowPhase of rows.phases) {
    for (const colPhase of cols.phases) {
      phaseOutputs.push(runPhase(scope, rowPhase, colPhase, phaseShape, phaseConv));
    }
  }

  if (phaseOutputs.length === 1) {
    return phaseOutputs[0];
  }
  return interleavePhases(scope, phaseOutputs, geometry, phaseShape);
}

function runPhase(
  scope: KernelScope,
  rowPhase: AxisPhase,
  colPhase: AxisPhase,
  phaseShape: number[],
  phaseConv: (spec: PhaseSpec) => TensorInfo,
): TensorInfo {
  if (rowPhase.taps === 0 || colPhase.taps === 0) {
    return scope.fill(phaseShape, 0);
  }

  const convolved = phaseConv({
    firstTap: [rowPhase.firstTap, colPhase.firstTap],
    taps: [rowPhase.taps, colPhase.taps],
    pad: [
      [0, 0],
      [rowPhase.padBefore, rowPhase.padAfter],
      [colPhase.padBefore, colPhase.padAfter],
      [0, 0],
    ],
  });

  const [, height, width] = convolved.shape;
  const needsCrop =
    rowPhase.cropBegin !== 0 ||
    colPhase.cropBegin !== 0 ||
    height !== phaseShape[1] ||
    width !== phaseShape[2];
  if (!needsCrop) {
    return convolved;
  }
  return scope.slice(convolved, [0, rowPhase.cropBegin, colPhase.cropBegin, 0], phaseShape);
}

/**
 * Interleaves the stride phases `[rowResidue][colResidue]` (row-major in
 * `phaseOutputs`) into one `[batch, inHeight, inWidth, channels]` tensor.
 *
 * Concatenated along channels, the phases form `[batch·J, J', sh, sw·C]` in
 * memory. Swapping axes 1 and 2 gives `[batch·J, sh, J', sw·C]`, which is the
 * interleaved `[batch, J·sh, J'·sw, C]`. The wasm backend's rank-4 transpose
 * is fast, unlike its DepthToSpace and rank-6 transpose (10 to 30 times
 * slower here).
 */
function interleavePhases(
  scope: KernelScope,
  phaseOutputs: TensorInfo[],
  geometry: WindowGeometry,
  phaseShape: number[],
): TensorInfo {
  const [batch, rowsPerPhase, colsPerPhase, channels] = phaseShape;
  const { strideHeight, strideWidth } = geometry;

  const stacked = scope.reshape(scope.concat(phaseOutputs, 3), [
    batch * rowsPerPhase,
    colsPerPhase,
    strideHeight,
    strideWidth * channels,
  ]);
  const interleaved = scope.reshape(scope.transpose(stacked, [0, 2, 1, 3]), [
    batch,
    rowsPerPhase * strideHeight,
    colsPerPhase * strideWidth,
    channels,
  ]);

  if (rowsPerPhase * strideHeight === geometry.inHeight && colsPerPhase * strideWidth === geometry.inWidth) {
    return interleaved;
  }
  return scope.slice(interleaved, [0, 0, 0, 0], [batch, geometry.inHeight, geometry.inWidth, channels]);
}

/**
 * Returns the phase's taps of a `[kh, kw, A, B]` filter in reversed order,
 * as `[taps[0], taps[1], A, B]`: tap `(t, u)` of the result is filter tap
 * `(firstTap[0] + sh·(taps[0]-1-t), firstTap[1] + sw·(taps[1]-1-u))`.
 *
 * Built from contiguous row slices and one concat because the wasm backend's
 * Reverse and StridedSlice kernels are element-by-element loops (over
 * 100 ns per element here).
 */
export function reversedPhaseTaps(
  scope: KernelScope,
  filter: TensorInfo,
  phase: PhaseSpec,
  strides: [number, number],
): TensorInfo {
  const [filterHeight, filterWidth, depthA, depthB] = filter.shape;
  const tapSize = depthA * depthB;
  const rows = scope.reshape(filter, [filterHeight * filterWidth, tapSize]);

  const taps: TensorInfo[] = [];
  for (let t = 0; t < phase.taps[0]; t++) {
    for (let u = 0; u < phase.taps[1]; u++) {
      const i = phase.firstTap[0] + strides[0] * (phase.taps[0] - 1 - t);
      const j = phase.firstTap[1] + strides[1] * (phase.taps[1] - 1 - u);
      taps.push(scope.slice(rows, [i * filterWidth + j, 0], [1, tapSize]));
    }
  }
  const selected = taps.length === 1 ? taps[0] : scope.concat(taps, 0);
  return scope.reshape(selected, [phase.taps[0], phase.taps[1], depthA, depthB]);
}

/** Depthwise filter sizes with fast XNNPACK kernels in tfjs-backend-wasm 4.22.0 (measured: 1×2 runs 20 times slower than 2×2). */
const FAST_DEPTHWISE_SIZES = [1, 2, 3, 5];

/**
 * Pads a phase's reversed depthwise taps `[rows, cols, C, m]` with leading
 * zero taps to a square size that XNNPACK has a fast kernel for, and widens
 * the phase's leading padding by as much, which leaves the correlation
 * unchanged. Sizes above 5 are returned as they are.
 */
export function squareDepthwiseTaps(
  scope: KernelScope,
  taps: TensorInfo,
  phase: PhaseSpec,
): { filter: TensorInfo; pad: ExplicitPadding } {
  const [rows, cols] = phase.taps;
  const size = FAST_DEPTHWISE_SIZES.find((candidate) => candidate >= Math.max(rows, cols));
  if (size === undefined || (size === rows && size === cols)) {
    return { filter: taps, pad: phase.pad };
  }

  const extraRows = size - rows;
  const extraCols = size - cols;
  const filter = scope.pad(taps, [
    [extraRows, 0],
    [extraCols, 0],
    [0, 0],
    [0, 0],
  ]);
  const [batchPad, [top, bottom], [left, right], channelPad] = phase.pad;
  return {
    filter,
    pad: [batchPad, [top + extraRows, bottom], [left + extraCols, right], channelPad],
  };
}

