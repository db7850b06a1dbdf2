import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';

import { selectBackend } from '../backend';
import { ConfigError, resolveConfig } from '../config';
import { getModel } from '../models';
import { baseLayersOf } from '../models/imagenet-bases';
import { describePretrainedSummary, loadPretrainedWeights, PretrainedWeightsError } from '../models/pretrained';
import { fetchWeightsFile, locateWeights } from '../models/weights-file';
import { MetricsObserver, ProgressTracker, createTrainerMetrics, startMetricsServer } from '../metrics';
import { DatasetCache, openStore, type StorageRetryEvent } from '../storage';
import { listCheckpoints } from '../training/checkpoint';
import { openTripletData } from '../training/data-source';
import type { TrainingObserver } from '../training/events';
import { buildSeededModel } from '../training/seeded-random';
import { modelBuildArgs, train } from '../training/trainer';
import { ExitCode, UsageError } from './exit-codes';
import { LogObserver } from './log-observer';
import { createLogger } from './logger';
import { ProgressBar } from './progress-bar';

const HELP = `Usage: mildnet train --config FILE|PRESET --data DIR|URI --job-dir DIR|URI [options]

Trains a model from a job config. Every start resumes from the newest complete
checkpoint in the job dir, so running the same command again after a crash or
a kill continues where the last checkpoint left off.

Options:
  --config FILE|PRESET   YAML job config, or the name of a bundled one (mildnet presets)
  --data DIR|URI         Data location: the CSVs and the image folder or archive (path, file://, s3://, gs://)
  --job-dir DIR|URI      Output location: checkpoints, logs, best and final model
  --set KEY=VALUE        Override a config field, such as epochs=2 (repeatable)
  --input-size N         Override input_size (pixels)
  --epochs N             Override epochs
  --seed N               Override seed
  --max-steps N          Stop after N training steps in all, counting resumed ones
  --backend NAME         tfjs-node-gpu, tfjs-node, wasm or cpu (default: the fastest that loads; also $MILDNET_BACKEND)
  --metrics-port N       Serve /metrics, /progress and /healthz on this port (default: off; 0 picks a free port)
  --metrics-host ADDR    Address for the metrics server (default 0.0.0.0)
  --cache-dir DIR        Local cache for remote data and unpacked archives (default: $MILDNET_CACHE_DIR or the temp dir)
  --cache-max-bytes N    Bound on the data cache in bytes (default 20 GiB)
  --augment-workers N    Worker threads for augmentation (default: cores - 1, at most 4)

Environment:
  MILDNET_WEIGHTS_DIR    Folder (path or URI) of the Keras files that weights: imagenet reads (default ~/.keras/models)

Exit status: 0 done, 1 failed, 2 invalid config or usage, 75 interrupted by SIGTERM or SIGINT after a checkpoint.`;

const DEFAULT_CACHE_MAX_BYTES = 20 * 1024 ** 3;
/** Upper bound on augmentation threads; beyond it decoding, not augmentation, limits throughput. */
const MAX_AUGMENT_WORKERS = 4;

/** Reports a weights file that is missing or does not fit the model as an invalid `weights` field. */
async function asWeightsConfigError<T>(configSource: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!(error instanceof PretrainedWeightsError)) throw error;
    throw new ConfigError(configSource, [{ path: 'weights', message: error.message }], { cause: error });
  }
}

