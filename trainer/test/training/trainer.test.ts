import * as fs from 'node:fs';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { LocalObjectStore, type ObjectStore } from '../../src/storage';
import { listCheckpoints, saveCheckpoint } from '../../src/training/checkpoint';
import { openTripletData } from '../../src/training/data-source';
import type { StepEvent, TrainingObserver } from '../../src/training/events';
import { loadLayersModel } from '../../src/training/model-io';
import { createOptimizer } from '../../src/training/optimizer';
import { FINAL_MODEL_PREFIX, ResumeMismatchError, train, type TrainArgs } from '../../src/training/trainer';
import { buildSmallModel, fashionMnistInstalled, smallConfig, smallFashionMnist, tempDir, useWasm } from './support';

const describeWithData = fashionMnistInstalled() ? describe : describe.skip;
if (!fashionMnistInstalled()) {
  console.warn('Skipping trainer tests: Fashion-MNIST is not installed; run scripts/install-fashion-mnist.sh');
}

jest.setTimeout(120_000);

describeWithData('train', () => {
  let root: string;
  let dataDir: string;

  beforeAll(async () => {
    await useWasm();
    root = tempDir('mildnet-train-');
    dataDir = await smallFashionMnist(root);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  async function run(jobDir: string, config = smallConfig(), extra: Partial<TrainArgs> = {}) {
    const model = buildSmallModel(config);
    const data = await openTripletData({ config, dataDir, cacheDir: path.join(root, 'cache') });
    try {
      return await train({ config, model, data, jobDir: new LocalObjectStore(jobDir), ...extra });
    } finally {
      model.dispose();
      await data.close();
    }
  }

  test('loss falls and tensors do not leak', async () => {
    const steps: StepEvent[] = [];
    const tensorCounts: number[] = [];
    const recorder: TrainingObserver = {
      onStep: (event) => {
        steps.push(event);
        tensorCounts.push(tf.memory().numTensors);
      },
    };
    const jobDir = path.join(root, 'falls');
    const result = await run(jobDir, smallConfig({ epochs: 3 }), { observers: [recorder] });

    expect(result.status).toBe('completed');
    expect(result.history).toHaveLength(3);
    const mean = (events: StepEvent[]): number => events.reduce((sum, e) => sum + e.loss, 0) / events.length;
    expect(mean(steps.slice(-8))).toBeLessThan(mean(steps.slice(0, 8)));
    expect(result.history[2].val_loss).toBeLessThan(result.history[0].val_loss);

    // Every training step leaves the tensor count where the previous step left it.
    const steady = tensorCounts.slice(2);
    expect(new Set(steady).size).toBe(1);
  });

  test('writes the outputs', async () => {
    const jobDir = path.join(root, 'outputs');
    await run(jobDir, smallConfig({ epochs: 1 }));

    const log = fs.readFileSync(path.join(jobDir, 'training_log.csv'), 'utf8').trim().split('\n');
    expect(log[0]).toBe('epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,images_per_second');
    expect(log).toHaveLength(2);
    expect(JSON.parse(fs.readFileSync(path.join(jobDir, 'history.json'), 'utf8'))).toHaveLength(1);
    for (const file of ['best/model.json', 'best/weights.bin', 'final/model.json', 'final/weights.bin']) {
      expect(fs.existsSync(path.join(jobDir, file))).toBe(true);
    }

    // The final model loads back with tf.loadLayersModel and embeds images.
    const model = await loadLayersModel(new LocalObjectStore(jobDir), FINAL_MODEL_PREFIX);
    const embeddings = model.predict(tf.zeros([3, 32, 32, 3])) as tf.Tensor2D;
    expect(embeddings.shape).toEqual([3, 64]);
    tf.dispose([embeddings]);
    model.dispose();
  });

  test('resumes mid-epoch after a stop', async () => {
    const jobDir = path.join(root, 'stop');
    const config = smallConfig({ epochs: 2 });
    const abort = new AbortController();
    const stopAtStep5: TrainingObserver = {
      onStep: (event) => {
        if (event.globalStep === 5) abort.abort();
      },
    };
    const first = await run(jobDir, config, { signal: abort.signal, observers: [stopAtStep5] });
    expect(first.status).toBe('interrupted');
    expect(first.state).toMatchObject({ epoch: 0, stepInEpoch: 5, globalStep: 5 });

    const resumedSteps: number[] = [];
    const second = await run(jobDir, config, {
      observers: [{ onStep: (event) => resumedSteps.push(event.globalStep) }],
    });
    expect(second.status).toBe('completed');
    expect(resumedSteps[0]).toBe(6);
    expect(second.state.globalStep).toBe(2 * (384 / 16));
    expect(second.history.map((r) => r.epoch)).toEqual([1, 2]);
  });

  test('stops at the epoch end when stopped during validation', async () => {
    const jobDir = path.join(root, 'stop-validation');
    const abort = new AbortController();
    const steps: number[] = [];
    const stopInValidation: TrainingObserver = {
      onStep: (event) => steps.push(event.globalStep),
      onValidationStart: () => abort.abort(),
    };
    const result = await run(jobDir, smallConfig({ epochs: 2 }), { signal: abort.signal, observers: [stopInValidation] });
    expect(result.status).toBe('interrupted');
    expect(result.state).toMatchObject({ epoch: 1, stepInEpoch: 0, globalStep: 24 });
    expect(Math.max(...steps)).toBe(24);
    const saved = await listCheckpoints(new LocalObjectStore(jobDir));
    expect(saved.map((c) => c.manifest.state.globalStep)).toEqual([24]);
  });

  test('resumed run equals uninterrupted run', async () => {
    // Head dropout on, so the check covers the dropout masks as well as the
    // initial weights, the data order and the optimizer state.
    const config = smallConfig({ epochs: 1, head_dropout: 0.5 });
    const straightDir = path.join(root, 'same-straight');
    await run(straightDir, config);

    const stoppedDir = path.join(root, 'same-stopped');
    const abort = new AbortController();
    const stopAtStep7: TrainingObserver = {
      onStep: (event) => {
        if (event.globalStep === 7) abort.abort();
      },
    };
    const first = await run(stoppedDir, config, { signal: abort.signal, observers: [stopAtStep7] });
    expect(first.status).toBe('interrupted');
    const second = await run(stoppedDir, config);
    expect(second.status).toBe('completed');

    const straight = await loadLayersModel(new LocalObjectStore(straightDir), FINAL_MODEL_PREFIX);
    const resumed = await loadLayersModel(new LocalObjectStore(stoppedDir), FINAL_MODEL_PREFIX);
    const straightWeights = straight.getWeights().map((w) => w.dataSync());
    const resumedWeights = resumed.getWeights().map((w) => w.dataSync());
    expect(resumedWeights).toHaveLength(straightWeights.length);
    resumedWeights.forEach((values, i) => expect(Buffer.from(values.buffer).equals(Buffer.from(straightWeights[i].buffer))).toBe(true));
    straight.dispose();
    resumed.dispose();
  }, 300_000);

  test('resumes from the previous checkpoint after a crash mid-checkpoint', async () => {
    const jobDir = path.join(root, 'crash');
    const config = smallConfig({ epochs: 2, checkpoint: { every_steps: 4 } });

    // The store fails while writing the manifest of the checkpoint at step 8,
    // as a killed process would leave it: objects written, no manifest.
    const store = new LocalObjectStore(jobDir);
    const failing: ObjectStore = Object.create(store) as ObjectStore;
    failing.put = async (key, body) => {
      if (key === 'checkpoints/step-000000008/manifest.json') throw new Error('simulated crash');
      return store.put(key, body);
    };
    const model = buildSmallModel(config);
    const data = await openTripletData({ config, dataDir, cacheDir: path.join(root, 'cache') });
    await expect(train({ config, model, data, jobDir: failing })).rejects.toThrow('simulated crash');
    model.dispose();
    await data.close();

    expect(fs.existsSync(path.join(jobDir, 'checkpoints/step-000000008/weights.bin'))).toBe(true);
    const complete = await listCheckpoints(store);
    expect(complete.map((c) => c.manifest.state.globalStep)).toEqual([4]);

    const resumedSteps: number[] = [];
    const result = await run(jobDir, config, { observers: [{ onStep: (event) => resumedSteps.push(event.globalStep) }] });
    expect(result.status).toBe('completed');
    expect(resumedSteps[0]).toBe(5);
    // The leftovers of the incomplete checkpoint are gone.
    expect(fs.existsSync(path.join(jobDir, 'checkpoints/step-000000008/weights.bin'))).toBe(false);
  });

  test('refuses to resume another model', async () => {
    const jobDir = path.join(root, 'mismatch');
    await run(jobDir, smallConfig({ epochs: 1 }), { maxSteps: 2 });
    await expect(run(jobDir, smallConfig({ epochs: 1, input_size: 48 }))).rejects.toThrow(ResumeMismatchError);
  });

  test('keeps the newest and the best checkpoints', async () => {
    const jobDir = path.join(root, 'retention');
    await run(jobDir, smallConfig({ epochs: 4, checkpoint: { keep_last: 1 } }));
    const kept = await listCheckpoints(new LocalObjectStore(jobDir));
    const steps = kept.map((c) => c.manifest.state.globalStep);
    expect(steps).toContain(4 * 24);
    expect(kept.length).toBeLessThanOrEqual(2);
    const best = Math.min(...kept.map((c) => c.manifest.valLoss ?? Infinity));
    const history = JSON.parse(fs.readFileSync(path.join(jobDir, 'history.json'), 'utf8')) as Array<{ val_loss: number }>;
    expect(best).toBeCloseTo(Math.min(...history.map((r) => r.val_loss)), 6);
  });
});

describe('listCheckpoints', () => {
  test('skips checkpoints whose objects changed size', async () => {
    await useWasm();
    const dir = tempDir('mildnet-ckpt-');
    const store = new LocalObjectStore(dir);
    const config = smallConfig();
    const model = buildSmallModel(config);
    const optimizer = createOptimizer(config);
    const state = { epoch: 0, stepInEpoch: 1, globalStep: 1, bestValLoss: null, modelKey: 'x' };
    await saveCheckpoint({ store, model, optimizer, state, valLoss: null });
    await saveCheckpoint({ store, model, optimizer, state: { ...state, globalStep: 2 }, valLoss: null });
    expect((await listCheckpoints(store)).map((c) => c.manifest.state.globalStep)).toEqual([1, 2]);

    // Truncate a weights file of the newer checkpoint, as an interrupted copy would.
    const weights = path.join(dir, 'checkpoints/step-000000002/weights.bin');
    fs.truncateSync(weights, 10);
    expect((await listCheckpoints(store)).map((c) => c.manifest.state.globalStep)).toEqual([1]);

    model.dispose();
    optimizer.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
