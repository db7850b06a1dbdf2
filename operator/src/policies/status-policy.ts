import type { V1Job, V1Pod } from '@kubernetes/client-node';

import { ConditionType, Reason, isConditionTrue, setCondition, type DesiredCondition } from '../api/conditions';
import type { Condition, MildnetJob, MildnetJobStatus, Phase, Progress } from '../api/types';
import { rfc3339 } from '../api/time';
import { jobOutcome } from './failure-policy';

/** A condition whose status flipped in this reconcile; the reconciler turns it into an event. */
export interface Transition {
  type: ConditionType;
  status: 'True' | 'False';
  reason: string;
  message: string;
  warning: boolean;
}

export interface ObservedState {
  job: V1Job | undefined;
  pods: readonly V1Pod[];
  /** Newest progress read from the trainer, if any. */
  progress: Progress | undefined;
  /** Resolved model_id, when the spec resolved. */
  model: string | undefined;
  /** Set when the spec cannot run; marks the MildnetJob Failed with reason InvalidSpec. */
  invalidSpec?: string;
  /** Set when a child's name is taken by an object this MildnetJob does not control. */
  nameConflict?: string;
  now: Date;
}

export interface StatusUpdate {
  status: MildnetJobStatus;
  transitions: Transition[];
}

/** True once the MildnetJob has Succeeded or Failed; no child Job is created after that. */
export function isTerminal(status: MildnetJobStatus | undefined): boolean {
  return isConditionTrue(status?.conditions, ConditionType.Succeeded) || isConditionTrue(status?.conditions, ConditionType.Failed);
}

function toTime(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return rfc3339(value instanceof Date ? value : new Date(value));
}

/** Applies desired conditions one after the other and records which ones flipped. */
class ConditionBuilder {
  conditions: Condition[];
  readonly transitions: Transition[] = [];

  constructor(
    existing: readonly Condition[] | undefined,
    private readonly now: Date,
    private readonly generation: number | undefined,
  ) {
    this.conditions = [...(existing ?? [])];
  }

  set(desired: DesiredCondition): void {
    const result = setCondition(this.conditions, desired, this.now, this.generation);
    this.conditions = result.conditions;
    if (result.flipped) {
      const failed = desired.type === ConditionType.Failed && desired.status === 'True';
      const warning = failed || desired.reason === Reason.JobNameConflict;
      this.transitions.push({ ...desired, warning });
    }
  }

  /** Sets a False condition only when the condition already exists, so absent conditions stay absent. */
  clear(type: ConditionType, reason: Reason, message: string): void {
    if (this.conditions.some((c) => c.type === type)) this.set({ type, status: 'False', reason, message });
  }
}

/**
 * Computes a MildnetJob's status from its Job, the Job's pods and the
 * trainer's progress. Pure: the same inputs give the same status, and
 * lastTransitionTime changes only for conditions whose status flips.
 */
export function computeStatus(mj: MildnetJob, observed: ObservedState): StatusUpdate {
  const previous = mj.status ?? {};
  const generation = mj.metadata.generation;
  const conditions = new ConditionBuilder(previous.conditions, observed.now, generation);
  const status: MildnetJobStatus = { ...previous, observedGeneration: generation };
  if (observed.model !== undefined) status.model = observed.model;
  if (observed.progress !== undefined) status.progress = observed.progress;

  if (observed.invalidSpec !== undefined) {
    conditions.set({ type: ConditionType.Failed, status: 'True', reason: Reason.InvalidSpec, message: observed.invalidSpec });
    conditions.clear(ConditionType.Running, Reason.JobFinished, 'The MildnetJob failed');
    status.completionTime ??= rfc3339(observed.now);
    return finish(status, conditions, 'Failed');
  }

  if (observed.nameConflict !== undefined) {
    conditions.set({ type: ConditionType.Created, status: 'False', reason: Reason.JobNameConflict, message: observed.nameConflict });
    return finish(status, conditions, 'Pending');
  }

  const job = observed.job;
  if (job === undefined) return finish(status, conditions, 'Pending');

  status.jobName = job.metadata?.name;
  conditions.set({
    type: ConditionType.Created,
    status: 'True',
    reason: Reason.JobCreated,
    message: `Created Job ${job.metadata?.name}`,
  });
  status.startTime ??= toTime(job.status?.startTime);
  status.restarts = job.status?.failed ?? 0;

  const outcome = jobOutcome(job);
  if (outcome.finished) {
    status.completionTime ??= toTime(outcome.time ?? observed.now);
    conditions.clear(ConditionType.Running, Reason.JobFinished, outcome.message);
    conditions.clear(ConditionType.Suspended, Reason.JobFinished, outcome.message);
    if (outcome.succeeded) {
      conditions.set({ type: ConditionType.Succeeded, status: 'True', reason: Reason.JobSucceeded, message: outcome.message });
      return finish(status, conditions, 'Succeeded');
    }
    conditions.set({ type: ConditionType.Failed, status: 'True', reason: outcome.reason, message: outcome.message });
    return finish(status, conditions, 'Failed');
  }

  if (job.spec?.suspend === true) {
    conditions.set({ type: ConditionType.Suspended, status: 'True', reason: Reason.JobSuspended, message: `Job ${job.metadata?.name} is suspended` });
    conditions.clear(ConditionType.Running, Reason.JobSuspended, `Job ${job.metadata?.name} is suspended`);
    return finish(status, conditions, 'Suspended');
  }
  conditions.clear(ConditionType.Suspended, Reason.JobResumed, `Job ${job.metadata?.name} was resumed`);

  const running = observed.pods.find((pod) => pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp);
  if (running) {
    conditions.set({
      type: ConditionType.Running,
      status: 'True',
      reason: Reason.PodsRunning,
      message: `Pod ${running.metadata?.name} is running the trainer`,
    });
    return finish(status, conditions, 'Running');
  }
  conditions.clear(ConditionType.Running, Reason.PodsPending, `No pod of Job ${job.metadata?.name} is running`);
  return finish(status, conditions, 'Pending');
}

function finish(status: MildnetJobStatus, conditions: ConditionBuilder, phase: Phase): StatusUpdate {
  return { status: { ...status, phase, conditions: conditions.conditions }, transitions: conditions.transitions };
}
