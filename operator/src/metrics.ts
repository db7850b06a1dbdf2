import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the operator exports. Names follow Prometheus conventions:
 * the `mildnet_operator_` prefix and the unit as a suffix.
 */
export const METRIC_NAMES = {
  reconcilesTotal: 'mildnet_operator_reconciles_total',
  reconcileDurationSeconds: 'mildnet_operator_reconcile_duration_seconds',
  workqueueDepth: 'mildnet_operator_workqueue_depth',
  workqueueLatencySeconds: 'mildnet_operator_workqueue_latency_seconds',
  mildnetJobs: 'mildnet_operator_mildnetjobs',
  apiRequestsTotal: 'mildnet_operator_api_requests_total',
  apiErrorsTotal: 'mildnet_operator_api_errors_total',
  informerRestartsTotal: 'mildnet_operator_informer_restarts_total',
  progressPollsTotal: 'mildnet_operator_progress_polls_total',
  leader: 'mildnet_operator_leader',
} as const;

export interface OperatorMetrics {
  registry: Registry;
  /** Labels: result = success | requeue | error. */
  reconcilesTotal: Counter<'result'>;
  reconcileDurationSeconds: Histogram;
  workqueueDepth: Gauge;
  workqueueLatencySeconds: Histogram;
  /** Labels: phase. Filled at scrape time by the collector passed to createMetrics. */
  mildnetJobs: Gauge<'phase'>;
  /** Labels: verb, resource. Watches count once per connection. */
  apiRequestsTotal: Counter<'verb' | 'resource'>;
  /** Labels: verb, resource, code (HTTP status, or `network`). */
  apiErrorsTotal: Counter<'verb' | 'resource' | 'code'>;
  informerRestartsTotal: Counter<'resource'>;
  /** Labels: result = ok | error | unchanged. */
  progressPollsTotal: Counter<'result'>;
  leader: Gauge;
}

/**
 * Creates the operator's metrics in their own registry. countByPhase, when
 * given, is called on every scrape to fill mildnet_operator_mildnetjobs.
 */
export function createMetrics(countByPhase?: () => Record<string, number>, withDefaults = true): OperatorMetrics {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'mildnet_operator_' });
  const registers = [registry];

  return {
    registry,
    reconcilesTotal: new Counter({
      name: METRIC_NAMES.reconcilesTotal,
      help: 'Reconciles of MildnetJobs, by result.',
      labelNames: ['result'],
      registers,
    }),
    reconcileDurationSeconds: new Histogram({
      name: METRIC_NAMES.reconcileDurationSeconds,
      help: 'Time one reconcile of a MildnetJob took.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    workqueueDepth: new Gauge({
      name: METRIC_NAMES.workqueueDepth,
      help: 'MildnetJob keys waiting in the work queue.',
      registers,
    }),
    workqueueLatencySeconds: new Histogram({
      name: METRIC_NAMES.workqueueLatencySeconds,
      help: 'Time a key waited in the work queue before a worker took it.',
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600],
      registers,
    }),
    mildnetJobs: new Gauge({
      name: METRIC_NAMES.mildnetJobs,
      help: 'MildnetJobs in the informer cache, by status.phase.',
      labelNames: ['phase'],
      registers,
      collect() {
        if (!countByPhase) return;
        this.reset();
        for (const [phase, count] of Object.entries(countByPhase())) this.set({ phase }, count);
      },
    }),
    apiRequestsTotal: new Counter({
      name: METRIC_NAMES.apiRequestsTotal,
      help: 'Requests the operator sent to the Kubernetes API, by verb and resource.',
      labelNames: ['verb', 'resource'],
      registers,
    }),
    apiErrorsTotal: new Counter({
      name: METRIC_NAMES.apiErrorsTotal,
      help: 'Kubernetes API requests that failed, by verb, resource and HTTP status code.',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    }),
    informerRestartsTotal: new Counter({
      name: METRIC_NAMES.informerRestartsTotal,
      help: 'Informer restarts after a list or watch error, by resource.',
      labelNames: ['resource'],
      registers,
    }),
    progressPollsTotal: new Counter({
      name: METRIC_NAMES.progressPollsTotal,
      help: 'Reads of a trainer pod\'s /progress, by result.',
      labelNames: ['result'],
      registers,
    }),
    leader: new Gauge({
      name: METRIC_NAMES.leader,
      help: '1 while this replica holds the leader Lease, else 0.',
      registers,
    }),
  };
}
