import type { MildnetJobStatus } from '../../src/api/types';
import { ttlDecision } from '../../src/policies/ttl-policy';
import { makeMildnetJob } from '../fixtures';

const succeeded: MildnetJobStatus = {
  phase: 'Succeeded',
  completionTime: '2025-03-01T12:00:00Z',
  conditions: [{ type: 'Succeeded', status: 'True', reason: 'JobSucceeded', message: '', lastTransitionTime: '2025-03-01T12:00:00Z' }],
};
const running: MildnetJobStatus = { phase: 'Running', conditions: [] };

describe('ttlDecision', () => {
  const cases = [
    { name: 'no TTL', ttl: undefined, status: succeeded, now: '2025-03-02T00:00:00Z', expected: { action: 'none' } },
    { name: 'still running', ttl: 10, status: running, now: '2025-03-02T00:00:00Z', expected: { action: 'none' } },
    { name: 'before expiry', ttl: 60, status: succeeded, now: '2025-03-01T12:00:15Z', expected: { action: 'requeue', afterMs: 45_000 } },
    { name: 'at expiry', ttl: 60, status: succeeded, now: '2025-03-01T12:01:00Z', expected: { action: 'delete' } },
    { name: 'after expiry', ttl: 60, status: succeeded, now: '2025-03-01T13:00:00Z', expected: { action: 'delete' } },
    { name: 'zero TTL', ttl: 0, status: succeeded, now: '2025-03-01T12:00:00Z', expected: { action: 'delete' } },
  ];
  test.each(cases)('$name', ({ ttl, status, now, expected }) => {
    const mj = { ...makeMildnetJob({ runPolicy: { ttlSecondsAfterFinished: ttl } }), status };
    expect(ttlDecision(mj, new Date(now))).toEqual(expected);
  });
});
