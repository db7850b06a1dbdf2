import { setCondition } from '../src/api/conditions';

describe('setCondition', () => {
  const t0 = new Date('2025-01-01T00:00:00.123Z');
  const t1 = new Date('2025-01-01T01:00:00Z');

  test('adds a new condition with the time in whole seconds', () => {
    const { conditions, flipped } = setCondition(undefined, { type: 'Running', status: 'True', reason: 'PodsRunning', message: 'm' }, t0, 3);
    expect(flipped).toBe(true);
    expect(conditions).toEqual([
      { type: 'Running', status: 'True', reason: 'PodsRunning', message: 'm', lastTransitionTime: '2025-01-01T00:00:00Z', observedGeneration: 3 },
    ]);
  });

  test('keeps lastTransitionTime when only reason or message change', () => {
    const first = setCondition(undefined, { type: 'Running', status: 'False', reason: 'PodsPending', message: 'a' }, t0).conditions;
    const { conditions, flipped } = setCondition(first, { type: 'Running', status: 'False', reason: 'JobSuspended', message: 'b' }, t1);
    expect(flipped).toBe(false);
    expect(conditions[0]).toMatchObject({ reason: 'JobSuspended', message: 'b', lastTransitionTime: '2025-01-01T00:00:00Z' });
  });

  test('updates lastTransitionTime when status flips', () => {
    const first = setCondition(undefined, { type: 'Running', status: 'False', reason: 'PodsPending', message: 'a' }, t0).conditions;
    const { conditions, flipped } = setCondition(first, { type: 'Running', status: 'True', reason: 'PodsRunning', message: 'b' }, t1);
    expect(flipped).toBe(true);
    expect(conditions).toHaveLength(1);
    expect(conditions[0].lastTransitionTime).toBe('2025-01-01T01:00:00Z');
  });
});
