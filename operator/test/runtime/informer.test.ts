import type { KubernetesObject } from '@kubernetes/client-node';

import { ExponentialBackoff } from '../../src/runtime/backoff';
import { FakeClock } from '../../src/runtime/clock';
import { Informer, type ListWatchSource } from '../../src/runtime/informer';

/**
 * Stands in for client-node's ListWatch, whose real list and watch need an
 * API server (the integration tests run one). Its first starts fail the way
 * ListWatch fails: it calls the error handlers and stays stopped.
 */
class FailingListWatch implements ListWatchSource<KubernetesObject> {
  starts = 0;
  stops = 0;
  private readonly errorHandlers: Array<(err?: unknown) => void> = [];

  constructor(private failuresLeft: number) {}

  on(verb: string, cb: (arg: never) => void): void {
    if (verb === 'error') this.errorHandlers.push(cb as (err?: unknown) => void);
  }

  async start(): Promise<void> {
    this.starts++;
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      for (const handler of this.errorHandlers) handler(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    }
  }

  async stop(): Promise<void> {
    this.stops++;
  }

  /** Simulates a watch that breaks while running. */
  breakWatch(): void {
    for (const handler of this.errorHandlers) handler(new Error('socket hang up'));
  }

  get(): KubernetesObject | undefined {
    return undefined;
  }

  list(): KubernetesObject[] {
    return [];
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('Informer', () => {
  test('restarts after errors with growing delays', async () => {
    const clock = new FakeClock();
    const source = new FailingListWatch(3);
    const delays: number[] = [];
    const informer = new Informer(source, {
      resource: 'jobs',
      clock,
      backoff: new ExponentialBackoff({ baseDelayMs: 100, maxDelayMs: 1000 }),
      onError: (_err, delay) => delays.push(delay),
    });
    await informer.start();
    expect(informer.hasSynced()).toBe(false);
    for (let i = 0; i < 3; i++) {
      clock.advance(delays[delays.length - 1]);
      await flush();
    }
    expect(delays).toEqual([100, 200, 400]);
    expect(source.starts).toBe(4);
    expect(informer.restarts()).toBe(3);
    expect(informer.hasSynced()).toBe(true);
  });

  test('backoff resets after a successful start', async () => {
    const clock = new FakeClock();
    const source = new FailingListWatch(1);
    const delays: number[] = [];
    const informer = new Informer(source, {
      resource: 'pods',
      clock,
      backoff: new ExponentialBackoff({ baseDelayMs: 100, maxDelayMs: 1000 }),
      onError: (_err, delay) => delays.push(delay),
    });
    await informer.start();
    clock.advance(100);
    await flush();
    source.breakWatch();
    expect(delays).toEqual([100, 100]);
    clock.advance(100);
    await flush();
    expect(source.starts).toBe(3);
  });

  test('stop cancels a pending restart', async () => {
    const clock = new FakeClock();
    const source = new FailingListWatch(1);
    const informer = new Informer(source, { resource: 'services', clock });
    await informer.start();
    await informer.stop();
    clock.advance(60_000);
    await flush();
    expect(source.starts).toBe(1);
    expect(source.stops).toBe(1);
  });
});
