import type { ObjectStore } from '../storage/object-store';
import type { EpochRecord } from './events';

export const TRAINING_LOG = 'training_log.csv';
export const HISTORY = 'history.json';

const COLUMNS: Array<keyof EpochRecord> = [
  'epoch',
  'loss',
  'accuracy',
  'val_loss',
  'val_accuracy',
  'lr',
  'seconds',
  'images_per_second',
];

export function formatTrainingLog(history: readonly EpochRecord[]): string {
  const rows = history.map((record) => COLUMNS.map((column) => String(record[column])).join(','));
  return [COLUMNS.join(','), ...rows].join('\n') + '\n';
}

/**
 * Rewrites the CSV training log and the history in the job dir. Object
 * stores cannot append, so both are written whole after each epoch.
 */
export async function writeHistory(store: ObjectStore, history: readonly EpochRecord[]): Promise<void> {
  await store.put(TRAINING_LOG, formatTrainingLog(history));
  await store.put(HISTORY, JSON.stringify(history, null, 2) + '\n');
}

export async function readHistory(store: ObjectStore): Promise<EpochRecord[]> {
  const info = await store.head(HISTORY);
  if (!info) return [];
  return JSON.parse((await store.get(HISTORY)).toString('utf8')) as EpochRecord[];
}
