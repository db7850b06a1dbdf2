import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { selectBackend } from '../../src/backend';
import { validateConfig, type JobConfig } from '../../src/config';
import { prepareFashionMnist } from '../../src/data';
import { getModel } from '../../src/models';
import { buildSeededModel } from '../../src/training/seeded-random';
import { modelBuildArgs } from '../../src/training/trainer';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export function fashionMnistInstalled(): boolean {
  return fs.existsSync(path.join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
}

/** Writes a small Fashion-MNIST triplet set into dir and returns its folder. */
export async function smallFashionMnist(dir: string, trainTriplets = 384, valTriplets = 96): Promise<string> {
  const out = path.join(dir, 'fashion-mnist');
  await prepareFashionMnist({ out, seed: 3, trainTriplets, valTriplets, testTriplets: 32, valImages: 2000 });
  return out;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function useWasm(): Promise<void> {
  await selectBackend({ preferred: 'wasm' });
}

/** Returns a quick config: quarter-width MobileNet with MILDNet skips at 32×32. */
export function smallConfig(overrides: Partial<Record<keyof JobConfig, unknown>> = {}): JobConfig {
  return validateConfig(
    {
      model_id: 'mildnet_mobilenet',
      width_multiplier: 0.25,
      input_size: 32,
      loss: 'hinge_loss',
      optimizer: 'mo',
      lr: 0.05,
      epochs: 2,
      batch_size: 16,
      train_csv: 'train.csv',
      val_csv: 'val.csv',
      images: 'images',
      augmentation: { enabled: false },
      // Settings of the quick start: with Keras's BatchNormalization momentum
      // and head dropout, a run this short barely moves the validation loss.
      head_units: 64,
      head_dropout: 0,
      batch_norm_momentum: 0.9,
      ...overrides,
    },
    'test config',
  );
}

/** Builds the config's model with initial weights fixed by config.seed, as the train command does. */
export function buildSmallModel(config: JobConfig): tf.LayersModel {
  return buildSeededModel(getModel(config.model_id), modelBuildArgs(config), config.seed);
}
