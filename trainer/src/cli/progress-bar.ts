import type { CheckpointEvent, EpochRecord, StartEvent, StepEvent, TrainingObserver } from '../training/events';

const BAR_WIDTH = 24;
/** Redraws at most this often, so that fast steps do not flood a slow terminal. */
const REDRAW_INTERVAL_MS = 100;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${secs}` : `${minutes}:${secs}`;
}

/**
 * A one-line progress bar for terminals: epoch, steps, loss, accuracy,
 * images/s and the estimated time left; epoch summaries stay on screen.
 */
export class ProgressBar implements TrainingObserver {
  private totalSteps = 0;
  private stepsDoneAtStart = 0;
  private started = 0;
  private lastDraw = 0;
  private recentImages = 0;
  private recentSeconds = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  onStart(event: StartEvent): void {
    this.totalSteps = event.totalSteps;
    this.stepsDoneAtStart = event.resumedFrom?.globalStep ?? 0;
    this.started = performance.now();
    const resumed = event.resumedFrom
      ? `, resuming after step ${event.resumedFrom.globalStep} (epoch ${event.resumedFrom.epoch + 1})`
      : '';
    this.print(
      `Training ${event.totalEpochs} epochs of ${event.stepsPerEpoch} steps; ` +
        `${event.parameters.total.toLocaleString('en-US')} parameters, ${event.parameters.trainable.toLocaleString('en-US')} trainable${resumed}`,
    );
  }

  onStep(event: StepEvent): void {
    // Images/s over an exponentially decaying window, so the figure follows changes.
    this.recentImages = this.recentImages * 0.9 + event.images;
    this.recentSeconds = this.recentSeconds * 0.9 + event.stepSeconds + event.dataWaitSeconds;
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_INTERVAL_MS && event.stepInEpoch !== event.stepsPerEpoch) return;
    this.lastDraw = now;

    const fraction = event.stepInEpoch / event.stepsPerEpoch;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(BAR_WIDTH - filled);
    const elapsed = (now - this.started) / 1000;
    const stepsDone = event.globalStep - this.stepsDoneAtStart;
    const remaining = stepsDone > 0 ? (elapsed / stepsDone) * (this.totalSteps - event.globalStep) : NaN;
    const rate = this.recentSeconds > 0 ? this.recentImages / this.recentSeconds : 0;
    const line =
      `epoch ${event.epoch} [${bar}] ${event.stepInEpoch}/${event.stepsPerEpoch} ` +
      `loss ${event.epochLoss.toFixed(4)} acc ${(event.epochAccuracy * 100).toFixed(1)}% ` +
      `${rate.toFixed(1)} img/s ETA ${formatDuration(remaining)}`;
    this.stream.write(`\r${line}\x1b[K`);
  }

  onValidationStart(epoch: number): void {
    this.stream.write(`\r\x1b[Kepoch ${epoch}: validating…`);
  }

  onEpochEnd(record: EpochRecord): void {
    this.print(
      `epoch ${record.epoch}: loss ${record.loss.toFixed(4)} acc ${(record.accuracy * 100).toFixed(1)}% ` +
        `val_loss ${record.val_loss.toFixed(4)} val_acc ${(record.val_accuracy * 100).toFixed(1)}% ` +
        `(${formatDuration(record.seconds)}, ${record.images_per_second.toFixed(1)} img/s)`,
    );
  }

  onCheckpoint(event: CheckpointEvent): void {
    this.print(`checkpoint ${event.prefix} written (${(event.bytes / 1e6).toFixed(1)} MB in ${event.seconds.toFixed(1)} s)`);
  }

  private print(line: string): void {
    this.stream.write(`\r\x1b[K${line}\n`);
  }
}
