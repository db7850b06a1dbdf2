import type { Server } from 'node:http';

import express from 'express';

import type { TrainerMetrics } from './definitions';
import type { ProgressTracker } from './progress';

export interface MetricsServerArgs {
  metrics: TrainerMetrics;
  progress: ProgressTracker;
  port: number;
  /** Address to listen on. Defaults to all interfaces, as a pod's metrics port needs. */
  host?: string;
}

/** Serves /metrics (Prometheus), /progress (JSON) and /healthz while the trainer runs. */
export async function startMetricsServer(args: MetricsServerArgs): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_request, response) => {
    response.set('Content-Type', args.metrics.registry.contentType);
    response.send(await args.metrics.registry.metrics());
  });
  app.get('/progress', (_request, response) => {
    response.json(args.progress.progress);
  });
  app.get('/healthz', (_request, response) => {
    response.type('text/plain').send('ok\n');
  });

  const server = await new Promise<Server>((resolve, reject) => {
    // Express 5 passes a listen error (such as EADDRINUSE) to the callback.
    const listening = app.listen(args.port, args.host ?? '0.0.0.0', (error?: Error) => {
      if (error) reject(error);
      else resolve(listening);
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : args.port;
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
