import * as tf from '@tensorflow/tfjs';

import { type BackendLogger, selectBackend } from '../../src/backend';

/**
 * Loads packages with `require`, except that the native TensorFlow packages
 * fail as they do on a machine where their optional install could not
 * download libtensorflow, whatever this machine has installed.
 */
function loaderWithout(...missing: string[]): (packageName: string) => unknown {
  return (packageName) => {
    if (missing.includes(packageName)) {
      throw Object.assign(new Error(`Cannot find module '${packageName}'\nRequire stack:\n- select.ts`), {
        code: 'MODULE_NOT_FOUND',
      });
    }
    return require(packageName) as unknown;
  };
}

const NATIVE = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

function recordingLogger(): BackendLogger & { lines: Array<{ fields: object; message: string }> } {
  const lines: Array<{ fields: object; message: string }> = [];
  return {
    lines,
    debug: (fields, message) => lines.push({ fields, message }),
  };
}

describe('selectBackend', () => {
  test('falls back to wasm without native packages', async () => {
    const logger = recordingLogger();

    const info = await selectBackend({ env: {}, loadModule: loaderWithout(...NATIVE), logger });

    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.reason).toBe('tfjs-node-gpu and tfjs-node did not load');
    expect(info.skipped.map((entry) => entry.name)).toEqual(['tfjs-node-gpu', 'tfjs-node']);
    expect(info.skipped[0].error).toBe("Cannot find module '@tensorflow/tfjs-node-gpu'");
    expect(info.threads).toBe(1);
    expect(typeof info.simd).toBe('boolean');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(logger.lines.map((line) => line.message)).toEqual([
      'compute backend unavailable',
      'compute backend unavailable',
    ]);
    expect(logger.lines[0].fields).toEqual({
      backend: 'tfjs-node-gpu',
      err: "Cannot find module '@tensorflow/tfjs-node-gpu'",
    });
  });

  test('picks the first backend that loads', async () => {
    const info = await selectBackend({ env: {} });

    expect(tf.getBackend()).toBe(info.tfjsBackend);
    expect(info.reason).toMatch(/^(tfjs-node-gpu is the first backend that loaded|.* did not load)$/);
  });

  test('falls back to cpu when wasm fails', async () => {
    const info = await selectBackend({
      env: {},
      loadModule: loaderWithout(...NATIVE, '@tensorflow/tfjs-backend-wasm'),
    });

    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.reason).toBe('tfjs-node-gpu and tfjs-node and wasm did not load');
  });

  test('uses the backend named in MILDNET_BACKEND', async () => {
    const info = await selectBackend({ env: { MILDNET_BACKEND: 'cpu' } });

    expect(info.name).toBe('cpu');
    expect(info.reason).toBe('requested');
    expect(info.skipped).toEqual([]);
  });

  test('preferred option overrides the environment', async () => {
    const info = await selectBackend({ preferred: 'wasm', env: { MILDNET_BACKEND: 'cpu' } });

    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  test('unavailable preferred backend rejects', async () => {
    const selection = selectBackend({ preferred: 'tfjs-node-gpu', env: {}, loadModule: loaderWithout(...NATIVE) });

    await expect(selection).rejects.toThrow(
      "Requested compute backend 'tfjs-node-gpu' could not be initialised: " +
        "Cannot find module '@tensorflow/tfjs-node-gpu'. " +
        'Install its package, or unset MILDNET_BACKEND to pick the first backend that loads.',
    );
  });

  test('unknown backend name is rejected', async () => {
    await expect(selectBackend({ env: { MILDNET_BACKEND: 'webgpu' } })).rejects.toThrow(
      "MILDNET_BACKEND is 'webgpu', expected one of tfjs-node-gpu, tfjs-node, wasm, cpu.",
    );
    await expect(selectBackend({ preferred: 'gpu', env: {} })).rejects.toThrow(TypeError);
  });
});
