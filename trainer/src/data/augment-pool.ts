/**
 * A pool of worker threads that run transformImage off the main thread, so
 * augmentation overlaps the training step instead of delaying it. Results
 * are the same as on the main thread because the parameters are drawn by
 * the caller and only the pixel work moves.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import type { AugmentParams, Interpolation } from './augment';

export interface AugmentJob {
  id: number;
  source: Uint8Array | Float32Array;
  height: number;
  width: number;
  params: AugmentParams;
  interpolation: Interpolation;
  scale: number;
}

export type AugmentReply = { id: number; out: Float32Array } | { id: number; error: string };

interface PendingJob {
  resolve: (out: Float32Array) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, PendingJob>;
  failure?: Error;
}

/**
 * Starts the worker script. Under ts-node or ts-jest this module is a .ts
 * file, so the worker registers ts-node before it loads its entry. The
 * compiled package starts the .js entry directly.
 */
function startWorker(): Worker {
  const extension = path.extname(__filename);
  const entry = path.join(__dirname, `augment-worker${extension}`);
  if (extension !== '.ts') {
    return new Worker(entry);
  }
  // NOTE: this branch needs ts-node, a development dependency; it runs only from sources.
  const bootstrap = [
    "require('ts-node').register({ transpileOnly: true, skipProject: true, compilerOptions: { module: 'commonjs', target: 'es2022' } });",
    `require(${JSON.stringify(entry)});`,
  ].join('\n');
  return new Worker(bootstrap, { eval: true });
}

export class AugmentPool {
  readonly size: number;
  private readonly workers: PoolWorker[] = [];
  private nextId = 0;
  private closed = false;

  /** Starts `size` worker threads (at least 1). */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1 || size > 256) {
      throw new RangeError(`augment worker count must be an integer in [1, 256], got ${String(size)}`);
    }
    this.size = size;
    for (let i = 0; i < size; i++) {
      this.workers.push(this.spawn());
    }
  }

  private spawn(): PoolWorker {
    const entry: PoolWorker = { worker: startWorker(), pending: new Map() };
    entry.worker.unref();
    entry.worker.on('message', (reply: AugmentReply) => this.settle(entry, reply));
    entry.worker.on('error', (error) => this.fail(entry, error));
    entry.worker.on('exit', (code) => {
      if (!this.closed) {
        this.fail(entry, new Error(`augment worker exited with code ${code}`));
      }
    });
    return entry;
  }

  private settle(entry: PoolWorker, reply: AugmentReply): void {
    const job = entry.pending.get(reply.id);
    if (job === undefined) {
      return;
    }
    entry.pending.delete(reply.id);
    if (entry.pending.size === 0) {
      entry.worker.unref();
    }
    if ('error' in reply) {
      job.reject(new Error(`augment worker failed: ${reply.error}`));
    } else {
      job.resolve(reply.out);
    }
  }

  private fail(entry: PoolWorker, error: Error): void {
    entry.failure = error;
    for (const job of entry.pending.values()) {
      job.reject(error);
    }
    entry.pending.clear();
  }

  /**
   * Transforms one image on the least busy worker. The source is copied to
   * the worker, so a shared (cached) array stays untouched.
   */
  run(job: Omit<AugmentJob, 'id'>): Promise<Float32Array> {
    if (this.closed) {
      return Promise.reject(new Error('AugmentPool is closed'));
    }
    const healthy = this.workers.filter((entry) => entry.failure === undefined);
    if (healthy.length === 0) {
      return Promise.reject(new Error('every augment worker has failed', { cause: this.workers[0].failure }));
    }
    const entry = healthy.reduce((best, next) => (next.pending.size < best.pending.size ? next : best));
    const id = this.nextId++;

    return new Promise<Float32Array>((resolve, reject) => {
      entry.pending.set(id, { resolve, reject });
      // Keep the process alive while a reply is due; settle() unrefs when idle.
      entry.worker.ref();
      entry.worker.postMessage({ ...job, id });
    });
  }

  /** Terminates the workers; jobs still running reject. */
  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    this.closed = true;
    const closedError = new Error('AugmentPool closed while the job was running');
    for (const entry of this.workers) {
      this.fail(entry, closedError);
    }
    await Promise.all(this.workers.map((entry) => entry.worker.terminate()));
  }
}
