import { randomUUID } from 'node:crypto';

import type { Logger } from 'pino';

import type { Clock } from './clock';
import type { WorkQueue } from './workqueue';

/** Outcome of a reconcile that tells the controller what to do next. */
export interface ReconcileResult {
  /** Reconcile the key again after this many milliseconds, instead of waiting for an event. */
  requeueAfterMs?: number;
}

/** An error that a retry cannot fix; the key is not requeued. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export type ReconcileFn = (key: string, log: Logger) => Promise<ReconcileResult>;

export interface ControllerObserver {
  reconciled?(result: 'success' | 'requeue' | 'error', seconds: number): void;
}

export interface ControllerArgs {
  queue: WorkQueue;
  reconcile: ReconcileFn;
  logger: Logger;
  clock: Clock;
  /** Reconciles that run at once, each on a different key. Default 4. */
  workers?: number;
  observer?: ControllerObserver;
}

/**
 * Runs reconciles from a work queue. The queue guarantees that one key is
 * reconciled by at most one worker at a time. A failed reconcile is retried
 * with per-key exponential backoff. Every log line of a reconcile carries the
 * object key and a reconcile id.
 */
export class Controller {
  private readonly workers: Promise<void>[] = [];

  constructor(private readonly args: ControllerArgs) {
    const count = args.workers ?? 4;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`workers must be a positive integer, got ${count}`);
  }

  start(): void {
    for (let i = 0; i < (this.args.workers ?? 4); i++) this.workers.push(this.runWorker());
  }

  /** Shuts the queue down and waits for reconciles in flight to finish. */
  async stop(): Promise<void> {
    this.args.queue.shutDown();
    await Promise.all(this.workers);
  }

  /** Processes one key; exposed for tests. Returns false once the queue has shut down. */
  async processNext(): Promise<boolean> {
    const { queue, clock, logger, observer } = this.args;
    const key = await queue.get();
    if (key === undefined) return false;

    const log = logger.child({ mildnetjob: key, reconcileID: randomUUID() });
    const started = clock.now();
    let result: 'success' | 'requeue' | 'error' = 'success';
    try {
      const outcome = await this.args.reconcile(key, log);
      queue.forget(key);
      if (outcome.requeueAfterMs !== undefined) {
        result = 'requeue';
        queue.addAfter(key, outcome.requeueAfterMs);
      }
    } catch (err) {
      result = 'error';
      if (err instanceof TerminalError) {
        queue.forget(key);
        log.info({ err }, 'Reconcile failed with an error that a retry cannot fix; not retrying');
      } else {
        const retryInMs = queue.addRateLimited(key);
        log.info({ err, retryInMs, retries: queue.retries(key) }, 'Reconcile failed; retrying');
      }
    } finally {
      queue.done(key);
    }
    observer?.reconciled?.(result, (clock.now() - started) / 1000);
    return true;
  }

  private async runWorker(): Promise<void> {
    while (await this.processNext()) {
      // next key
    }
  }
}
