import { FakeClock } from '../../src/runtime/clock';
import { LeaderElector, type LeaseClient, type LeaseRecord } from '../../src/runtime/leader-election';

/**
 * One Lease held in memory with resourceVersion checks as the API server
 * does them; the integration tests run the same election against a real
 * kube-apiserver.
 */
class MemoryLease {
  record: LeaseRecord | undefined;
  private version = 0;
  failing = new Set<string>();

  clientFor(name: string): LeaseClient {
    const check = () => {
      if (this.failing.has(name)) throw new Error('connection refused');
    };
    return {
      get: async () => {
        check();
        return this.record && { ...this.record };
      },
      create: async (record) => {
        check();
        if (this.record) throw Object.assign(new Error('AlreadyExists'), { code: 409 });
        this.record = { ...record, resourceVersion: String(++this.version) };
        return { ...this.record };
      },
      update: async (record) => {
        check();
        if (record.resourceVersion !== this.record?.resourceVersion) throw Object.assign(new Error('Conflict'), { code: 409 });
        this.record = { ...record, resourceVersion: String(++this.version) };
        return { ...this.record };
      },
    };
  }
}

function candidate(lease: MemoryLease, clock: FakeClock, identity: string) {
  const events: string[] = [];
  const elector = new LeaderElector({
    identity,
    clock,
    client: lease.clientFor(identity),
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
  });
  return { elector, events };
}

describe('LeaderElector', () => {
  test('first candidate creates the Lease and leads', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const a = candidate(lease, clock, 'a');
    const b = candidate(lease, clock, 'b');
    await a.elector.tick();
    await b.elector.tick();
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(lease.record).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(a.events).toEqual(['started']);
  });

  test('standby takes over once the holder stops renewing for the lease duration', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const a = candidate(lease, clock, 'a');
    const b = candidate(lease, clock, 'b');
    await a.elector.tick();
    await b.elector.tick();

    // a stops renewing (it hangs or dies), so b reads the same record each time.
    for (let elapsed = 0; elapsed < 14_000; elapsed += 2_000) {
      clock.advance(2_000);
      await b.elector.tick();
      expect(b.elector.isLeader()).toBe(false);
    }
    clock.advance(2_000);
    await b.elector.tick();
    expect(b.elector.isLeader()).toBe(true);
    expect(lease.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  test('standby stays standby while the holder renews', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const a = candidate(lease, clock, 'a');
    const b = candidate(lease, clock, 'b');
    await a.elector.tick();
    for (let i = 0; i < 20; i++) {
      clock.advance(2_000);
      await a.elector.tick();
      await b.elector.tick();
    }
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
  });

  test('release lets the standby take over at once', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const a = candidate(lease, clock, 'a');
    const b = candidate(lease, clock, 'b');
    await a.elector.tick();
    await b.elector.tick();
    await a.elector.release();
    expect(lease.record?.holderIdentity).toBe('');
    clock.advance(2_000);
    await b.elector.tick();
    expect(b.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(['started']);
  });

  test('leader gives up after failing to renew for the renew deadline', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const a = candidate(lease, clock, 'a');
    await a.elector.tick();
    lease.failing.add('a');
    for (let elapsed = 0; elapsed < 8_000; elapsed += 2_000) {
      clock.advance(2_000);
      await a.elector.tick();
    }
    expect(a.events).toEqual(['started']);
    clock.advance(2_000);
    await a.elector.tick();
    expect(a.events).toEqual(['started', 'stopped']);
    expect(a.elector.isLeader()).toBe(false);
  });

  test('start runs attempts on the retry period', async () => {
    const clock = new FakeClock();
    const lease = new MemoryLease();
    const a = candidate(lease, clock, 'a');
    a.elector.start();
    clock.advance(0);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(a.elector.isLeader()).toBe(true);
    await a.elector.release();
    expect(clock.pendingTimers()).toBe(0);
  });

  test('rejects inconsistent durations', () => {
    const lease = new MemoryLease();
    const args = { identity: 'a', clock: new FakeClock(), client: lease.clientFor('a'), onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    expect(() => new LeaderElector({ ...args, leaseDurationMs: 5_000, renewDeadlineMs: 10_000 })).toThrow(
      'leaseDurationMs (5000) must be greater than renewDeadlineMs (10000)',
    );
    expect(() => new LeaderElector({ ...args, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      'renewDeadlineMs (2000) must be greater than retryPeriodMs (2000)',
    );
  });
});
