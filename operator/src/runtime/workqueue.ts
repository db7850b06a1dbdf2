import { ExponentialBackoff } from './backoff';
import type { Clock, TimerHandle } from './clock';

/** Hooks the queue calls so the operator can export queue metrics. */
export interface WorkQueueObserver {
  depth?(depth: number): void;
  /** Seconds a key waited between being queued and being handed to a worker. */
  latency?(seconds: number): void;
}

/**
 * A work queue of object keys with the guarantees a controller needs:
 * - a key queued many times before a worker takes it is handed out once;
 * - a key is never handed to two workers at once: a key added while it is
 *   being processed is handed out again after done();
 * - retries wait per-key exponential backoff (addRateLimited), and delayed
 *   adds (addAfter) keep only the earliest pending time per key.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: TimerHandle }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;

  constructor(
    private readonly clock: Clock,
    private readonly backoff: ExponentialBackoff = new ExponentialBackoff(),
    private readonly observer: WorkQueueObserver = {},
  ) {}

  get length(): number {
    return this.queue.length;
  }

  /** Queues key unless it is already queued; a key being processed is queued again after done(). */
  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.addedAt.set(key, this.clock.now());
    this.queue.push(key);
    this.observer.depth?.(this.queue.length);
    this.wake();
  }

  /** Queues key after delayMs; an earlier pending delayed add for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.timer);
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { at, timer });
  }

  /** Queues key after its next backoff delay; returns that delay. */
  addRateLimited(key: string): number {
    const delayMs = this.backoff.next(key);
    this.addAfter(key, delayMs);
    return delayMs;
  }

  /** Clears the retry history of key, so its next failure starts from the base delay. */
  forget(key: string): void {
    this.backoff.reset(key);
  }

  retries(key: string): number {
    return this.backoff.failuresOf(key);
  }

  /** Waits for the next key; resolves undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    const key = this.take();
    if (key !== undefined || this.shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks key as processed; a key added meanwhile goes back into the queue. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /** Stops handing out keys, wakes every waiting worker with undefined and cancels delayed adds. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) this.clock.clearTimeout(timer);
    this.delayed.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private take(): string | undefined {
    if (this.shuttingDown) return undefined;
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.queued.delete(key);
    this.processing.add(key);
    const addedAt = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (addedAt !== undefined) this.observer.latency?.((this.clock.now() - addedAt) / 1000);
    this.observer.depth?.(this.queue.length);
    return key;
  }

  private wake(): void {
    while (this.waiters.length > 0) {
      const key = this.take();
      if (key === undefined) return;
      this.waiters.shift()!(key);
    }
  }
}
