import type { CheckpointEvent, EpochRecord, StartEvent, StepEvent, TrainingObserver } from '../training/events';
import type { TrainerMetrics } from './definitions';

/** Updates the Prometheus metrics from training events. */
export class MetricsObserver implements TrainingObserver {
  private recentImages = 0;
  private recentSeconds = 0;

  constructor(private readonly metrics: TrainerMetrics) {}

  onStart(event: StartEvent): void {
    const m = this.metrics;
    m.epochs.set(event.totalEpochs);
    m.steps.set(event.totalSteps);
    m.epoch.set(event.resumedFrom ? event.resumedFrom.epoch : 0);
    m.step.set(event.resumedFrom?.globalStep ?? 0);
    m.resumedFromEpoch.set(event.resumedFrom?.epoch ?? 0);
    m.resumedFromStep.set(event.resumedFrom?.globalStep ?? 0);
  }

  onStep(event: StepEvent): void {
    const m = this.metrics;
    m.epoch.set(event.epoch);
    m.step.set(event.globalStep);
    m.stepsRun.inc();
    m.images.inc(event.images);
    m.loss.set({ split: 'train' }, event.epochLoss);
    m.tripletAccuracy.set({ split: 'train' }, event.epochAccuracy);
    m.stepDuration.observe(event.stepSeconds);
    m.dataWait.observe(event.dataWaitSeconds);
    this.recentImages = this.recentImages * 0.9 + event.images;
    this.recentSeconds = this.recentSeconds * 0.9 + event.stepSeconds + event.dataWaitSeconds;
    m.imagesPerSecond.set(this.recentImages / this.recentSeconds);
  }

  onEpochEnd(record: EpochRecord): void {
    const m = this.metrics;
    m.loss.set({ split: 'train' }, record.loss);
    m.tripletAccuracy.set({ split: 'train' }, record.accuracy);
    m.loss.set({ split: 'val' }, record.val_loss);
    m.tripletAccuracy.set({ split: 'val' }, record.val_accuracy);
  }

  onCheckpoint(event: CheckpointEvent): void {
    const m = this.metrics;
    m.checkpointDuration.observe(event.seconds);
    m.checkpointBytes.set(event.bytes);
    m.checkpoints.inc();
    m.lastCheckpoint.set(Date.now() / 1000);
  }
}
