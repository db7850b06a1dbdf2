import { desiredJobSuspend } from '../../src/policies/suspend-policy';
import { makeJob, makeMildnetJob } from '../fixtures';

describe('desiredJobSuspend', () => {
  const cases = [
    { name: 'default runs', suspend: undefined, queue: undefined, jobSuspended: undefined, expected: false },
    { name: 'suspend requested', suspend: true, queue: undefined, jobSuspended: false, expected: true },
    { name: 'resume requested', suspend: false, queue: undefined, jobSuspended: true, expected: false },
    { name: 'queued Job is created suspended', suspend: false, queue: 'q', jobSuspended: undefined, expected: true },
    { name: 'Kueue admitted the Job', suspend: false, queue: 'q', jobSuspended: false, expected: false },
    { name: 'Kueue has not admitted it yet', suspend: false, queue: 'q', jobSuspended: true, expected: true },
    { name: 'suspend under Kueue', suspend: true, queue: 'q', jobSuspended: false, expected: true },
  ];
  test.each(cases)('$name', ({ suspend, queue, jobSuspended, expected }) => {
    const mj = makeMildnetJob({ runPolicy: { suspend }, queueName: queue });
    const job = jobSuspended === undefined ? undefined : makeJob({ suspend: jobSuspended });
    expect(desiredJobSuspend(mj, job)).toBe(expected);
  });
});
