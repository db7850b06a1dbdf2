import type { TrainingState } from './checkpoint';

/** Metrics of one finished epoch; one row of training_log.csv. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss: number;
  val_accuracy: number;
  lr: number;
  seconds: number;
  images_per_second: number;
}

export interface StartEvent {
  totalEpochs: number;
  stepsPerEpoch: number;
  totalSteps: number;
  validationSteps: number;
  parameters: { total: number; trainable: number };
  /** State of the checkpoint that the run resumed from, or null for a fresh start. */
  resumedFrom: TrainingState | null;
}

export interface StepEvent {
  /** 1-based epoch that the step belongs to. */
  epoch: number;
  /** Steps done in this epoch, including this one. */
  stepInEpoch: number;
  stepsPerEpoch: number;
  globalStep: number;
  totalSteps: number;
  loss: number;
  accuracy: number;
  /** Mean loss and accuracy of the epoch so far. */
  epochLoss: number;
  epochAccuracy: number;
  images: number;
  stepSeconds: number;
  /** Time the step waited for its batch; near zero when decoding keeps up. */
  dataWaitSeconds: number;
}

export interface CheckpointEvent {
  prefix: string;
  globalStep: number;
  epoch: number;
  bytes: number;
  seconds: number;
}

export type RunStatus = 'completed' | 'interrupted';

export interface EndEvent {
  status: RunStatus;
  state: TrainingState;
  history: EpochRecord[];
}

/** Receives progress of a training run; every method is optional. */
export interface TrainingObserver {
  onStart?(event: StartEvent): void;
  onStep?(event: StepEvent): void;
  onValidationStart?(epoch: number): void;
  onEpochEnd?(record: EpochRecord): void;
  onCheckpoint?(event: CheckpointEvent): void;
  onEnd?(event: EndEvent): void;
}

/** Forwards each event to every observer in turn. */
export function combineObservers(observers: readonly TrainingObserver[]): Required<TrainingObserver> {
  const each =
    <K extends keyof TrainingObserver>(name: K) =>
    (event: Parameters<Required<TrainingObserver>[K]>[0]): void => {
      for (const observer of observers) (observer[name] as ((e: typeof event) => void) | undefined)?.call(observer, event);
    };
  return {
    onStart: each('onStart'),
    onStep: each('onStep'),
    onValidationStart: each('onValidationStart'),
    onEpochEnd: each('onEpochEnd'),
    onCheckpoint: each('onCheckpoint'),
    onEnd: each('onEnd'),
  };
}
