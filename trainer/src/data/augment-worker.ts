/**
 * Worker-thread entry of AugmentPool: applies one transform per message and
 * sends the result back, transferring its buffer instead of copying it.
 */
import { parentPort } from 'node:worker_threads';

import { transformImage } from './augment';
import type { AugmentJob, AugmentReply } from './augment-pool';

if (parentPort === null) {
  throw new Error('augment-worker must run in a worker thread started by AugmentPool');
}
const port = parentPort;

port.on('message', (job: AugmentJob) => {
  let reply: AugmentReply;
  try {
    const out = transformImage(job.source, job.height, job.width, job.params, job.interpolation, { scale: job.scale });
    reply = { id: job.id, out };
    port.postMessage(reply, [out.buffer as ArrayBuffer]);
  } catch (error) {
    reply = { id: job.id, error: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
  }
});
