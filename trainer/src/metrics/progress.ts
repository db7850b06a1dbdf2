import type { CheckpointEvent, EndEvent, EpochRecord, StartEvent, StepEvent, TrainingObserver } from '../training/events';

/**
 * The trainer's progress as `GET /progress` returns it; the operator copies
 * it into the MildnetJob's status. docs/progress.md describes the contract.
 */
export interface Progress {
  epoch: number;
  totalEpochs: number;
  step: number;
  totalSteps: number;
  trainLoss: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  lastCheckpoint: { epoch: number; step: number; time: string } | null;
  phase: 'starting' | 'training' | 'validating' | 'checkpointing' | 'finished' | 'interrupted';
  updatedTime: string;
}

/** Keeps the latest Progress up to date from training events. */
export class ProgressTracker implements TrainingObserver {
  private state: Progress;

  constructor(private readonly now: () => Date = () => new Date()) {
    this.state = {
      epoch: 0,
      totalEpochs: 0,
      step: 0,
      totalSteps: 0,
      trainLoss: null,
      valLoss: null,
      valAccuracy: null,
      lastCheckpoint: null,
      phase: 'starting',
      updatedTime: this.now().toISOString(),
    };
  }

  get progress(): Progress {
    return { ...this.state };
  }

  private update(fields: Partial<Progress>): void {
    this.state = { ...this.state, ...fields, updatedTime: this.now().toISOString() };
  }

  onStart(event: StartEvent): void {
    this.update({
      epoch: event.resumedFrom ? event.resumedFrom.epoch : 0,
      totalEpochs: event.totalEpochs,
      step: event.resumedFrom?.globalStep ?? 0,
      totalSteps: event.totalSteps,
      phase: 'training',
    });
  }

  onStep(event: StepEvent): void {
    this.update({ epoch: event.epoch, step: event.globalStep, trainLoss: event.epochLoss, phase: 'training' });
  }

  onValidationStart(): void {
    this.update({ phase: 'validating' });
  }

  onEpochEnd(record: EpochRecord): void {
    this.update({ epoch: record.epoch, trainLoss: record.loss, valLoss: record.val_loss, valAccuracy: record.val_accuracy, phase: 'checkpointing' });
  }

  onCheckpoint(event: CheckpointEvent): void {
    this.update({ lastCheckpoint: { epoch: event.epoch, step: event.globalStep, time: this.now().toISOString() }, phase: 'training' });
  }

  onEnd(event: EndEvent): void {
    this.update({ phase: event.status === 'completed' ? 'finished' : 'interrupted' });
  }
}
