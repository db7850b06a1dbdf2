import type { Condition } from './types';
import { rfc3339 } from './time';

/** Condition types set on a MildnetJob. */
export const ConditionType = {
  Created: 'Created',
  Running: 'Running',
  Suspended: 'Suspended',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Every reason the operator writes into a condition or an event. */
export const Reason = {
  JobCreated: 'JobCreated',
  JobNameConflict: 'JobNameConflict',
  PodsRunning: 'PodsRunning',
  PodsPending: 'PodsPending',
  JobSuspended: 'JobSuspended',
  JobResumed: 'JobResumed',
  JobFinished: 'JobFinished',
  JobSucceeded: 'JobSucceeded',
  BackoffLimitExceeded: 'BackoffLimitExceeded',
  DeadlineExceeded: 'DeadlineExceeded',
  InvalidConfig: 'InvalidConfig',
  InvalidSpec: 'InvalidSpec',
  JobFailed: 'JobFailed',
  TTLExpired: 'TTLExpired',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** A condition the reconciler wants, before lastTransitionTime is decided. */
export interface DesiredCondition {
  type: ConditionType;
  status: 'True' | 'False';
  reason: Reason;
  message: string;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: ConditionType): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * Sets a condition in a copy of the list. lastTransitionTime changes only when
 * the status flips (or the condition is new); reason and message follow the
 * desired condition either way. Returns the new list and whether the status flipped.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  desired: DesiredCondition,
  now: Date,
  observedGeneration?: number,
): { conditions: Condition[]; flipped: boolean } {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === desired.type);
  const previous = index >= 0 ? list[index] : undefined;
  const flipped = previous?.status !== desired.status;
  const next: Condition = {
    type: desired.type,
    status: desired.status,
    reason: desired.reason,
    message: desired.message,
    lastTransitionTime: flipped || !previous ? rfc3339(now) : previous.lastTransitionTime,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return { conditions: list, flipped };
}
