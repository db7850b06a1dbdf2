import { compareKernel, type HostTensor, hostTensor, setUpBackends } from './helpers';

beforeAll(setUpBackends);

function boolTensor(shape: number[], seed: number): HostTensor {
  const source = hostTensor(shape, seed);
  return { values: Uint8Array.from(source.values, (value) => (value > 0 ? 1 : 0)), shape, dtype: 'bool' };
}

describe('Tile on wasm', () => {
  test.each([
    [[1, 1, 1, 5], [3, 4, 2, 1]],
    [[2, 3], [2, 2]],
    [[4], [3]],
    [[2, 1, 3], [1, 5, 2]],
    [[3, 2], [1, 1]],
    [[2, 2], [0, 3]],
  ])('input %p, reps %p', async (shape, reps) => {
    const { cpu, wasm } = await compareKernel('Tile', { x: hostTensor(shape, 91) }, { reps });

    expect(wasm.shape).toEqual(cpu.shape);
    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
  });

  test('int32 values are copied exactly', async () => {
    const x: HostTensor = { values: new Int32Array([7, -3]), shape: [2], dtype: 'int32' };

    const { wasm } = await compareKernel('Tile', { x }, { reps: [3] });

    expect(Array.from(wasm.values)).toEqual([7, -3, 7, -3, 7, -3]);
  });
});

describe('comparison fast paths on wasm', () => {
  const shapes: Array<[string, number[], number[]]> = [
    ['same shape', [4, 5, 6], [4, 5, 6]],
    ['scalar right', [4, 5, 6], []],
    ['scalar left', [], [4, 5, 6]],
    ['size-1 right of lower rank', [4, 5, 6], [1, 1]],
    ['broadcast row', [4, 5, 6], [6]],
  ];

  for (const kernelName of ['Greater', 'GreaterEqual', 'Less', 'LessEqual']) {
    test.each(shapes)(`${kernelName}, %s`, async (_case, shapeA, shapeB) => {
      const a = hostTensor(shapeA, 101);
      const b = hostTensor(shapeB, 102);
      // Exact ties between a and b exercise the "or equal" variants.
      if (shapeA.length === shapeB.length) {
        b.values.set(a.values.subarray(0, 10));
      }

      const { cpu, wasm } = await compareKernel(kernelName, { a, b }, {});

      expect(wasm.shape).toEqual(cpu.shape);
      expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
    });
  }

  test('LogicalAnd of bool tensors', async () => {
    const a = boolTensor([3, 7], 111);
    const b = boolTensor([3, 7], 112);

    const { cpu, wasm } = await compareKernel('LogicalAnd', { a, b }, {});

    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
  });
});
