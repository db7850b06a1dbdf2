import { jobOutcome, podFailurePolicy } from '../../src/policies/failure-policy';
import { makeJob } from '../fixtures';

describe('podFailurePolicy', () => {
  test('ignores disruptions before looking at exit codes', () => {
    const rules = podFailurePolicy().rules;
    expect(rules[0]).toEqual({ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] });
    expect(rules[1]).toEqual({ action: 'FailJob', onExitCodes: { containerName: 'trainer', operator: 'In', values: [2] } });
    expect(rules[2]).toEqual({ action: 'Count', onExitCodes: { containerName: 'trainer', operator: 'In', values: [75] } });
  });
});

describe('jobOutcome', () => {
  const cases = [
    { name: 'no Job', job: undefined, expected: { finished: false } },
    { name: 'running Job', job: makeJob({ status: { active: 1 } }), expected: { finished: false } },
    { name: 'failure target only', job: makeJob({ status: { conditions: [{ type: 'FailureTarget', status: 'True' }] } }), expected: { finished: false } },
    {
      name: 'complete',
      job: makeJob({ status: { completionTime: new Date('2025-01-01T00:00:00Z'), conditions: [{ type: 'Complete', status: 'True' }] } }),
      expected: { finished: true, succeeded: true, time: new Date('2025-01-01T00:00:00Z'), message: 'Job exp1 completed' },
    },
    {
      name: 'pod failure policy',
      job: makeJob({ status: { conditions: [{ type: 'Failed', status: 'True', reason: 'PodFailurePolicy', message: 'exit code 2' }] } }),
      expected: { finished: true, succeeded: false, reason: 'InvalidConfig', time: undefined, message: 'Job exp1 failed (PodFailurePolicy): exit code 2' },
    },
    {
      name: 'time as a string from a watch event',
      job: makeJob({ status: { conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', lastTransitionTime: '2025-01-01T00:00:05Z' as unknown as Date }] } }),
      expected: { finished: true, succeeded: false, reason: 'DeadlineExceeded', time: new Date('2025-01-01T00:00:05Z'), message: 'Job exp1 failed (DeadlineExceeded)' },
    },
  ];
  test.each(cases)('$name', ({ job, expected }) => {
    expect(jobOutcome(job)).toEqual(expected);
  });
});
