import type { Server } from 'node:http';

import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';

import { MILDNETJOB_LABEL } from './api/constants';
import { objectKey, type MildnetJob } from './api/types';
import { loadPresetCatalog } from './config/presets';
import { ProgressPoller, ProgressStore } from './controller/progress';
import { Reconciler } from './controller/reconciler';
import { ClientNodeCluster } from './kube/client-node-cluster';
import { createInformers, type OperatorInformers } from './kube/informers';
import { KubeLeaseClient } from './kube/lease-client';
import { shareAgent } from './kube/shared-agent';
import { createMetrics, type OperatorMetrics } from './metrics';
import { SystemClock, type Clock, type TimerHandle } from './runtime/clock';
import { Controller } from './runtime/controller';
import { LeaderElector } from './runtime/leader-election';
import { startHealthServer } from './runtime/server';
import { WorkQueue } from './runtime/workqueue';
import type { Settings } from './settings';

export interface RunningOperator {
  metrics: OperatorMetrics;
  server: Server;
  isLeader(): boolean;
  /** Stops reconciling, waits for reconciles in flight, releases the Lease and closes the HTTP server. */
  stop(): Promise<void>;
}

export interface RunOperatorArgs {
  settings: Settings;
  logger: Logger;
  clock?: Clock;
  /** Called when this replica loses the Lease; the process should exit so it restarts as a candidate. */
  onLostLeadership: () => void;
}

