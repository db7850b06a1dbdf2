import * as fs from 'node:fs';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import type { JobConfig, TripletMiningLabels, TripletMiningStrategy } from '../../src/config';
import { getLoss } from '../../src/losses';
import { LocalObjectStore } from '../../src/storage';
import { openTripletData } from '../../src/training/data-source';
import type { EpochRecord, StepEvent } from '../../src/training/events';
import { train, type TrainResult } from '../../src/training/trainer';
import { buildSmallModel, fashionMnistInstalled, smallConfig, smallFashionMnist, tempDir, useWasm } from './support';

const describeWithData = fashionMnistInstalled() ? describe : describe.skip;
if (!fashionMnistInstalled()) {
  console.warn('Skipping triplet mining training tests: Fashion-MNIST is not installed; run scripts/install-fashion-mnist.sh');
}

jest.setTimeout(120_000);

/** 64 training triplets in batches of 16: four steps per epoch. */
const TRAIN_TRIPLETS = 64;
const VAL_TRIPLETS = 32;

interface MiningRun {
  result: TrainResult;
  steps: StepEvent[];
  /** Trainable weights before and after the run. */
  before: Float32Array[];
  after: Float32Array[];
  /** Validation loss of the trained model on the CSV triplets, computed here. */
  csvValLoss: number;
}

function miningConfig(strategy: TripletMiningStrategy, labels: TripletMiningLabels, overrides = {}): JobConfig {
  return smallConfig({ epochs: 1, triplet_mining: { strategy, labels }, ...overrides });
}

