import * as tf from '@tensorflow/tfjs';

import type { JobConfig } from '../config/job-config';
import { batchClasses, getLoss, mineTriplets, tripletAccuracy, type TripletLoss } from '../losses';
import { countParameters } from '../models/count-parameters';
import type { ObjectStore } from '../storage/object-store';
import {
  listCheckpoints,
  pruneCheckpoints,
  removeIncompleteCheckpoints,
  restoreCheckpoint,
  saveCheckpoint,
  type TrainingState,
} from './checkpoint';
import { combineObservers, type EpochRecord, type RunStatus, type TrainingObserver } from './events';
import { saveLayersModel } from './model-io';
import { createOptimizer, learningRateAt, setLearningRate } from './optimizer';
import { readHistory, writeHistory } from './outputs';
import { withStepRandom } from './seeded-random';

/** One batch of a split: 3×triplets images in q,p,n order, HWC, scaled to [0, 1]. Triplets may be 0 when bad samples were skipped. */
export interface TripletBatch {
  images: Float32Array;
  triplets: number;
  /** Class id of each image, present when triplet_mining.labels is folders. */
  classes?: Int32Array;
}

/** The data a run reads; implemented over the data pipeline. */
export interface TripletData {
  stepsPerEpoch(split: 'train' | 'val'): number;
  /** Batches of one epoch from `startStep` on, in an order fixed by the seed and the epoch. */
  batches(split: 'train' | 'val', epoch: number, startStep: number): AsyncIterable<TripletBatch>;
}

export interface TrainArgs {
  config: JobConfig;
  model: tf.LayersModel;
  data: TripletData;
  jobDir: ObjectStore;
  /** Stops the run once this many steps have completed in total, counting resumed ones. */
  maxSteps?: number;
  /** Aborting stops the run after the current step with a checkpoint; the run then reports `interrupted`. */
  signal?: AbortSignal;
  observers?: TrainingObserver[];
}

export interface TrainResult {
  status: RunStatus;
  state: TrainingState;
  history: EpochRecord[];
}

/** Best weights by validation loss and the final model, in the TensorFlow.js layers format. */
export const BEST_MODEL_PREFIX = 'best';
export const FINAL_MODEL_PREFIX = 'final';

/** Identifies the architecture a config builds, so that a job dir is never resumed with another. */
export function modelKey(config: JobConfig): string {
  return `${config.model_id}@${config.input_size}px/width=${config.width_multiplier}/head=${config.head_units}`;
}

export { modelBuildArgs } from '../config/model-options';

export class ResumeMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResumeMismatchError';
  }
}

/**
 * Trains a model on triplets, resuming from the newest complete checkpoint in
 * the job dir. Checkpoints after every epoch (and every `checkpoint.every_steps`
 * steps), validates after every epoch, keeps the best weights by validation
 * loss and writes the final model, the CSV log and the history.
 */
