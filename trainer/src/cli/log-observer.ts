import type { Logger } from 'pino';

import type { CheckpointEvent, EndEvent, EpochRecord, StartEvent, StepEvent, TrainingObserver } from '../training/events';

/** Logs a step line at most this often; epochs, checkpoints, start and end are always logged. */
const STEP_LOG_INTERVAL_MS = 10_000;

/** Structured progress logs for non-interactive runs (pods, CI). */
export class LogObserver implements TrainingObserver {
  private lastStepLog = 0;

  constructor(private readonly logger: Logger) {}

  onStart(event: StartEvent): void {
    this.logger.info(
      {
        totalEpochs: event.totalEpochs,
        stepsPerEpoch: event.stepsPerEpoch,
        totalSteps: event.totalSteps,
        validationSteps: event.validationSteps,
        parameters: event.parameters.total,
        trainableParameters: event.parameters.trainable,
        resumedFromStep: event.resumedFrom?.globalStep ?? null,
      },
      event.resumedFrom ? 'training resumed from checkpoint' : 'training started',
    );
  }

  onStep(event: StepEvent): void {
    const now = performance.now();
    if (now - this.lastStepLog < STEP_LOG_INTERVAL_MS) return;
    this.lastStepLog = now;
    this.logger.info(
      {
        epoch: event.epoch,
        step: event.globalStep,
        totalSteps: event.totalSteps,
        loss: event.epochLoss,
        accuracy: event.epochAccuracy,
        imagesPerSecond: event.images / (event.stepSeconds + event.dataWaitSeconds),
        dataWaitSeconds: event.dataWaitSeconds,
      },
      'training step',
    );
  }

  onEpochEnd(record: EpochRecord): void {
    this.logger.info({ ...record }, 'epoch finished');
  }

  onCheckpoint(event: CheckpointEvent): void {
    this.logger.info({ ...event }, 'checkpoint written');
  }

  onEnd(event: EndEvent): void {
    this.logger.info({ status: event.status, step: event.state.globalStep, epoch: event.state.epoch }, 'training ended');
  }
}