describeWithData('train with triplet mining', () => {
  let root: string;
  let dataDir: string;

  beforeAll(async () => {
    await useWasm();
    root = tempDir('mildnet-mining-');
    dataDir = await smallFashionMnist(root, TRAIN_TRIPLETS, VAL_TRIPLETS);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const copyWeights = (model: tf.LayersModel): Float32Array[] =>
    model.trainableWeights.map((weight) => Float32Array.from(weight.read().dataSync() as Float32Array));

  async function run(jobDir: string, config: JobConfig): Promise<MiningRun> {
    const model = buildSmallModel(config);
    const data = await openTripletData({ config, dataDir, cacheDir: path.join(root, 'cache') });
    try {
      const before = copyWeights(model);
      const steps: StepEvent[] = [];
      const result = await train({
        config,
        model,
        data,
        jobDir: new LocalObjectStore(jobDir),
        observers: [{ onStep: (event) => steps.push(event) }],
      });
      const after = copyWeights(model);

      // Validation loss of the trained model on the unmined CSV triplets.
      const loss = getLoss(config.loss, { margin: config.margin, compat: config.compat });
      let lossSum = 0;
      let triplets = 0;
      for await (const batch of data.batches('val', 0, 0)) {
        lossSum += tf.tidy(() => {
          const images = tf.tensor4d(batch.images, [3 * batch.triplets, config.input_size, config.input_size, 3]);
          return loss(model.apply(images, { training: false }) as tf.Tensor2D).dataSync()[0] * batch.triplets;
        });
        triplets += batch.triplets;
      }
      return { result, steps, before, after, csvValLoss: lossSum / triplets };
    } finally {
      model.dispose();
      await data.close();
    }
  }

  const runs = new Map<string, MiningRun>();
  const cases: Array<[TripletMiningStrategy, TripletMiningLabels]> = [
    ['none', 'pairs'],
    ['batch_hard', 'pairs'],
    ['batch_hard', 'folders'],
    ['semi_hard', 'pairs'],
    ['semi_hard', 'folders'],
  ];

  test.each(cases)('%s with %s labels trains', async (strategy, labels) => {
    const jobDir = path.join(root, `${strategy}-${labels}`);
    const mining = await run(jobDir, miningConfig(strategy, labels));
    runs.set(`${strategy}/${labels}`, mining);

    expect(mining.result.status).toBe('completed');
    expect(mining.steps).toHaveLength(TRAIN_TRIPLETS / 16);
    for (const step of mining.steps) {
      expect(Number.isFinite(step.loss)).toBe(true);
    }
    const changed = mining.after.filter((values, i) => !Buffer.from(values.buffer).equals(Buffer.from(mining.before[i].buffer)));
    expect(changed.length).toBeGreaterThan(0);

    const history = JSON.parse(fs.readFileSync(path.join(jobDir, 'history.json'), 'utf8')) as EpochRecord[];
    expect(history).toHaveLength(1);
    expect(Number.isFinite(history[0].loss)).toBe(true);
    expect(Number.isFinite(history[0].val_loss)).toBe(true);
    expect(fs.readFileSync(path.join(jobDir, 'training_log.csv'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(fs.existsSync(path.join(jobDir, 'final', 'model.json'))).toBe(true);

    // Validation measured the CSV triplets, not mined ones.
    expect(history[0].val_loss).toBeCloseTo(mining.csvValLoss, 5);
  });

  test('first step: harder loss, same accuracy', () => {
    // Every run starts from the same weights and the same first batch. With
    // pair labels, batch_hard keeps each CSV positive and takes the closest
    // negative, which is never farther than the CSV one, so its hinge loss is
    // at least that of no mining, and higher on this batch. Accuracy is
    // measured on the CSV triplets.
    const none = runs.get('none/pairs');
    const batchHard = runs.get('batch_hard/pairs');
    expect(none).toBeDefined();
    expect(batchHard).toBeDefined();
    const [noneStep] = (none as MiningRun).steps;
    const [hardStep] = (batchHard as MiningRun).steps;

    expect(hardStep.loss).toBeGreaterThan(noneStep.loss);
    expect(hardStep.accuracy).toBe(noneStep.accuracy);
    for (const key of ['batch_hard/folders', 'semi_hard/pairs', 'semi_hard/folders']) {
      expect(runs.get(key)?.steps[0].accuracy).toBe(noneStep.accuracy);
    }
  });

  /** Writes a triplet CSV into the data dir from image paths relative to its image folder. */
  function writeCsv(name: string, lines: string[][]): string {
    fs.writeFileSync(path.join(dataDir, name), lines.map((line) => line.join(',')).join('\n') + '\n');
    return name;
  }

  function imagesIn(folder: string, count: number): string[] {
    const files = fs.readdirSync(path.join(dataDir, 'images', folder)).sort().slice(0, count);
    return files.map((file) => `${folder}/${file}`);
  }

  test('folders with a single folder is rejected', async () => {
    const shirts = imagesIn('train/shirt', 6);
    const csv = writeCsv('one-folder.csv', [shirts.slice(0, 3), shirts.slice(3, 6)]);
    const config = miningConfig('batch_hard', 'folders', { train_csv: csv, batch_size: 1 });

    const open = openTripletData({ config, dataDir, cacheDir: path.join(root, 'cache') });
    await expect(open).rejects.toThrow(/triplet_mining.labels is folders, but every image of one-folder.csv is in the folder train\/shirt/);
    await expect(open).rejects.toThrow(/set triplet_mining.labels to pairs/);
  });

  test('folders batch without a negative stops the run', async () => {
    // Two folders in the file, but the batch of the first triplet has only shirts.
    const shirts = imagesIn('train/shirt', 3);
    const [trouser] = imagesIn('train/trouser', 1);
    const csv = writeCsv('shirt-batch.csv', [shirts, [shirts[0], shirts[1], trouser]]);
    const config = miningConfig('semi_hard', 'folders', { train_csv: csv, batch_size: 1 });

    const model = buildSmallModel(config);
    const data = await openTripletData({ config, dataDir, cacheDir: path.join(root, 'cache') });
    try {
      const jobDir = new LocalObjectStore(path.join(root, 'no-negative'));
      await expect(train({ config, model, data, jobDir })).rejects.toThrow(
        /no negative for the query of triplet 0 in a batch of 1 triplets/,
      );
    } finally {
      model.dispose();
      await data.close();
    }
  });
});
