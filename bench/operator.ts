/**
 * Operator benchmark: creates N MildnetJobs at once against a local control
 * plane. It measures the time until every child Job exists and every
 * MildnetJob has a status, the Kubernetes API requests per MildnetJob (from
 * the operator's own mildnet_operator_api_requests_total) and the
 * operator's resident memory.
 *
 * Usage: node -r ts-node/register/transpile-only bench/operator.ts [--jobs 1000] [--workers 4] [--run-pods]
 *   --run-pods  create the MildnetJobs unsuspended, so the Job controller
 *               creates 1000 pods (they stay Pending: the benchmark starts
 *               no node); by default they are suspended, which isolates the
 *               operator's own work from the Job controller's.
 *
 * Needs the binaries of scripts/setup-controlplane.sh.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { parseArgs } from 'node:util';

import { startControlPlane } from '../test/cluster/controlplane';
import { Api, CRD_PATH, MJ_PATH, metricValue, mildnetJob, startOperator, type TestCluster } from '../operator/test/integration/harness';

const CREATE_CONCURRENCY = 32;
const POLL_INTERVAL_MS = 250;

/** Resident and peak resident memory of a process in MiB, from /proc. */
function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** CPU seconds (user + system) a process has used, from /proc; Linux reports them in 1/100 s ticks. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function countItems(api: Api, path: string): Promise<number> {
  const list = await api.get<{ items: unknown[] }>(path);
  return list?.items.length ?? 0;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { jobs: { type: 'string', default: '1000' }, workers: { type: 'string', default: '4' }, 'run-pods': { type: 'boolean', default: false } },
  });
  const jobs = Number(values.jobs);
  const suspend = !values['run-pods'];

  const controlPlane = await startControlPlane();
  const cluster = { controlPlane, dir: controlPlane.dir } as TestCluster;
  const api = new Api(controlPlane);
  try {
    await controlPlane.kubectl(['apply', '--server-side', '-f', CRD_PATH]);
    await controlPlane.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/mildnetjobs.mildnet.io']);
    const ns = 'bench';
    await api.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const operator = await startOperator(cluster, ['--namespace', ns, '--leader-elect', 'false', '--workers', String(values.workers)], 'bench', 'info');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idle = memoryMiB(operator.child.pid!);
    const requestsBefore = metricValue(await operator.metrics(), 'mildnet_operator_api_requests_total');
    const cpuBefore = cpuSeconds(operator.child.pid!);

    const started = Date.now();
    let next = 0;
    const creator = async () => {
      while (next < jobs) {
        const index = next++;
        await api.create(MJ_PATH(ns), mildnetJob(ns, `bench-${index}`, 'seconds=1', { runPolicy: { suspend } }));
      }
    };
    await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, creator));
    const createdMs = Date.now() - started;

    let peakRss = 0;
    let jobsMs = 0;
    for (;;) {
      peakRss = Math.max(peakRss, memoryMiB(operator.child.pid!).rss);
      const count = await countItems(api, `/apis/batch/v1/namespaces/${ns}/jobs?labelSelector=mildnet.io/mildnetjob`);
      if (count >= jobs) {
        jobsMs = Date.now() - started;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }

    const expectedPhase = suspend ? 'Suspended' : 'Pending';
    let statusMs = 0;
    for (;;) {
      peakRss = Math.max(peakRss, memoryMiB(operator.child.pid!).rss);
      const list = await api.get<{ items: Array<{ status?: { phase?: string; jobName?: string } }> }>(MJ_PATH(ns));
      const settled = list?.items.filter((mj) => mj.status?.jobName && mj.status.phase === expectedPhase).length ?? 0;
      if (settled >= jobs) {
        statusMs = Date.now() - started;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }

    // Let late reconciles (requeues, retries after conflicts) finish before counting.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const metrics = await operator.metrics();
    const memory = memoryMiB(operator.child.pid!);
    const operatorCpu = cpuSeconds(operator.child.pid!) - cpuBefore;
    const [loadAverage1m] = os.loadavg();
    const requests = metricValue(metrics, 'mildnet_operator_api_requests_total') - requestsBefore;
    const byKind: Record<string, number> = {};
    for (const line of metrics.split('\n')) {
      const match = /^mildnet_operator_api_requests_total\{verb="([^"]+)",resource="([^"]+)"\} (\d+)/.exec(line);
      if (match) byKind[`${match[1]} ${match[2]}`] = Number(match[3]);
    }
    const conflicts = metricValue(metrics, 'mildnet_operator_api_errors_total', { code: '409' });
    const reconciles = metricValue(metrics, 'mildnet_operator_reconciles_total');

    await operator.stop();
    const result = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      mildnetJobs: jobs,
      workers: Number(values.workers),
      suspended: suspend,
      createAllSeconds: createdMs / 1000,
      allJobsExistSeconds: jobsMs / 1000,
      allStatusesSeconds: statusMs / 1000,
      apiRequests: requests,
      apiRequestsPerMildnetJob: Math.round((requests / jobs) * 100) / 100,
      apiRequestsByVerbAndResource: byKind,
      conflicts409: conflicts,
      reconciles,
      operatorCpuSeconds: Math.round(operatorCpu * 10) / 10,
      loadAverage1m: Math.round(loadAverage1m * 10) / 10,
      rssIdleMiB: Math.round(idle.rss),
      rssPeakSampledMiB: Math.round(peakRss),
      rssHighWaterMiB: Math.round(memory.peak),
      rssAfterMiB: Math.round(memory.rss),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await controlPlane.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