export async function train(args: TrainArgs): Promise<TrainResult> {
  const { config, model, data, jobDir } = args;
  const observer = combineObservers(args.observers ?? []);
  const optimizer = createOptimizer(config);
  const loss = getLoss(config.loss, { margin: config.margin, compat: config.compat });
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);

  const stepsPerEpoch = data.stepsPerEpoch('train');
  const validationSteps = data.stepsPerEpoch('val');
  if (stepsPerEpoch === 0) {
    throw new RangeError(`The training CSV ${config.train_csv} has fewer triplets than one batch (batch_size ${config.batch_size}); lower batch_size or add triplets`);
  }
  if (validationSteps === 0) {
    throw new RangeError(`The validation CSV ${config.val_csv} has fewer triplets than one batch (batch_size ${config.batch_size}); lower batch_size or add triplets`);
  }
  const epochSteps = config.epochs * stepsPerEpoch;
  const totalSteps = args.maxSteps === undefined ? epochSteps : Math.min(args.maxSteps, epochSteps);

  // Resume from the newest complete checkpoint, if any.
  await removeIncompleteCheckpoints(jobDir);
  const checkpoints = await listCheckpoints(jobDir);
  const latest = checkpoints.at(-1);
  let state: TrainingState = { epoch: 0, stepInEpoch: 0, globalStep: 0, bestValLoss: null, modelKey: modelKey(config) };
  let history: EpochRecord[] = [];
  if (latest) {
    if (latest.manifest.state.modelKey !== state.modelKey) {
      throw new ResumeMismatchError(
        `The job dir ${jobDir.uri} contains checkpoints of ${latest.manifest.state.modelKey}, but the config trains ` +
          `${state.modelKey}; use another job dir or the config that wrote them`,
      );
    }
    state = await restoreCheckpoint(jobDir, latest, model, optimizer);
    history = (await readHistory(jobDir)).filter((record) => record.epoch <= state.epoch);
  }
  observer.onStart({
    totalEpochs: config.epochs,
    stepsPerEpoch,
    totalSteps,
    validationSteps,
    parameters: countParameters(model),
    resumedFrom: latest ? state : null,
  });

  const checkpoint = async (valLoss: number | null): Promise<void> => {
    const started = performance.now();
    const { info, bytes } = await saveCheckpoint({ store: jobDir, model, optimizer, state, valLoss });
    await pruneCheckpoints(jobDir, config.checkpoint.keep_last);
    observer.onCheckpoint({
      prefix: info.prefix,
      globalStep: state.globalStep,
      epoch: state.epoch,
      bytes,
      seconds: (performance.now() - started) / 1000,
    });
  };

  // The loss runs on the mined triplets. Training accuracy stays on the CSV
  // triplets, as validation does, so that it means the same for every strategy.
  const mining = config.triplet_mining;
  const trainStep = (images: tf.Tensor4D, batch: TripletBatch): { loss: number; accuracy: number } => {
    const classes = mining.strategy === 'none' ? undefined : batchClasses(mining.labels, batch);
    let accuracy: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const embeddings = model.apply(images, { training: true }) as tf.Tensor2D;
      accuracy = tf.keep(tripletAccuracy(embeddings, config.compat));
      return loss(classes ? mineTriplets(embeddings, classes, mining.strategy, config.compat) : embeddings);
    }, variables);
    optimizer.applyGradients(grads);
    const result = { loss: value.dataSync()[0], accuracy: (accuracy as tf.Scalar).dataSync()[0] };
    tf.dispose([value, accuracy as tf.Scalar, ...Object.values(grads)]);
    return result;
  };

  let status: RunStatus = 'completed';
  const shape = (triplets: number): [number, number, number, number] => [3 * triplets, config.input_size, config.input_size, 3];

  while (state.epoch < config.epochs && state.globalStep < totalSteps) {
    const epoch = state.epoch;
    const epochStarted = performance.now();
    let lossSum = 0;
    let accuracySum = 0;
    let stepsRun = 0;
    let imagesRun = 0;
    let waitStarted = performance.now();

    for await (const batch of data.batches('train', epoch, state.stepInEpoch)) {
      const dataWaitSeconds = (performance.now() - waitStarted) / 1000;
      if (batch.triplets === 0) {
        // Every triplet of this step was skipped for bad images. The step still
        // counts, so that step numbers keep matching the data order on resume.
        state = { ...state, stepInEpoch: state.stepInEpoch + 1, globalStep: state.globalStep + 1 };
        waitStarted = performance.now();
        continue;
      }
      const stepStarted = performance.now();
      const learningRate = learningRateAt(config, state.globalStep, epochSteps);
      if (config.lr_schedule !== 'constant') setLearningRate(optimizer, learningRate);
      const images = tf.tensor4d(batch.images, shape(batch.triplets));
      const metrics = withStepRandom(config.seed, state.globalStep, () => trainStep(images, batch));
      images.dispose();
      if (!Number.isFinite(metrics.loss)) {
        throw new RangeError(
          `The training loss became ${metrics.loss} at step ${state.globalStep + 1}; lower lr (now ${config.lr}) or check the data`,
        );
      }

      state = { ...state, stepInEpoch: state.stepInEpoch + 1, globalStep: state.globalStep + 1 };
      lossSum += metrics.loss;
      accuracySum += metrics.accuracy;
      stepsRun++;
      imagesRun += 3 * batch.triplets;
      observer.onStep({
        epoch: epoch + 1,
        stepInEpoch: state.stepInEpoch,
        stepsPerEpoch,
        globalStep: state.globalStep,
        totalSteps,
        loss: metrics.loss,
        accuracy: metrics.accuracy,
        epochLoss: lossSum / stepsRun,
        epochAccuracy: accuracySum / stepsRun,
        images: 3 * batch.triplets,
        stepSeconds: (performance.now() - stepStarted) / 1000,
        dataWaitSeconds,
      });

      if (args.signal?.aborted) {
        status = 'interrupted';
        break;
      }
      if (state.globalStep >= totalSteps) break;
      const everySteps = config.checkpoint.every_steps;
      if (everySteps > 0 && state.globalStep % everySteps === 0 && state.stepInEpoch < stepsPerEpoch) {
        await checkpoint(null);
      }
      waitStarted = performance.now();
    }

    if (status === 'interrupted') {
      await checkpoint(null);
      break;
    }

    // Validate at the end of each epoch, and once when max steps end the run mid-epoch.
    observer.onValidationStart(epoch + 1);
    const validation = await validate(model, data, epoch, loss, config, shape);
    const epochEnded = state.stepInEpoch >= stepsPerEpoch;
    const seconds = (performance.now() - epochStarted) / 1000;
    const record: EpochRecord = {
      epoch: epoch + 1,
      loss: stepsRun > 0 ? lossSum / stepsRun : NaN,
      accuracy: stepsRun > 0 ? accuracySum / stepsRun : NaN,
      val_loss: validation.loss,
      val_accuracy: validation.accuracy,
      lr: learningRateAt(config, state.globalStep, epochSteps),
      seconds,
      images_per_second: imagesRun / seconds,
    };
    history = [...history.filter((r) => r.epoch !== record.epoch), record];
    if (epochEnded) state = { ...state, epoch: epoch + 1, stepInEpoch: 0 };

    const improved = state.bestValLoss === null || validation.loss < state.bestValLoss;
    if (improved) {
      state = { ...state, bestValLoss: validation.loss };
      await saveLayersModel(model, jobDir, BEST_MODEL_PREFIX);
    }
    await writeHistory(jobDir, history);
    observer.onEpochEnd(record);
    await checkpoint(validation.loss);
    // A stop requested during the epoch's last step or its validation ends
    // the run here: the epoch's checkpoint is already written.
    if (args.signal?.aborted && state.globalStep < totalSteps) {
      status = 'interrupted';
      break;
    }
  }

  if (status === 'completed') await saveLayersModel(model, jobDir, FINAL_MODEL_PREFIX);
  optimizer.dispose();
  observer.onEnd({ status, state, history });
  return { status, state, history };
}

async function validate(
  model: tf.LayersModel,
  data: TripletData,
  epoch: number,
  loss: TripletLoss,
  config: JobConfig,
  shape: (triplets: number) => [number, number, number, number],
): Promise<{ loss: number; accuracy: number }> {
  let lossSum = 0;
  let accuracySum = 0;
  let triplets = 0;
  for await (const batch of data.batches('val', epoch, 0)) {
    if (batch.triplets === 0) continue;
    const [batchLoss, batchAccuracy] = tf.tidy(() => {
      const images = tf.tensor4d(batch.images, shape(batch.triplets));
      const embeddings = model.apply(images, { training: false }) as tf.Tensor2D;
      return [loss(embeddings).dataSync()[0], tripletAccuracy(embeddings, config.compat).dataSync()[0]];
    });
    lossSum += batchLoss * batch.triplets;
    accuracySum += batchAccuracy * batch.triplets;
    triplets += batch.triplets;
  }
  return { loss: lossSum / triplets, accuracy: accuracySum / triplets };
}
