/**
 * Training throughput of the model zoo: images per second of whole training
 * steps (forward, loss, backward, SGD update) per model id, input size and
 * backend, with the step's FLOP count so that the achieved GFLOP/s shows.
 *
 * Usage: npx ts-node --transpile-only -P tsconfig.json bench/training.ts
 *          [--models a,b] [--input-size N] [--steps N] [--batch-size TRIPLETS] [--backend NAME]
 */
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';

import { selectBackend } from '../trainer/src/backend';
import { getLoss } from '../trainer/src/losses';
import { countParameters, getModel, modelIds, type ModelBuildArgs } from '../trainer/src/models';
import { forwardFlopsPerImage } from './flops';

/** The quick-start model's options, benchmarked as its own row. */
const QUICKSTART: ModelBuildArgs = { inputSize: 32, width: 0.25, headUnits: 256, headDropout: 0, batchNormMomentum: 0.9 };

interface Row {
  model: string;
  inputSize: number;
  parameters: number;
  imagesPerSecond: number;
  trainingGflopsPerImage: number;
  achievedGflops: number;
}

function benchmark(id: string, label: string, args: ModelBuildArgs, steps: number, triplets: number): Row {
  const model = getModel(id).build(args);
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const optimizer: tf.Optimizer = tf.train.momentum(0.001, 0.9, true);
  const loss = getLoss('hinge_loss');
  const images = tf.randomUniform([3 * triplets, args.inputSize, args.inputSize, 3]);

  const step = (): void => {
    const { value, grads } = tf.variableGrads(() => loss(model.apply(images, { training: true }) as tf.Tensor2D), variables);
    optimizer.applyGradients(grads);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  step(); // The first step allocates optimizer slots and compiles kernels.
  const started = performance.now();
  for (let i = 0; i < steps; i++) step();
  const seconds = (performance.now() - started) / 1000;

  const imagesPerSecond = (steps * 3 * triplets) / seconds;
  const trainingGflopsPerImage = (3 * forwardFlopsPerImage(model)) / 1e9;
  const row = {
    model: label,
    inputSize: args.inputSize,
    parameters: countParameters(model).total,
    imagesPerSecond,
    trainingGflopsPerImage,
    achievedGflops: imagesPerSecond * trainingGflopsPerImage,
  };
  tf.dispose([images]);
  optimizer.dispose();
  model.dispose();
  return row;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      models: { type: 'string' },
      'input-size': { type: 'string', default: '32' },
      steps: { type: 'string', default: '3' },
      'batch-size': { type: 'string', default: '4' },
      backend: { type: 'string', default: 'wasm' },
    },
  });
  const backend = await selectBackend({ preferred: values.backend });
  const size = Number(values['input-size']);
  const steps = Number(values.steps);
  const triplets = Number(values['batch-size']);
  const ids = values.models ? values.models.split(',') : modelIds();

  const rows: Row[] = [];
  if (!values.models) rows.push(benchmark('mildnet_mobilenet', 'quick start (mildnet_mobilenet ¼ width, 256-unit head)', QUICKSTART, steps * 5, 32));
  for (const id of ids) {
    const inputSize = Math.max(size, getModel(id).minInputSize);
    rows.push(benchmark(id, id, { inputSize }, steps, triplets));
    process.stderr.write(`${id} done\n`);
  }

  process.stdout.write(`Backend: ${backend.name}; ${steps} timed steps after one warm-up step; batch ${triplets} triplets (${3 * triplets} images), the quick start 32\n\n`);
  process.stdout.write('| model | input | parameters | images/s | training GFLOP/image | GFLOP/s |\n|---|---:|---:|---:|---:|---:|\n');
  for (const row of rows) {
    process.stdout.write(
      `| ${row.model} | ${row.inputSize} | ${row.parameters.toLocaleString('en-US')} | ${row.imagesPerSecond.toFixed(1)} | ` +
        `${row.trainingGflopsPerImage.toFixed(3)} | ${row.achievedGflops.toFixed(1)} |\n`,
    );
  }
}

void main();
