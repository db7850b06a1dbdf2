import { parseArgs } from 'node:util';

import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_DEFAULTS, prepareFashionMnist } from '../data';
import { ExitCode, UsageError } from './exit-codes';

const HELP = `Usage: mildnet data fashion-mnist --out DIR [--from DIR] [--seed N] [--train-triplets N] [--val-triplets N] [--test-triplets N]

Converts Fashion-MNIST (Zalando product photos, 10 classes) into the triplet
layout the trainer reads: PNG images under DIR/images and train.csv, val.csv
and test.csv with one query,positive,negative triplet per line. The positive
comes from the query's class and the negative from another class. The same
seed gives byte-identical output; a complete output is reused as it is.

Options:
  --out DIR              Output folder (created when missing)
  --from DIR             Folder with the four IDX files (default ${DEBIAN_FASHION_MNIST_DIR},
                         from Debian's dataset-fashion-mnist package)
  --seed N               Seed of the validation hold-out and the triplet draws (default 1)
  --train-triplets N     Training triplets (default ${FASHION_MNIST_DEFAULTS.trainTriplets})
  --val-triplets N       Validation triplets (default ${FASHION_MNIST_DEFAULTS.valTriplets})
  --test-triplets N      Test triplets (default ${FASHION_MNIST_DEFAULTS.testTriplets})`;

function count(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new UsageError(`--${name} ${value} is invalid; expected a positive integer`);
  return parsed;
}

export async function dataCommand(argv: string[]): Promise<number> {
  const [dataset, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      out: { type: 'string' },
      from: { type: 'string' },
      seed: { type: 'string' },
      'train-triplets': { type: 'string' },
      'val-triplets': { type: 'string' },
      'test-triplets': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || dataset === '--help') {
    process.stdout.write(HELP + '\n');
    return ExitCode.OK;
  }
  if (dataset !== 'fashion-mnist') {
    throw new UsageError(`Unknown data set "${dataset ?? ''}"; expected: mildnet data fashion-mnist --out DIR`);
  }
  if (!values.out) throw new UsageError('--out is required; run mildnet data fashion-mnist --help for the options');
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed ${values.seed} is invalid; expected a non-negative integer`);

  const interactive = process.stderr.isTTY === true;
  let lastPhase = '';
  const result = await prepareFashionMnist({
    out: values.out,
    from: values.from,
    seed,
    trainTriplets: count(values['train-triplets'], 'train-triplets'),
    valTriplets: count(values['val-triplets'], 'val-triplets'),
    testTriplets: count(values['test-triplets'], 'test-triplets'),
    onProgress: (progress) => {
      if (interactive) {
        process.stderr.write(`\r\x1b[K${progress.phase}: ${progress.done}/${progress.total}`);
      } else if (progress.phase !== lastPhase) {
        process.stderr.write(`${progress.phase}…\n`);
      }
      lastPhase = progress.phase;
    },
  });
  if (interactive) process.stderr.write('\r\x1b[K');

  const splits = result.manifest.splits;
  process.stdout.write(
    `${result.reused ? 'Reused' : 'Wrote'} Fashion-MNIST triplets in ${result.out}: ` +
      `${splits.train.triplets} train, ${splits.val.triplets} val, ${splits.test.triplets} test\n`,
  );
  return ExitCode.OK;
}
