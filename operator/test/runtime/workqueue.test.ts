import { ExponentialBackoff } from '../../src/runtime/backoff';
import { FakeClock } from '../../src/runtime/clock';
import { WorkQueue } from '../../src/runtime/workqueue';

function newQueue() {
  const clock = new FakeClock();
  const depths: number[] = [];
  const latencies: number[] = [];
  const queue = new WorkQueue(clock, new ExponentialBackoff({ baseDelayMs: 100, maxDelayMs: 1000 }), {
    depth: (d) => depths.push(d),
    latency: (s) => latencies.push(s),
  });
  return { clock, queue, depths, latencies };
}

describe('WorkQueue', () => {
  test('add de-duplicates queued keys', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe('ns/a');
    expect(await queue.get()).toBe('ns/b');
  });

  test('key added while processing is handed out after done', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    const key = await queue.get();
    queue.add('ns/a');
    expect(queue.length).toBe(0);
    queue.done(key!);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe('ns/a');
  });

  test('key is never handed to two workers at once', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    const first = await queue.get();
    queue.add('ns/a');
    let second: string | undefined | null = null;
    void queue.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeNull();
    queue.done(first!);
    await Promise.resolve();
    expect(second).toBe('ns/a');
  });

  test('waiting get resolves on add', async () => {
    const { queue } = newQueue();
    const pending = queue.get();
    queue.add('ns/a');
    await expect(pending).resolves.toBe('ns/a');
  });

  test('addAfter waits on the clock and keeps the earliest time', () => {
    const { clock, queue } = newQueue();
    queue.addAfter('ns/a', 5000);
    queue.addAfter('ns/a', 2000);
    queue.addAfter('ns/a', 9000);
    clock.advance(1999);
    expect(queue.length).toBe(0);
    clock.advance(1);
    expect(queue.length).toBe(1);
    clock.advance(10_000);
    expect(queue.length).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  test('addRateLimited backs off exponentially until forget', () => {
    const { queue } = newQueue();
    const delays = [1, 2, 3, 4, 5, 6].map(() => queue.addRateLimited('ns/a'));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(queue.retries('ns/a')).toBe(6);
    queue.forget('ns/a');
    expect(queue.addRateLimited('ns/a')).toBe(100);
    expect(queue.addRateLimited('ns/b')).toBe(100);
  });

  test('shutDown wakes waiters and drops delayed adds', async () => {
    const { clock, queue } = newQueue();
    const pending = queue.get();
    queue.addAfter('ns/a', 100);
    queue.shutDown();
    await expect(pending).resolves.toBeUndefined();
    clock.advance(1000);
    expect(queue.length).toBe(0);
    await expect(queue.get()).resolves.toBeUndefined();
  });

  test('reports depth and latency', async () => {
    const { clock, queue, depths, latencies } = newQueue();
    queue.add('ns/a');
    queue.add('ns/b');
    clock.advance(1500);
    await queue.get();
    expect(depths).toEqual([1, 2, 1]);
    expect(latencies).toEqual([1.5]);
  });
});

describe('ExponentialBackoff', () => {
  test('rejects invalid options', () => {
    expect(() => new ExponentialBackoff({ baseDelayMs: 0 })).toThrow('baseDelayMs must be > 0, got 0');
    expect(() => new ExponentialBackoff({ baseDelayMs: 10, maxDelayMs: 5 })).toThrow('maxDelayMs must be >= baseDelayMs (10), got 5');
    expect(() => new ExponentialBackoff({ factor: 0.5 })).toThrow('factor must be >= 1, got 0.5');
  });
});

describe('FakeClock', () => {
  test('runs timers in time order, including ones they schedule', () => {
    const clock = new FakeClock(0);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 20);
    clock.setTimeout(() => {
      fired.push(['a', clock.now()]);
      clock.setTimeout(() => fired.push(['c', clock.now()]), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => fired.push(['x', clock.now()]), 12);
    clock.clearTimeout(cancelled);
    clock.advance(30);
    expect(fired).toEqual([['a', 10], ['c', 15], ['b', 20]]);
    expect(clock.now()).toBe(30);
  });
});
