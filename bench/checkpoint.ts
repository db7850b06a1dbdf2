/**
 * Checkpoint save and restore time against model size, to a local folder and
 * to a real S3 server (versitygw from scripts/setup-s3.sh, on this machine).
 * A checkpoint is what the trainer writes: all weights, the optimizer slots
 * (SGD with Nesterov momentum keeps one per trainable weight), SHA-256
 * checksums and the manifest. Restore reads and verifies them, then loads both.
 * Prints a Markdown table for docs/benchmarks.md.
 *
 * Usage: npx ts-node --transpile-only -P tsconfig.json bench/checkpoint.ts [--repeats N] [--no-s3]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';

import { selectBackend } from '../trainer/src/backend';
import { countParameters, getModel, type ModelBuildArgs } from '../trainer/src/models';
import { LocalObjectStore, openStore, type ObjectStore } from '../trainer/src/storage';
import { listCheckpoints, restoreCheckpoint, saveCheckpoint, type TrainingState } from '../trainer/src/training/checkpoint';
import { startS3Server, type S3TestServer } from '../test/s3/server';

interface Subject {
  label: string;
  id: string;
  args: ModelBuildArgs;
}

/** Models from the smallest to the largest checkpoint. Their parameter counts do not depend on the input size. */
const SUBJECTS: Subject[] = [
  { label: 'quick start (mildnet_mobilenet, width 0.25, head 256)', id: 'mildnet_mobilenet', args: { inputSize: 64, width: 0.25, headUnits: 256 } },
  { label: 'mildnet_mobilenet', id: 'mildnet_mobilenet', args: { inputSize: 64 } },
  { label: 'mildnet_vgg16', id: 'mildnet_vgg16', args: { inputSize: 64 } },
  { label: 'mildnet_vgg19', id: 'mildnet_vgg19', args: { inputSize: 64 } },
];

interface Timing {
  bytes: number;
  saveSeconds: number;
  restoreSeconds: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Gives the optimizer its momentum slots, as after the first training step. */
function createOptimizerSlots(model: tf.LayersModel): tf.Optimizer {
  const optimizer = tf.train.momentum(0.01, 0.9, true);
  const grads: Array<{ name: string; tensor: tf.Tensor }> = model.trainableWeights.map((weight) => {
    const variable = weight.read() as tf.Variable;
    return { name: variable.name, tensor: tf.zerosLike(variable) };
  });
  optimizer.applyGradients(grads);
  tf.dispose(grads.map((grad) => grad.tensor));
  return optimizer;
}

async function measure(store: ObjectStore, model: tf.LayersModel, optimizer: tf.Optimizer, repeats: number): Promise<Timing> {
  const saves: number[] = [];
  const restores: number[] = [];
  let bytes = 0;
  for (let i = 0; i < repeats; i++) {
    const state: TrainingState = { epoch: 0, stepInEpoch: i + 1, globalStep: i + 1, bestValLoss: null, modelKey: 'bench' };
    let started = performance.now();
    const saved = await saveCheckpoint({ store, model, optimizer, state, valLoss: null });
    saves.push((performance.now() - started) / 1000);
    bytes = saved.bytes;

    started = performance.now();
    const latest = (await listCheckpoints(store)).at(-1);
    if (!latest) throw new Error(`No complete checkpoint in ${store.uri} after saving one`);
    await restoreCheckpoint(store, latest, model, optimizer);
    restores.push((performance.now() - started) / 1000);
  }
  return { bytes, saveSeconds: median(saves), restoreSeconds: median(restores) };
}

function formatRow(label: string, parameters: number, target: string, timing: Timing): string {
  const megabytes = timing.bytes / 1024 ** 2;
  return (
    `| ${label} | ${parameters.toLocaleString('en-US')} | ${target} | ${megabytes.toFixed(1)} | ` +
    `${timing.saveSeconds.toFixed(2)} | ${(megabytes / timing.saveSeconds).toFixed(0)} | ` +
    `${timing.restoreSeconds.toFixed(2)} | ${(megabytes / timing.restoreSeconds).toFixed(0)} |`
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { repeats: { type: 'string', default: '3' }, 'no-s3': { type: 'boolean', default: false } } });
  const repeats = Number(values.repeats);
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`--repeats must be a positive integer, got ${values.repeats}`);

  await selectBackend({ preferred: 'wasm' });
  const root = await mkdtemp(path.join(tmpdir(), 'mildnet-bench-checkpoint-'));
  let server: S3TestServer | undefined;
  const rows: string[] = [];
  try {
    if (!values['no-s3']) {
      server = await startS3Server();
      await server.createBucket('bench');
    }
    for (const subject of SUBJECTS) {
      const model = getModel(subject.id).build(subject.args);
      const optimizer = createOptimizerSlots(model);
      const parameters = countParameters(model).total;
      const slug = subject.label.replace(/[^a-z0-9]+/gi, '-');
      const local = await measure(new LocalObjectStore(path.join(root, slug)), model, optimizer, repeats);
      rows.push(formatRow(subject.label, parameters, 'local folder', local));
      if (server) {
        const store = await openStore(`s3://bench/${slug}`, { env: { ...process.env, ...server.env() } });
        rows.push(formatRow(subject.label, parameters, 'S3 (versitygw, loopback)', await measure(store, model, optimizer, repeats)));
      }
      optimizer.dispose();
      model.dispose();
    }
  } finally {
    await server?.dispose();
    await rm(root, { recursive: true, force: true });
  }

  console.log(`Machine: ${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, backend ${tf.getBackend()}`);
  console.log(`Load average (1 min) at the end: ${loadavg()[0].toFixed(1)}; median of ${repeats} saves and restores per row`);
  console.log('');
  console.log('| model | parameters | target | checkpoint MiB | save s | save MiB/s | restore s | restore MiB/s |');
  console.log('|---|---:|---|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
