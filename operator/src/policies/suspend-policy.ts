import type { V1Job } from '@kubernetes/client-node';

import type { MildnetJob } from '../api/types';

/**
 * The Job's spec.suspend the operator wants.
 *
 * Without a queue, spec.runPolicy.suspend is copied to the Job in both
 * directions. With spec.queueName, Kueue admits the Job by unsuspending it:
 * the operator creates the Job suspended and afterwards only ever suspends
 * it (when spec.runPolicy.suspend is true), so it never overrides Kueue's
 * admission decision.
 */
export function desiredJobSuspend(mj: MildnetJob, job: V1Job | undefined): boolean {
  const requested = mj.spec.runPolicy?.suspend === true;
  if (!mj.spec.queueName) return requested;
  if (job === undefined) return true;
  return requested || job.spec?.suspend === true;
}