function loadKubeConfig(settings: Settings): k8s.KubeConfig {
  const kubeConfig = new k8s.KubeConfig();
  if (settings.kubeconfig) kubeConfig.loadFromFile(settings.kubeconfig);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

/** Returns the key of the MildnetJob that owns a child object, from its mildnet.io/mildnetjob label. */
function ownerKey(obj: k8s.KubernetesObject): string | undefined {
  const name = obj.metadata?.labels?.[MILDNETJOB_LABEL];
  return name ? `${obj.metadata?.namespace ?? ''}/${name}` : undefined;
}

/** Starts the operator: health server, then leader election (if on), then informers and workers. */
export async function runOperator(args: RunOperatorArgs): Promise<RunningOperator> {
  const { settings, logger } = args;
  const clock = args.clock ?? new SystemClock();
  const kubeConfig = loadKubeConfig(settings);
  if (!shareAgent(kubeConfig)) logger.info('This @kubernetes/client-node version has no KubeConfig.createAgent; every request opens a new connection');
  const catalog = loadPresetCatalog(settings.jobConfigsDir);
  let informers: OperatorInformers | undefined;
  const metrics = createMetrics(() => countByPhase(informers?.mildnetJobs.list() ?? []));

  let started: Promise<() => Promise<void>> | undefined;
  const startControllers = () => {
    started ??= startControllers_();
    return started;
  };
  const startControllers_ = async (): Promise<() => Promise<void>> => {
    informers = createInformers({
      kubeConfig,
      namespace: settings.namespace,
      clock,
      metrics,
      onError: (resource, err, restartInMs) =>
        logger.info({ resource, err: String(err), restartInMs }, 'Informer list or watch failed; restarting'),
    });
    return startReconciling({ settings, logger, clock, kubeConfig, catalog, metrics, informers });
  };

  const ready = () => (settings.leaderElect && !elector?.isLeader() ? true : Object.values(informers ?? {}).every((i) => i.hasSynced()) && !!informers);
  const server = await startHealthServer({ port: settings.httpPort, host: settings.httpHost, registry: metrics.registry, ready });
  logger.info({ address: server.address() }, 'Serving /healthz, /readyz and /metrics');

  let elector: LeaderElector | undefined;
  if (settings.leaderElect) {
    elector = new LeaderElector({
      identity: settings.identity,
      clock,
      leaseDurationMs: settings.leaseDurationMs,
      renewDeadlineMs: settings.renewDeadlineMs,
      retryPeriodMs: settings.retryPeriodMs,
      client: new KubeLeaseClient(kubeConfig, settings.leaseNamespace, settings.leaseName, metrics),
      onStartedLeading: () => {
        metrics.leader.set(1);
        logger.info({ lease: `${settings.leaseNamespace}/${settings.leaseName}`, identity: settings.identity }, 'Acquired leader Lease');
        void startControllers().catch((err: unknown) => {
          logger.info({ err }, 'Failed to start the controllers; exiting');
          args.onLostLeadership();
        });
      },
      onStoppedLeading: () => {
        metrics.leader.set(0);
        logger.info({ lease: `${settings.leaseNamespace}/${settings.leaseName}` }, 'Lost leader Lease');
        args.onLostLeadership();
      },
      onError: (err) => logger.debug({ err: String(err) }, 'Lease acquire or renew failed'),
    });
    logger.info({ lease: `${settings.leaseNamespace}/${settings.leaseName}`, identity: settings.identity }, 'Waiting for leader Lease');
    elector.start();
  } else {
    metrics.leader.set(1);
    await startControllers();
  }

  return {
    metrics,
    server,
    isLeader: () => (elector ? elector.isLeader() : true),
    stop: async () => {
      logger.info('Stopping');
      if (started) await (await started)();
      if (elector) {
        await elector.release().catch((err: unknown) => logger.info({ err: String(err) }, 'Failed to release the leader Lease'));
      }
      metrics.leader.set(0);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      logger.info('Stopped');
    },
  };
}

interface ReconcilingArgs {
  settings: Settings;
  logger: Logger;
  clock: Clock;
  kubeConfig: k8s.KubeConfig;
  catalog: ReturnType<typeof loadPresetCatalog>;
  metrics: OperatorMetrics;
  informers: OperatorInformers;
}

/** Wires informers, queue, workers, progress poller and resync; returns the function that stops them. */
async function startReconciling(args: ReconcilingArgs): Promise<() => Promise<void>> {
  const { settings, logger, clock, metrics, informers } = args;
  const queue = new WorkQueue(clock, undefined, {
    depth: (depth) => metrics.workqueueDepth.set(depth),
    latency: (seconds) => metrics.workqueueLatencySeconds.observe(seconds),
  });
  const progress = new ProgressStore();
  const reconciler = new Reconciler({
    cluster: new ClientNodeCluster(args.kubeConfig, metrics),
    caches: informers,
    catalog: args.catalog,
    settings,
    progress,
    clock,
  });
  const controller = new Controller({
    queue,
    reconcile: (key, log) => reconciler.reconcile(key, log),
    logger,
    clock,
    workers: settings.workers,
    observer: {
      reconciled: (result, seconds) => {
        metrics.reconcilesTotal.inc({ result });
        metrics.reconcileDurationSeconds.observe(seconds);
      },
    },
  });

  const enqueueOwn = (mj: MildnetJob) => queue.add(objectKey(mj.metadata));
  informers.mildnetJobs.on('add', enqueueOwn);
  informers.mildnetJobs.on('update', enqueueOwn);
  informers.mildnetJobs.on('delete', (mj) => {
    progress.delete(objectKey(mj.metadata));
    enqueueOwn(mj);
  });
  for (const informer of [informers.jobs, informers.pods, informers.configMaps, informers.services] as const) {
    const enqueueOwner = (obj: k8s.KubernetesObject) => {
      const key = ownerKey(obj);
      if (key) queue.add(key);
    };
    informer.on('add', enqueueOwner);
    informer.on('update', enqueueOwner);
    informer.on('delete', enqueueOwner);
  }

  // Child informers start first, so the first reconcile of each MildnetJob finds its children in the cache.
  await Promise.all([informers.jobs, informers.pods, informers.configMaps, informers.services].map((i) => i.start()));
  await informers.mildnetJobs.start();
  controller.start();
  logger.info({ namespace: settings.namespace ?? '(all)', workers: settings.workers }, 'Reconciling MildnetJobs');

  const poller = new ProgressPoller({
    clock,
    store: progress,
    intervalMs: settings.progressIntervalMs,
    port: settings.metricsPort,
    targets: () => progressTargets(informers),
    onChange: (key) => queue.add(key),
    onResult: (result, key, err) => {
      metrics.progressPollsTotal.inc({ result });
      if (err) logger.debug({ mildnetjob: key, err: String(err) }, 'Failed to read trainer progress');
    },
  });
  poller.start();

  let resyncTimer: TimerHandle | undefined;
  const resync = () => {
    for (const mj of informers.mildnetJobs.list()) enqueueOwn(mj);
    resyncTimer = clock.setTimeout(resync, settings.resyncMs);
  };
  if (settings.resyncMs > 0) resyncTimer = clock.setTimeout(resync, settings.resyncMs);

  return async () => {
    if (resyncTimer) clock.clearTimeout(resyncTimer);
    poller.stop();
    await controller.stop();
    await Promise.all(Object.values(informers).map((i) => i.stop()));
  };
}

/** Running MildnetJobs and, for each, a running pod with an IP to read progress from. */
function progressTargets(informers: OperatorInformers): Array<{ mj: MildnetJob; pod: k8s.V1Pod }> {
  const running = informers.mildnetJobs.list().filter((mj) => mj.status?.phase === 'Running');
  if (running.length === 0) return [];
  const podsByOwner = new Map<string, k8s.V1Pod>();
  for (const pod of informers.pods.list()) {
    const key = ownerKey(pod);
    if (key && pod.status?.phase === 'Running' && pod.status.podIP && !pod.metadata?.deletionTimestamp) podsByOwner.set(key, pod);
  }
  return running.flatMap((mj) => {
    const pod = podsByOwner.get(objectKey(mj.metadata));
    return pod ? [{ mj, pod }] : [];
  });
}

function countByPhase(mildnetJobs: readonly MildnetJob[]): Record<string, number> {
  const counts: Record<string, number> = { Pending: 0, Suspended: 0, Running: 0, Succeeded: 0, Failed: 0 };
  for (const mj of mildnetJobs) {
    const phase = mj.status?.phase ?? 'Pending';
    counts[phase] = (counts[phase] ?? 0) + 1;
  }
  return counts;
}
