import type { KubernetesObject } from '@kubernetes/client-node';

import { ExponentialBackoff } from './backoff';
import type { Clock, TimerHandle } from './clock';

export type ObjectHandler<T> = (obj: T) => void;

/**
 * The part of @kubernetes/client-node's ListWatch (1.x) that the informer
 * uses. ListWatch relists by itself after a 410 Gone, but after any other
 * list or watch error it calls its error handlers and stays stopped.
 */
export interface ListWatchSource<T extends KubernetesObject> {
  on(verb: 'add' | 'update' | 'delete', cb: ObjectHandler<T>): void;
  on(verb: 'error' | 'connect', cb: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
}

export interface InformerArgs {
  /** Resource name used in logs and metrics, such as `jobs`. */
  resource: string;
  clock: Clock;
  /** Delay before each restart after an error. Default: 500 ms doubling up to 30 s. */
  backoff?: ExponentialBackoff;
  /** Called for every list or watch error, with the delay before the restart. */
  onError?: (err: unknown, restartInMs: number) => void;
}

/**
 * An informer that keeps running: after any list or watch error it restarts
 * the ListWatch with exponential backoff. The ListWatch resumes from the last
 * resourceVersion it received, and lists again when the server returns 410 Gone.
 */
export class Informer<T extends KubernetesObject> {
  readonly resource: string;
  private readonly clock: Clock;
  private readonly backoff: ExponentialBackoff;
  private readonly onError?: (err: unknown, restartInMs: number) => void;
  private running = false;
  private synced = false;
  private restartTimer: TimerHandle | undefined;
  private errorsDuringStart = 0;
  private restartCount = 0;

  constructor(
    private readonly source: ListWatchSource<T>,
    args: InformerArgs,
  ) {
    this.resource = args.resource;
    this.clock = args.clock;
    this.backoff = args.backoff ?? new ExponentialBackoff({ baseDelayMs: 500, maxDelayMs: 30_000 });
    this.onError = args.onError;
    source.on('error', (err) => this.handleError(err));
  }

  on(verb: 'add' | 'update' | 'delete', handler: ObjectHandler<T>): void {
    this.source.on(verb, handler);
  }

  /** True once a list has completed and its watch connected. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Number of restarts after errors since start(). */
  restarts(): number {
    return this.restartCount;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.source.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.source.list(namespace);
  }

  async start(): Promise<void> {
    this.running = true;
    await this.startSource();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.restartTimer) this.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.source.stop();
  }

  private async startSource(): Promise<void> {
    this.errorsDuringStart = 0;
    await this.source.start();
    if (this.running && this.errorsDuringStart === 0) {
      this.synced = true;
      this.backoff.reset(this.resource);
    }
  }

  private handleError(err: unknown): void {
    this.errorsDuringStart++;
    if (!this.running) return;
    const delayMs = this.backoff.next(this.resource);
    this.onError?.(err, delayMs);
    if (this.restartTimer) this.clock.clearTimeout(this.restartTimer);
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.running) return;
      this.restartCount++;
      // A failed list or watch calls handleError itself; the catch covers errors thrown by start().
      void this.startSource().catch((startErr: unknown) => this.handleError(startErr));
    }, delayMs);
  }
}