function integerOption(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min) {
    throw new UsageError(`--${name} ${value} is invalid; expected an integer of at least ${min}`);
  }
  return parsed;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      data: { type: 'string' },
      'job-dir': { type: 'string' },
      set: { type: 'string', multiple: true },
      'input-size': { type: 'string' },
      epochs: { type: 'string' },
      seed: { type: 'string' },
      'max-steps': { type: 'string' },
      backend: { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
      'cache-dir': { type: 'string' },
      'cache-max-bytes': { type: 'string' },
      'augment-workers': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return ExitCode.OK;
  }
  for (const required of ['config', 'data', 'job-dir'] as const) {
    if (!values[required]) throw new UsageError(`--${required} is required; run mildnet train --help for the options`);
  }

  // Validate everything before any work starts.
  const overrides = [...(values.set ?? [])];
  const flagOverrides: Array<[string, string | undefined]> = [
    ['input_size', values['input-size']],
    ['epochs', values.epochs],
    ['seed', values.seed],
  ];
  for (const [field, value] of flagOverrides) if (value !== undefined) overrides.push(`${field}=${value}`);
  const config = resolveConfig(values.config as string, { overrides });
  const maxSteps = integerOption(values['max-steps'], 'max-steps', 1);
  const metricsPort = integerOption(values['metrics-port'], 'metrics-port', 0);
  const cacheMaxBytes = integerOption(values['cache-max-bytes'], 'cache-max-bytes', 1) ?? DEFAULT_CACHE_MAX_BYTES;
  const augmentWorkers =
    integerOption(values['augment-workers'], 'augment-workers', 0) ?? Math.min(MAX_AUGMENT_WORKERS, Math.max(0, os.cpus().length - 1));
  const spec = getModel(config.model_id);
  if (config.input_size < spec.minInputSize) {
    throw new UsageError(`input_size ${config.input_size} is too small for ${config.model_id}; expected at least ${spec.minInputSize}`);
  }

  const interactive = process.stderr.isTTY === true && process.env.CI === undefined;
  const logger = createLogger(interactive);
  const abort = new AbortController();
  const stop = (signal: NodeJS.Signals): void => {
    logger.warn({ signal }, 'stop requested; writing a checkpoint after the current step');
    if (interactive) process.stderr.write(`\n${signal}: stopping after the current step and writing a checkpoint…\n`);
    abort.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  const backend = await selectBackend({ preferred: values.backend, logger });
  logger.info({ backend: backend.name, reason: backend.reason }, 'compute backend selected');
  if (interactive) process.stderr.write(`Backend: ${backend.name} (${backend.reason})\n`);

  const metrics = createTrainerMetrics({ tensorMemory: () => tf.memory() });
  metrics.backend.set({ backend: backend.name }, 1);
  const progress = new ProgressTracker();
  const server =
    metricsPort === undefined
      ? undefined
      : await startMetricsServer({ metrics, progress, port: metricsPort, host: values['metrics-host'] });
  if (server) logger.info({ port: server.port }, 'metrics server listening');

  const cacheDir = values['cache-dir'] ?? process.env.MILDNET_CACHE_DIR ?? path.join(os.tmpdir(), 'mildnet-cache');
  // Every retry of a transient storage error is logged and counted; URIs never carry credentials.
  const onRetry = (event: StorageRetryEvent): void => {
    metrics.storageRetries.inc({ operation: event.operation });
    logger.warn({ ...event }, 'storage request failed; retrying');
  };
  const jobDir = await openStore(values['job-dir'] as string, { field: '--job-dir', onRetry });
  const cache = new DatasetCache({
    cacheDir,
    maxBytes: cacheMaxBytes,
    storeOptions: { field: '--data', onRetry },
    onEvent: (event) => logger.info({ ...event }, `data cache ${event.type}`),
  });

  // Pretrained weights initialise a fresh run only; a resumed run restores its weights from the checkpoint.
  const weightsLocation = locateWeights(config);
  const resuming = weightsLocation !== undefined && (await listCheckpoints(jobDir)).length > 0;
  if (resuming) logger.info({ weights: config.weights }, 'resuming from a checkpoint, so the weights field is not read');
  const weightsFile =
    weightsLocation === undefined || resuming
      ? undefined
      : await asWeightsConfigError(values.config as string, () => fetchWeightsFile(weightsLocation, { modelId: config.model_id, cache }));

  const dataset = await cache.fetch(values.data as string);
  const data = await openTripletData({
    config,
    dataDir: dataset.localDir,
    cacheDir,
    augmentWorkers,
    onSkip: (skipped) => {
      metrics.skippedTriplets.inc();
      logger.warn(
        { file: skipped.triplet.source.file, line: skipped.triplet.source.line, role: skipped.role, error: skipped.error.message },
        'triplet skipped: bad image',
      );
    },
  });

  const model = buildSeededModel(spec, modelBuildArgs(config), config.seed);
  const observers: TrainingObserver[] = [new MetricsObserver(metrics), progress, interactive ? new ProgressBar() : new LogObserver(logger)];
  try {
    if (weightsFile !== undefined) {
      const loadArgs = { baseLayers: baseLayersOf(config.model_id), width: config.width_multiplier };
      const summary = await asWeightsConfigError(values.config as string, () => loadPretrainedWeights(model, weightsFile, loadArgs));
      logger.info(
        {
          file: summary.source,
          layout: summary.layout,
          layersLoaded: summary.loadedLayers.length,
          parametersLoaded: summary.loadedParameters,
          layersInitialised: summary.initialisedLayers,
        },
        'pretrained weights loaded',
      );
      if (summary.skippedTopLayers.length > 0) {
        logger.warn({ file: summary.source, layers: summary.skippedTopLayers }, 'weights file has include_top classifier layers; they were skipped, and the _notop file has the base alone');
      }
      if (interactive) process.stderr.write(`Weights: ${describePretrainedSummary(summary)}\n`);
    }
    const result = await train({ config, model, data, jobDir, maxSteps, signal: abort.signal, observers });
    const last = result.history.at(-1);
    if (result.status === 'interrupted') {
      logger.warn({ step: result.state.globalStep }, 'training interrupted; run the same command to resume');
      return ExitCode.INTERRUPTED;
    }
    const summary = last
      ? `val_loss ${last.val_loss.toFixed(4)}, validation triplet accuracy ${(last.val_accuracy * 100).toFixed(2)}%`
      : 'no epoch ran';
    logger.info({ jobDir: jobDir.uri, ...(last ?? {}) }, 'training finished');
    process.stdout.write(`Training finished: ${summary}. Outputs in ${jobDir.uri}\n`);
    return ExitCode.OK;
  } finally {
    model.dispose();
    await data.close();
    await server?.close();
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}
