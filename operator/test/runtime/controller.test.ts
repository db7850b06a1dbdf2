import pino from 'pino';

import { ExponentialBackoff } from '../../src/runtime/backoff';
import { FakeClock } from '../../src/runtime/clock';
import { Controller, TerminalError, type ReconcileResult } from '../../src/runtime/controller';
import { WorkQueue } from '../../src/runtime/workqueue';

const logger = pino({ level: 'silent' });

function setup(reconcile: (key: string) => Promise<ReconcileResult>) {
  const clock = new FakeClock();
  const queue = new WorkQueue(clock, new ExponentialBackoff({ baseDelayMs: 100, maxDelayMs: 10_000 }));
  const results: string[] = [];
  const controller = new Controller({
    queue,
    clock,
    logger,
    reconcile: (key) => reconcile(key),
    observer: { reconciled: (result) => results.push(result) },
  });
  return { clock, queue, controller, results };
}

describe('Controller', () => {
  test('success forgets the retry history', async () => {
    const { queue, controller, results } = setup(async () => ({}));
    queue.addRateLimited('ns/a');
    queue.add('ns/a');
    await controller.processNext();
    expect(results).toEqual(['success']);
    expect(queue.retries('ns/a')).toBe(0);
  });

  test('error is retried with backoff', async () => {
    let calls = 0;
    const { clock, queue, controller, results } = setup(async () => {
      calls++;
      if (calls < 3) throw new Error('conflict');
      return {};
    });
    queue.add('ns/a');
    await controller.processNext();
    expect(queue.length).toBe(0);
    clock.advance(100);
    expect(queue.length).toBe(1);
    await controller.processNext();
    clock.advance(199);
    expect(queue.length).toBe(0);
    clock.advance(1);
    await controller.processNext();
    expect(results).toEqual(['error', 'error', 'success']);
    expect(queue.retries('ns/a')).toBe(0);
  });

  test('terminal error is not retried', async () => {
    const { clock, queue, controller, results } = setup(async () => {
      throw new TerminalError('bad spec');
    });
    queue.add('ns/a');
    await controller.processNext();
    clock.advance(60_000);
    expect(queue.length).toBe(0);
    expect(results).toEqual(['error']);
  });

  test('requeueAfter queues the key at that time', async () => {
    const { clock, queue, controller, results } = setup(async () => ({ requeueAfterMs: 30_000 }));
    queue.add('ns/a');
    await controller.processNext();
    clock.advance(29_999);
    expect(queue.length).toBe(0);
    clock.advance(1);
    expect(queue.length).toBe(1);
    expect(results).toEqual(['requeue']);
  });

  test('one reconcile per key at a time with several workers', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const release: Array<() => void> = [];
    const { queue, controller } = setup(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((resolve) => release.push(resolve));
      inFlight--;
      return {};
    });
    queue.add('ns/a');
    const first = controller.processNext();
    const second = controller.processNext();
    await Promise.resolve();
    queue.add('ns/a');
    await Promise.resolve();
    expect(release.length).toBe(1);
    release.shift()!();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(release.length).toBe(1);
    release.shift()!();
    await second;
    expect(maxInFlight).toBe(1);
  });

  test('stop waits for the reconcile in flight', async () => {
    let finished = false;
    let release: () => void = () => undefined;
    const { queue, controller } = setup(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      finished = true;
      return {};
    });
    controller.start();
    queue.add('ns/a');
    await new Promise((r) => setImmediate(r));
    const stopped = controller.stop();
    expect(finished).toBe(false);
    release();
    await stopped;
    expect(finished).toBe(true);
  });
});
