import { createHash } from 'node:crypto';

import * as tf from '@tensorflow/tfjs';

import type { ObjectStore } from '../storage/object-store';
import { packOptimizer, packTensors, restoreOptimizer, unpackTensors } from './weights';

/** Folder of the job dir that contains one sub-folder per checkpoint. */
export const CHECKPOINTS_PREFIX = 'checkpoints';
const MANIFEST = 'manifest.json';
const CHECKPOINT_FORMAT = 1;

/** Training position and best validation loss, saved with every checkpoint. */
export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  /** Steps completed within the epoch that follows, 0 at an epoch boundary. */
  stepInEpoch: number;
  /** Steps completed since the start of training. */
  globalStep: number;
  /** Lowest validation loss so far, or null before the first validation. */
  bestValLoss: number | null;
  /** Fields of the config that the weights depend on, to refuse resuming a different model. */
  modelKey: string;
}

export interface ManifestEntry {
  key: string;
  sizeBytes: number;
  sha256: string;
}

/** Written last; a checkpoint without it, or whose objects differ from it, is incomplete. */
export interface CheckpointManifest {
  format: number;
  createdTime: string;
  state: TrainingState;
  /** Validation loss of the epoch this checkpoint ends, when it ends one. */
  valLoss: number | null;
  objects: ManifestEntry[];
}

export interface CheckpointInfo {
  /** Key prefix of the checkpoint, such as `checkpoints/step-000000450`. */
  prefix: string;
  manifest: CheckpointManifest;
}

export function checkpointPrefix(globalStep: number): string {
  return `${CHECKPOINTS_PREFIX}/step-${String(globalStep).padStart(9, '0')}`;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface SaveCheckpointArgs {
  store: ObjectStore;
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  state: TrainingState;
  valLoss: number | null;
}

/**
 * Writes a checkpoint: model weights (trainable and not), optimizer slots and
 * the training state, then the manifest that lists them with sizes and
 * checksums. Returns the checkpoint and the bytes written.
 */
export async function saveCheckpoint(args: SaveCheckpointArgs): Promise<{ info: CheckpointInfo; bytes: number }> {
  const prefix = checkpointPrefix(args.state.globalStep);
  // A checkpoint of the same step may exist from before a restart. Its
  // manifest goes first, so overwritten objects are never taken as complete.
  await args.store.delete(`${prefix}/${MANIFEST}`);
  const weights = await packTensors(args.model.getWeights());
  const optimizer = await packOptimizer(args.optimizer);

  const files: Array<[string, Buffer]> = [
    ['weights.bin', weights.data],
    ['weights.json', Buffer.from(JSON.stringify(weights.specs))],
    ['optimizer.bin', optimizer.data],
    ['optimizer.json', Buffer.from(JSON.stringify(optimizer.specs))],
  ];
  const objects: ManifestEntry[] = [];
  for (const [name, body] of files) {
    const key = `${prefix}/${name}`;
    await args.store.put(key, body);
    objects.push({ key, sizeBytes: body.length, sha256: sha256(body) });
  }

  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    createdTime: new Date().toISOString(),
    state: args.state,
    valLoss: args.valLoss,
    objects,
  };
  const manifestBody = JSON.stringify(manifest, null, 2);
  await args.store.put(`${prefix}/${MANIFEST}`, manifestBody);
  const bytes = objects.reduce((sum, entry) => sum + entry.sizeBytes, 0) + Buffer.byteLength(manifestBody);
  return { info: { prefix, manifest }, bytes };
}

/**
 * Lists the complete checkpoints, oldest first. A checkpoint is complete when
 * its manifest parses and every object it lists exists with the recorded size.
 */
