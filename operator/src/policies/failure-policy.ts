import type { V1Job, V1PodFailurePolicy } from '@kubernetes/client-node';

import { Reason } from '../api/conditions';
import { EXIT_INTERRUPTED_RESUMABLE, EXIT_INVALID_CONFIG, TRAINER_CONTAINER } from '../api/constants';

/**
 * The pod failure policy of every trainer Job. Rules apply in order:
 * 1. A pod with the DisruptionTarget condition (preemption, eviction, node
 *    drain) is replaced without counting against backoffLimit.
 * 2. Exit code 2 (invalid config or usage) fails the Job at once, because
 *    a retry would fail the same way.
 * 3. Exit code 75 (stopped after SIGTERM with a checkpoint written) counts as
 *    a retry. Ignore would restart a trainer that keeps being stopped without
 *    bound, while Count keeps backoffLimit as the upper limit; a real
 *    disruption is already ignored by rule 1.
 * Any other failure (exit code 1 included) counts against backoffLimit.
 */
export function podFailurePolicy(): V1PodFailurePolicy {
  return {
    rules: [
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      {
        action: 'FailJob',
        onExitCodes: { containerName: TRAINER_CONTAINER, operator: 'In', values: [EXIT_INVALID_CONFIG] },
      },
      {
        action: 'Count',
        onExitCodes: { containerName: TRAINER_CONTAINER, operator: 'In', values: [EXIT_INTERRUPTED_RESUMABLE] },
      },
    ],
  };
}

/** Terminal state of a batch/v1 Job as read from its conditions. */
export type JobOutcome =
  | { finished: false }
  | { finished: true; succeeded: true; time?: Date; message: string }
  | { finished: true; succeeded: false; reason: Reason; time?: Date; message: string };

/**
 * Reads whether a Job has finished and maps the Job controller's failure
 * reason to a MildnetJob reason. PodFailurePolicy can only come from the
 * FailJob rule above, so it means the trainer rejected its config.
 */
export function jobOutcome(job: V1Job | undefined): JobOutcome {
  const conditions = job?.status?.conditions ?? [];
  const complete = conditions.find((c) => c.type === 'Complete' && c.status === 'True');
  if (complete) {
    const time = job?.status?.completionTime ?? complete.lastTransitionTime;
    return { finished: true, succeeded: true, time: toDate(time), message: `Job ${job?.metadata?.name} completed` };
  }

  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  if (!failed) return { finished: false };
  const detail = failed.message ? `: ${failed.message}` : '';
  const reasons: Record<string, Reason> = {
    BackoffLimitExceeded: Reason.BackoffLimitExceeded,
    DeadlineExceeded: Reason.DeadlineExceeded,
    PodFailurePolicy: Reason.InvalidConfig,
  };
  return {
    finished: true,
    succeeded: false,
    reason: reasons[failed.reason ?? ''] ?? Reason.JobFailed,
    time: toDate(failed.lastTransitionTime),
    message: `Job ${job?.metadata?.name} failed (${failed.reason ?? 'no reason given'})${detail}`,
  };
}

function toDate(value: Date | string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
