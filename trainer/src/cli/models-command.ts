import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';

import { countParameters, getModel, modelIds } from '../models';
import { ExitCode, UsageError } from './exit-codes';

const HELP = `Usage: mildnet models [--input-size N] [--json]

Lists every model id with its total and trainable parameter counts and its
embedding size. Each model is built once at the input size (default: the
size the original trained at, 224 or 227), which takes a few seconds and up
to about a gigabyte of memory for the VGG models.`;

export async function modelsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'input-size': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return ExitCode.OK;
  }
  const inputSize = values['input-size'] === undefined ? undefined : Number(values['input-size']);
  if (inputSize !== undefined && (!Number.isSafeInteger(inputSize) || inputSize < 1)) {
    throw new UsageError(`--input-size ${values['input-size']} is invalid; expected a positive integer`);
  }

  await tf.setBackend('cpu');
  const rows = [];
  for (const id of modelIds()) {
    const spec = getModel(id);
    const size = inputSize ?? spec.defaultInputSize;
    if (size < spec.minInputSize) {
      rows.push({ id, inputSize: size, error: `needs an input size of at least ${spec.minInputSize}` });
      continue;
    }
    const model = spec.build({ inputSize: size });
    const counts = countParameters(model);
    model.dispose();
    rows.push({ id, inputSize: size, totalParameters: counts.total, trainableParameters: counts.trainable, embeddingSize: spec.embeddingSize({ inputSize: size }) });
  }

  if (values.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return ExitCode.OK;
  }
  process.stdout.write(`${'model id'.padEnd(26)} ${'input'.padStart(5)} ${'parameters'.padStart(12)} ${'trainable'.padStart(12)} ${'embedding'.padStart(9)}\n`);
  for (const row of rows) {
    if ('error' in row) {
      process.stdout.write(`${row.id.padEnd(26)} ${String(row.inputSize).padStart(5)} ${row.error}\n`);
      continue;
    }
    process.stdout.write(
      `${row.id.padEnd(26)} ${String(row.inputSize).padStart(5)} ${row.totalParameters.toLocaleString('en-US').padStart(12)} ` +
        `${row.trainableParameters.toLocaleString('en-US').padStart(12)} ${String(row.embeddingSize).padStart(9)}\n`,
    );
  }
  return ExitCode.OK;
}
