import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the trainer exports, in one place: the Grafana dashboard and
 * the alert rules are checked against these names. Names follow Prometheus
 * conventions: a `mildnet_trainer_` prefix, units as suffixes, `_total` only
 * on counters.
 */
export interface TrainerMetricsArgs {
  registry?: Registry;
  /** Reads tensor counts at scrape time; the trainer passes TensorFlow.js's tf.memory. */
  tensorMemory?: () => { numTensors: number; numBytes: number };
}

export function createTrainerMetrics(args: TrainerMetricsArgs = {}) {
  const registry = args.registry ?? new Registry();
  const tensorMemory = args.tensorMemory;
  const registers = [registry];
  const metrics = {
    registry,
    loss: new Gauge({
      name: 'mildnet_trainer_loss',
      help: 'Mean loss of the current epoch (split="train") or of the last validation (split="val").',
      labelNames: ['split'] as const,
      registers,
    }),
    tripletAccuracy: new Gauge({
      name: 'mildnet_trainer_triplet_accuracy_ratio',
      help: 'Fraction of triplets whose negative is farther from the query than the positive, per split.',
      labelNames: ['split'] as const,
      registers,
    }),
    epoch: new Gauge({ name: 'mildnet_trainer_epoch', help: '1-based epoch being trained or last finished.', registers }),
    epochs: new Gauge({ name: 'mildnet_trainer_epochs', help: 'Epochs the run trains in all.', registers }),
    step: new Gauge({ name: 'mildnet_trainer_step', help: 'Training steps completed since the start of training, resumed ones included.', registers }),
    steps: new Gauge({ name: 'mildnet_trainer_steps', help: 'Training steps the run takes in all.', registers }),
    stepsRun: new Counter({ name: 'mildnet_trainer_steps_total', help: 'Training steps run by this process.', registers }),
    images: new Counter({ name: 'mildnet_trainer_images_total', help: 'Training images processed by this process.', registers }),
    imagesPerSecond: new Gauge({
      name: 'mildnet_trainer_images_per_second',
      help: 'Training throughput over the last steps, in images per second.',
      registers,
    }),
    stepDuration: new Histogram({
      name: 'mildnet_trainer_step_duration_seconds',
      help: 'Compute time of a training step (forward, backward and update), without the wait for data.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    dataWait: new Histogram({
      name: 'mildnet_trainer_data_wait_seconds',
      help: 'Time a training step waited for its batch; high values mean decoding does not keep up.',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    checkpointDuration: new Histogram({
      name: 'mildnet_trainer_checkpoint_duration_seconds',
      help: 'Time to write a checkpoint to the job dir.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    checkpointBytes: new Gauge({ name: 'mildnet_trainer_checkpoint_bytes', help: 'Size of the last checkpoint written.', registers }),
    checkpoints: new Counter({ name: 'mildnet_trainer_checkpoints_total', help: 'Checkpoints written by this process.', registers }),
    lastCheckpoint: new Gauge({
      name: 'mildnet_trainer_last_checkpoint_timestamp_seconds',
      help: 'Unix time of the last checkpoint written successfully.',
      registers,
    }),
    resumedFromEpoch: new Gauge({
      name: 'mildnet_trainer_resumed_from_epoch',
      help: 'Epochs completed in the checkpoint this process resumed from; 0 for a fresh start.',
      registers,
    }),
    resumedFromStep: new Gauge({
      name: 'mildnet_trainer_resumed_from_step',
      help: 'Global step of the checkpoint this process resumed from; 0 for a fresh start.',
      registers,
    }),
    backend: new Gauge({
      name: 'mildnet_trainer_backend_info',
      help: 'Compute backend in use (value 1, the backend in the label).',
      labelNames: ['backend'] as const,
      registers,
    }),
    tensors: new Gauge({
      name: 'mildnet_trainer_tensors',
      help: 'Tensors allocated by TensorFlow.js.',
      registers,
      collect() {
        if (tensorMemory) this.set(tensorMemory().numTensors);
      },
    }),
    tensorBytes: new Gauge({
      name: 'mildnet_trainer_tensor_bytes',
      help: 'Bytes held by TensorFlow.js tensors.',
      registers,
      collect() {
        if (tensorMemory) this.set(tensorMemory().numBytes);
      },
    }),
    skippedTriplets: new Counter({
      name: 'mildnet_trainer_skipped_triplets_total',
      help: 'Triplets skipped because an image was missing or corrupt (skip_bad_samples).',
      registers,
    }),
    storageRetries: new Counter({
      name: 'mildnet_trainer_storage_retries_total',
      help: 'Object storage requests retried after a transient error.',
      labelNames: ['operation'] as const,
      registers,
    }),
  };
  collectDefaultMetrics({ register: registry });
  return metrics;
}

export type TrainerMetrics = ReturnType<typeof createTrainerMetrics>;
