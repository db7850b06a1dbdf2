import type { V1Job } from '@kubernetes/client-node';

import { ConditionType, Reason } from '../../src/api/conditions';
import type { MildnetJobStatus, Progress } from '../../src/api/types';
import { computeStatus, isTerminal } from '../../src/policies/status-policy';
import { makeJob, makeMildnetJob, makePod } from '../fixtures';

const now = new Date('2025-03-01T12:00:00Z');
const earlier = '2025-03-01T11:00:00Z';

function condition(status: MildnetJobStatus, type: ConditionType) {
  return status.conditions?.find((c) => c.type === type);
}

const failedJob = (reason: string): V1Job =>
  makeJob({ status: { failed: 4, conditions: [{ type: 'Failed', status: 'True', reason, message: 'detail', lastTransitionTime: new Date(earlier) }] } });

describe('computeStatus', () => {
  const cases: Array<{
    name: string;
    job?: V1Job;
    pods?: string[];
    phase: string;
    trueConditions: ConditionType[];
    reason?: [ConditionType, Reason];
  }> = [
    { name: 'no Job yet', phase: 'Pending', trueConditions: [] },
    { name: 'Job with pending pod', job: makeJob(), pods: ['Pending'], phase: 'Pending', trueConditions: ['Created'] },
    { name: 'Job with running pod', job: makeJob(), pods: ['Running'], phase: 'Running', trueConditions: ['Created', 'Running'], reason: ['Running', 'PodsRunning'] },
    { name: 'suspended Job', job: makeJob({ suspend: true }), phase: 'Suspended', trueConditions: ['Created', 'Suspended'], reason: ['Suspended', 'JobSuspended'] },
    {
      name: 'complete Job',
      job: makeJob({ status: { succeeded: 1, completionTime: new Date(earlier), conditions: [{ type: 'Complete', status: 'True' }] } }),
      phase: 'Succeeded',
      trueConditions: ['Created', 'Succeeded'],
      reason: ['Succeeded', 'JobSucceeded'],
    },
    { name: 'backoff limit', job: failedJob('BackoffLimitExceeded'), phase: 'Failed', trueConditions: ['Created', 'Failed'], reason: ['Failed', 'BackoffLimitExceeded'] },
    { name: 'deadline', job: failedJob('DeadlineExceeded'), phase: 'Failed', trueConditions: ['Created', 'Failed'], reason: ['Failed', 'DeadlineExceeded'] },
    { name: 'exit code 2', job: failedJob('PodFailurePolicy'), phase: 'Failed', trueConditions: ['Created', 'Failed'], reason: ['Failed', 'InvalidConfig'] },
    { name: 'other failure', job: failedJob('MaxFailedIndexesExceeded'), phase: 'Failed', trueConditions: ['Created', 'Failed'], reason: ['Failed', 'JobFailed'] },
  ];

  test.each(cases)('$name', ({ job, pods, phase, trueConditions, reason }) => {
    const { status } = computeStatus(makeMildnetJob(), {
      job,
      pods: (pods ?? []).map((p) => makePod(p)),
      progress: undefined,
      model: 'mildnet_vgg16',
      now,
    });
    expect(status.phase).toBe(phase);
    expect((status.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type).sort()).toEqual([...trueConditions].sort());
    if (reason) expect(condition(status, reason[0])?.reason).toBe(reason[1]);
    expect(status.model).toBe('mildnet_vgg16');
    expect(status.observedGeneration).toBe(1);
  });

  test('failure keeps the Job time as completionTime and counts restarts', () => {
    const { status } = computeStatus(makeMildnetJob(), { job: failedJob('BackoffLimitExceeded'), pods: [], progress: undefined, model: undefined, now });
    expect(status.completionTime).toBe(earlier);
    expect(status.restarts).toBe(4);
    expect(condition(status, 'Failed')?.message).toBe('Job exp1 failed (BackoffLimitExceeded): detail');
    expect(isTerminal(status)).toBe(true);
  });

  test('invalid spec fails at once with the message', () => {
    const { status, transitions } = computeStatus(makeMildnetJob(), {
      job: undefined,
      pods: [],
      progress: undefined,
      model: undefined,
      invalidSpec: 'spec.resources.gpuType "h100" is not configured',
      now,
    });
    expect(status.phase).toBe('Failed');
    expect(condition(status, 'Failed')).toMatchObject({ status: 'True', reason: 'InvalidSpec', message: 'spec.resources.gpuType "h100" is not configured' });
    expect(status.completionTime).toBe('2025-03-01T12:00:00Z');
    expect(transitions).toEqual([expect.objectContaining({ type: 'Failed', reason: 'InvalidSpec', warning: true })]);
  });

  test('name conflict sets Created False', () => {
    const { status, transitions } = computeStatus(makeMildnetJob(), {
      job: undefined,
      pods: [],
      progress: undefined,
      model: undefined,
      nameConflict: 'Job team-a/exp1 already exists',
      now,
    });
    expect(status.phase).toBe('Pending');
    expect(condition(status, 'Created')).toMatchObject({ status: 'False', reason: 'JobNameConflict', message: 'Job team-a/exp1 already exists' });
    expect(transitions.map((t) => [t.type, t.status, t.warning])).toEqual([['Created', 'False', true]]);
  });

  test('lastTransitionTime changes only when status flips', () => {
    const mj = makeMildnetJob();
    const first = computeStatus(mj, { job: makeJob(), pods: [makePod('Running')], progress: undefined, model: undefined, now });
    expect(first.transitions.map((t) => t.type)).toEqual(['Created', 'Running']);

    const later = new Date(now.getTime() + 60_000);
    const again = computeStatus({ ...mj, status: first.status }, { job: makeJob(), pods: [makePod('Running')], progress: undefined, model: undefined, now: later });
    expect(again.transitions).toEqual([]);
    expect(condition(again.status, 'Running')?.lastTransitionTime).toBe('2025-03-01T12:00:00Z');

    const suspended = computeStatus({ ...mj, status: again.status }, { job: makeJob({ suspend: true }), pods: [], progress: undefined, model: undefined, now: later });
    expect(condition(suspended.status, 'Running')).toMatchObject({ status: 'False', reason: 'JobSuspended', lastTransitionTime: '2025-03-01T12:01:00Z' });
    expect(condition(suspended.status, 'Created')?.lastTransitionTime).toBe('2025-03-01T12:00:00Z');
  });

  test('resume sets Suspended False with JobResumed', () => {
    const mj = makeMildnetJob();
    const suspended = computeStatus(mj, { job: makeJob({ suspend: true }), pods: [], progress: undefined, model: undefined, now });
    const resumed = computeStatus({ ...mj, status: suspended.status }, { job: makeJob(), pods: [], progress: undefined, model: undefined, now });
    expect(resumed.status.phase).toBe('Pending');
    expect(condition(resumed.status, 'Suspended')).toMatchObject({ status: 'False', reason: 'JobResumed' });
    expect(resumed.transitions.map((t) => [t.type, t.status])).toEqual([['Suspended', 'False']]);
  });

  test('conditions absent so far stay absent', () => {
    const { status } = computeStatus(makeMildnetJob(), { job: makeJob(), pods: [], progress: undefined, model: undefined, now });
    expect(condition(status, 'Running')).toBeUndefined();
    expect(condition(status, 'Suspended')).toBeUndefined();
  });

  test('progress is copied and kept when there is no new reading', () => {
    const progress: Progress = { epoch: 3, totalEpochs: 30, step: 900, valAccuracy: 0.81, updatedTime: earlier };
    const mj = makeMildnetJob();
    const first = computeStatus(mj, { job: makeJob(), pods: [makePod('Running')], progress, model: undefined, now });
    expect(first.status.progress).toEqual(progress);
    const second = computeStatus({ ...mj, status: first.status }, { job: makeJob(), pods: [makePod('Running')], progress: undefined, model: undefined, now });
    expect(second.status.progress).toEqual(progress);
  });

  test('startTime comes from the Job and is then kept', () => {
    const job = makeJob({ status: { startTime: new Date('2025-03-01T11:30:00Z') } });
    const { status } = computeStatus(makeMildnetJob(), { job, pods: [], progress: undefined, model: undefined, now });
    expect(status.startTime).toBe('2025-03-01T11:30:00Z');
    expect(status.jobName).toBe('exp1');
  });

  test('a terminating running pod does not count as running', () => {
    const pod = makePod('Running');
    pod.metadata!.deletionTimestamp = new Date(earlier);
    const { status } = computeStatus(makeMildnetJob(), { job: makeJob(), pods: [pod], progress: undefined, model: undefined, now });
    expect(status.phase).toBe('Pending');
  });
});
