import type { TensorInfo } from '@tensorflow/tfjs';

import type { FastPath } from './fast-path';
import type { HeapBackend } from './heap';

type HeapArray = Float32Array | Int32Array | Uint8Array;

/** Writes 1 or 0 per element. A step of 0 repeats an input's single value. */
type CompareLoop = (left: HeapArray, leftStep: number, right: HeapArray, rightStep: number, result: HeapArray) => void;

/**
 * Element-wise comparisons and LogicalAnd as JavaScript loops over the wasm
 * heap, for inputs of the same shape or where one input is a single value.
 *
 * The shipped wasm kernels measured 20 to 35 ns per element here, against
 * about 1.5 ns for Add, and tfjs's gradients of clipByValue (which the
 * layers' ReLU with maxValue uses) and relu6 run three of them on every
 * activation. Other broadcasts fall back to the shipped kernels.
 */
function comparison(compare: CompareLoop): FastPath {
  return ({ inputs, backend }) => {
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    if (a.dtype === 'string' || b.dtype === 'string' || a.dtype === 'complex64' || b.dtype === 'complex64') {
      return undefined;
    }
    const sizeA = a.shape.reduce((product, size) => product * size, 1);
    const sizeB = b.shape.reduce((product, size) => product * size, 1);
    const sameShape = a.shape.length === b.shape.length && a.shape.every((size, axis) => size === b.shape[axis]);
    if (!sameShape && sizeA !== 1 && sizeB !== 1) {
      return undefined;
    }
    const outShape = broadcastShape(a.shape, b.shape, sameShape, sizeA, sizeB);
    if (outShape === undefined) {
      return undefined;
    }

    const heap = backend as HeapBackend;
    // Allocate before taking heap views: growing the wasm memory detaches them.
    const out = heap.makeOutput(outShape, 'bool');
    const left = heap.typedArrayFromHeap(a);
    const right = heap.typedArrayFromHeap(b);
    const result = heap.typedArrayFromHeap(out);
    compare(left, sizeA === 1 && !sameShape ? 0 : 1, right, sizeB === 1 && !sameShape ? 0 : 1, result);
    return out;
  };
}

/** Returns the output shape when one input is a single value of no higher rank than the other. */
function broadcastShape(
  shapeA: number[],
  shapeB: number[],
  sameShape: boolean,
  sizeA: number,
  sizeB: number,
): number[] | undefined {
  if (sameShape) {
    return shapeA;
  }
  if (sizeB === 1 && shapeA.length >= shapeB.length) {
    return shapeA;
  }
  if (sizeA === 1 && shapeB.length >= shapeA.length) {
    return shapeB;
  }
  return undefined;
}

// One loop per operation, not one loop calling a predicate: closures created
// at one site share V8's type feedback, and the shared call site then turns
// megamorphic. The loops convert each comparison to a number instead of
// branching on it, because random signs make branches mispredict (15 ns
// against 4 ns per element here).
export const COMPARISON_FAST_PATHS: Record<string, FastPath> = {
  Greater: comparison((left, leftStep, right, rightStep, result) => {
    for (let i = 0; i < result.length; i++) {
      result[i] = +(left[i * leftStep] > right[i * rightStep]);
    }
  }),
  GreaterEqual: comparison((left, leftStep, right, rightStep, result) => {
    for (let i = 0; i < result.length; i++) {
      result[i] = +(left[i * leftStep] >= right[i * rightStep]);
    }
  }),
  Less: comparison((left, leftStep, right, rightStep, result) => {
    for (let i = 0; i < result.length; i++) {
      result[i] = +(left[i * leftStep] < right[i * rightStep]);
    }
  }),
  LessEqual: comparison((left, leftStep, right, rightStep, result) => {
    for (let i = 0; i < result.length; i++) {
      result[i] = +(left[i * leftStep] <= right[i * rightStep]);
    }
  }),
  LogicalAnd: comparison((left, leftStep, right, rightStep, result) => {
    for (let i = 0; i < result.length; i++) {
      result[i] = +(left[i * leftStep] !== 0) & +(right[i * rightStep] !== 0);
    }
  }),
};
