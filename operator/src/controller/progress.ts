import type { V1Pod } from '@kubernetes/client-node';

import type { MildnetJob, Progress } from '../api/types';
import { objectKey } from '../api/types';
import type { Clock, TimerHandle } from '../runtime/clock';

const PHASES = new Set(['starting', 'training', 'validating', 'checkpointing', 'finished', 'interrupted']);

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function optionalNumber(body: Record<string, unknown>, field: string): number | null {
  const value = body[field];
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`progress.${field} must be a finite number or null, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Validates a trainer's GET /progress body and keeps the fields the
 * MildnetJob status shows. Throws a TypeError naming the field on a body
 * that does not follow the trainer contract.
 */
export function parseProgress(body: unknown): Progress {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new TypeError(`progress must be a JSON object, got ${JSON.stringify(body)}`);
  }
  const record = body as Record<string, unknown>;
  for (const field of ['epoch', 'totalEpochs', 'step', 'totalSteps']) {
    if (!isInt(record[field])) throw new TypeError(`progress.${field} must be a non-negative integer, got ${JSON.stringify(record[field])}`);
  }
  if (typeof record.phase !== 'string' || !PHASES.has(record.phase)) {
    throw new TypeError(`progress.phase must be one of ${[...PHASES].join(', ')}, got ${JSON.stringify(record.phase)}`);
  }
  if (typeof record.updatedTime !== 'string' || Number.isNaN(Date.parse(record.updatedTime))) {
    throw new TypeError(`progress.updatedTime must be an RFC 3339 time, got ${JSON.stringify(record.updatedTime)}`);
  }

  let lastCheckpoint: Progress['lastCheckpoint'] = null;
  const checkpoint = record.lastCheckpoint;
  if (checkpoint !== null && checkpoint !== undefined) {
    const cp = checkpoint as Record<string, unknown>;
    if (!isInt(cp.epoch) || !isInt(cp.step) || typeof cp.time !== 'string') {
      throw new TypeError(`progress.lastCheckpoint must be {epoch, step, time} or null, got ${JSON.stringify(checkpoint)}`);
    }
    lastCheckpoint = { epoch: cp.epoch, step: cp.step, time: cp.time };
  }

  return {
    epoch: record.epoch as number,
    totalEpochs: record.totalEpochs as number,
    step: record.step as number,
    totalSteps: record.totalSteps as number,
    trainLoss: optionalNumber(record, 'trainLoss'),
    valLoss: optionalNumber(record, 'valLoss'),
    valAccuracy: optionalNumber(record, 'valAccuracy'),
    lastCheckpoint,
    phase: record.phase,
    updatedTime: record.updatedTime,
  };
}

/**
 * True when the training state differs. updatedTime alone does not count,
 * so a trainer that reports without advancing causes no status write.
 */
export function progressChanged(previous: Progress | undefined, next: Progress): boolean {
  if (previous === undefined) return true;
  const strip = ({ updatedTime: _ignored, ...rest }: Progress) => JSON.stringify(rest);
  return strip(previous) !== strip(next);
}

/** Latest progress per MildnetJob key, as read by the poller. */
export class ProgressStore {
  private readonly entries = new Map<string, Progress>();

  get(key: string): Progress | undefined {
    return this.entries.get(key);
  }

  set(key: string, progress: Progress): void {
    this.entries.set(key, progress);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

export type FetchProgress = (url: string, timeoutMs: number) => Promise<unknown>;

/** GETs a URL with a timeout and returns the parsed JSON body. */
export const fetchJson: FetchProgress = async (url, timeoutMs) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url} returned HTTP ${response.status}`);
  return response.json();
};

export interface ProgressPollerArgs {
  clock: Clock;
  store: ProgressStore;
  intervalMs: number;
  port: number;
  /** Running MildnetJobs, each with the pod to read from. */
  targets: () => Array<{ mj: MildnetJob; pod: V1Pod }>;
  /** Called with a MildnetJob key whose progress changed. */
  onChange: (key: string) => void;
  onResult?: (result: 'ok' | 'unchanged' | 'error', key: string, err?: unknown) => void;
  fetch?: FetchProgress;
  timeoutMs?: number;
  /** Pods read at once. Default 16. */
  concurrency?: number;
}

/**
 * Reads GET /progress from every running trainer pod each interval and
 * queues the MildnetJob when its training state changed. The reconciler
 * copies the stored progress into status, so progress adds at most one status
 * write per MildnetJob per interval.
 */
export class ProgressPoller {
  private timer: TimerHandle | undefined;
  private running = false;
  private readonly fetch: FetchProgress;

  constructor(private readonly args: ProgressPollerArgs) {
    this.fetch = args.fetch ?? fetchJson;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) this.args.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Polls every target once. */
  async pollOnce(): Promise<void> {
    const targets = this.args.targets();
    const concurrency = this.args.concurrency ?? 16;
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const target = targets[next++];
        await this.pollTarget(target.mj, target.pod);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
  }

  private async pollTarget(mj: MildnetJob, pod: V1Pod): Promise<void> {
    const key = objectKey(mj.metadata);
    const ip = pod.status?.podIP;
    if (!ip) return;
    const host = ip.includes(':') ? `[${ip}]` : ip;
    try {
      const body = await this.fetch(`http://${host}:${this.args.port}/progress`, this.args.timeoutMs ?? 2000);
      const progress = parseProgress(body);
      const previous = this.args.store.get(key) ?? mj.status?.progress;
      if (!progressChanged(previous, progress)) {
        this.args.onResult?.('unchanged', key);
        return;
      }
      this.args.store.set(key, progress);
      this.args.onResult?.('ok', key);
      this.args.onChange(key);
    } catch (err) {
      this.args.onResult?.('error', key, err);
    }
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.args.clock.setTimeout(() => {
      void this.pollOnce().finally(() => this.schedule());
    }, this.args.intervalMs);
  }
}