export async function listCheckpoints(store: ObjectStore): Promise<CheckpointInfo[]> {
  const objects = await store.list(`${CHECKPOINTS_PREFIX}/`);
  const sizes = new Map(objects.map((object) => [object.key, object.sizeBytes]));
  const checkpoints: CheckpointInfo[] = [];

  for (const object of objects) {
    if (!object.key.endsWith(`/${MANIFEST}`)) continue;
    const prefix = object.key.slice(0, -(MANIFEST.length + 1));
    let manifest: CheckpointManifest;
    try {
      manifest = JSON.parse((await store.get(object.key)).toString('utf8')) as CheckpointManifest;
    } catch {
      continue; // An unreadable manifest marks an incomplete checkpoint, which resuming skips.
    }
    if (manifest.format !== CHECKPOINT_FORMAT) continue;
    const complete = manifest.objects.every((entry) => sizes.get(entry.key) === entry.sizeBytes);
    if (complete) checkpoints.push({ prefix, manifest });
  }
  return checkpoints.sort((a, b) => a.manifest.state.globalStep - b.manifest.state.globalStep);
}

export class CheckpointCorruptError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckpointCorruptError';
  }
}

async function readVerified(store: ObjectStore, entry: ManifestEntry): Promise<Buffer> {
  const body = await store.get(entry.key);
  if (body.length !== entry.sizeBytes || sha256(body) !== entry.sha256) {
    throw new CheckpointCorruptError(
      `Checkpoint object ${store.uri}/${entry.key} does not match its manifest (size or SHA-256 differs)`,
    );
  }
  return body;
}

/** Loads a checkpoint's weights into the model and its slots into the optimizer. */
export async function restoreCheckpoint(
  store: ObjectStore,
  info: CheckpointInfo,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
): Promise<TrainingState> {
  const entry = (name: string): ManifestEntry => {
    const found = info.manifest.objects.find((object) => object.key === `${info.prefix}/${name}`);
    if (!found) throw new CheckpointCorruptError(`Checkpoint ${store.uri}/${info.prefix} has no ${name} in its manifest`);
    return found;
  };
  const read = async (name: string): Promise<Buffer> => readVerified(store, entry(name));

  const weights = unpackTensors({
    data: await read('weights.bin'),
    specs: JSON.parse((await read('weights.json')).toString('utf8')),
  });
  const expected = model.weights.length;
  if (weights.length !== expected) {
    tf.dispose(weights);
    throw new CheckpointCorruptError(
      `Checkpoint ${store.uri}/${info.prefix} has ${weights.length} weight tensors but the model has ${expected}`,
    );
  }
  model.setWeights(weights);
  tf.dispose(weights);

  const slots = unpackTensors({
    data: await read('optimizer.bin'),
    specs: JSON.parse((await read('optimizer.json')).toString('utf8')),
  });
  await restoreOptimizer(optimizer, slots);
  tf.dispose(slots);
  return info.manifest.state;
}

/**
 * Deletes checkpoints beyond the newest `keepLast`, keeping the one with the
 * lowest validation loss too. Each deletion removes the manifest first, so
 * an interrupted deletion leaves an incomplete checkpoint, never a broken
 * complete one. Returns the prefixes deleted.
 */
export async function pruneCheckpoints(store: ObjectStore, keepLast: number): Promise<string[]> {
  const checkpoints = await listCheckpoints(store);
  const keep = new Set(checkpoints.slice(-keepLast).map((c) => c.prefix));
  const withLoss = checkpoints.filter((c) => c.manifest.valLoss !== null);
  if (withLoss.length > 0) {
    const best = withLoss.reduce((a, b) => ((b.manifest.valLoss as number) < (a.manifest.valLoss as number) ? b : a));
    keep.add(best.prefix);
  }

  const deleted: string[] = [];
  for (const checkpoint of checkpoints) {
    if (keep.has(checkpoint.prefix)) continue;
    await store.delete(`${checkpoint.prefix}/${MANIFEST}`);
    for (const object of checkpoint.manifest.objects) await store.delete(object.key);
    deleted.push(checkpoint.prefix);
  }
  return deleted;
}

/** Deletes the leftovers of checkpoints that never got a manifest, such as those of a run killed mid-write. */
export async function removeIncompleteCheckpoints(store: ObjectStore): Promise<string[]> {
  const objects = await store.list(`${CHECKPOINTS_PREFIX}/`);
  const complete = new Set((await listCheckpoints(store)).map((c) => c.prefix));
  const removed = new Set<string>();
  for (const object of objects) {
    const prefix = object.key.split('/').slice(0, 2).join('/');
    if (complete.has(prefix)) continue;
    await store.delete(object.key);
    removed.add(prefix);
  }
  return [...removed];
}
