import type { Server } from 'node:http';

import express from 'express';
import type { Registry } from 'prom-client';

export interface HealthServerArgs {
  port: number;
  host: string;
  registry: Registry;
  /** Readiness: informers synced, or standing by as a non-leader replica. */
  ready: () => boolean;
}

/** Serves /healthz (process alive), /readyz and /metrics (Prometheus text format). */
export function startHealthServer(args: HealthServerArgs): Promise<Server> {
  const app = express();
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const ready = args.ready();
    res.status(ready ? 200 : 503).type('text/plain').send(ready ? 'ok' : 'informer caches are not synced yet');
  });
  app.get('/metrics', async (_req, res) => {
    res.type(args.registry.contentType).send(await args.registry.metrics());
  });

  return new Promise((resolve, reject) => {
    const server = app.listen(args.port, args.host, () => resolve(server));
    server.once('error', reject);
  });
}
