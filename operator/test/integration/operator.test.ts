/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are untyped JSON in these tests */
/**
 * The operator against a real kube-apiserver, kube-controller-manager (Job
 * controller, garbage collector) and kube-scheduler, with a node agent that
 * runs the trainer pods as local processes. The trainer is the fake trainer
 * (fake-trainer.js), which follows the trainer's exit-code and /progress
 * contract without training.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

import { parseAllDocuments } from 'yaml';

import { describeWithControlPlane } from '../../../test/cluster/describe-cluster';
import {
  MJ_PATH,
  REPO_ROOT,
  conditionOf,
  findHelm,
  freePort,
  metricValue,
  mildnetJob,
  startOperator,
  startTestCluster,
  waitFor,
  writeTokenKubeconfig,
  type OperatorProcess,
  type TestCluster,
} from './harness';

jest.setTimeout(120_000);

const JOBS_PATH = (ns: string, name = '') => `/apis/batch/v1/namespaces/${ns}/jobs${name ? `/${name}` : ''}`;

describeWithControlPlane('MildnetJob operator', () => {
  let cluster: TestCluster;
  let operator: OperatorProcess;
  let ns: string;
  let trainerPort: number;

  beforeAll(async () => {
    cluster = await startTestCluster();
    ns = await cluster.namespace('main');
    trainerPort = await freePort();
    operator = await startOperator(cluster, [
      '--namespace',
      ns,
      '--leader-elect',
      'false',
      '--resync-seconds',
      '0',
      '--progress-interval-seconds',
      '0.5',
      '--trainer-metrics-port',
      String(trainerPort),
      '--gpu-node-selectors',
      '{"a100":{"kubernetes.io/hostname":"mildnet-node"}}',
    ]);
  }, 240_000);

  afterAll(async () => {
    await operator?.stop();
    await cluster?.stop();
  }, 60_000);

  const getMj = (name: string, namespace = ns) => cluster.api.get(MJ_PATH(namespace, name));
  const waitForPhase = (name: string, phase: string, namespace = ns, timeoutMs = 60_000) =>
    waitFor(`MildnetJob ${namespace}/${name} phase ${phase}`, async () => {
      const mj = await getMj(name, namespace);
      return mj?.status?.phase === phase ? mj : undefined;
    }, timeoutMs);

  test('CRD installs with printer columns', async () => {
    const crd = await cluster.api.get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/mildnetjobs.mildnet.io');
    const established = crd.status.conditions.find((c: { type: string }) => c.type === 'Established');
    expect(established.status).toBe('True');
    expect(crd.spec.versions[0].additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual([
      'Model', 'Phase', 'Epoch', 'Val-Acc', 'Restarts', 'Job', 'Age',
    ]);
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['config without preset misses model_id', { preset: undefined, config: { loss: 'hinge_loss' } }, 'spec.config.model_id is required when spec.preset is not set'],
    ['unknown preset', { preset: 'mildnett' }, 'spec.preset: Unsupported value: "mildnett"'],
    ['relative data URI', { data: { uri: 'data/tops' } }, 'spec.data.uri: Invalid value'],
    ['negative learning rate', { config: { lr: -1 } }, 'spec.config.lr: Invalid value'],
    ['unknown model', { config: { model_id: 'resnet' } }, 'spec.config.model_id: Unsupported value: "resnet"'],
    ['gpuType without gpus', { resources: { gpuType: 'a100' } }, 'spec.resources.gpuType needs spec.resources.gpus > 0'],
    ['invalid cpu quantity', { resources: { cpu: 'lots' } }, 'spec.resources.cpu: Invalid value'],
    ['negative backoffLimit', { runPolicy: { backoffLimit: -1 } }, 'spec.runPolicy.backoffLimit: Invalid value'],
    ['missing output', { output: undefined }, 'spec.output: Required value'],
    ['bad secret name', { output: { uri: 's3://runs/x', secretRef: { name: 'Bad_Name' } } }, 'spec.output.secretRef.name: Invalid value'],
  ];
  test.each(invalid)('API server rejects %s', async (_name, spec, message) => {
    const manifest = mildnetJob(ns, 'invalid', 'seconds=1', {});
    Object.assign(manifest.spec, spec);
    const response = await cluster.api.request('POST', MJ_PATH(ns), manifest);
    expect(response.status).toBe(422);
    expect(response.body.message).toContain(message);
  });

  test('API server rejects a name too long for the metrics Service', async () => {
    const response = await cluster.api.request('POST', MJ_PATH(ns), mildnetJob(ns, 'x'.repeat(56), 'seconds=1'));
    expect(response.status).toBe(422);
    expect(response.body.message).toContain('metadata.name must be a DNS-1035 label of at most 55 characters');
  });

  test('create renders the Job, ConfigMap and Service and reaches Succeeded', async () => {
    await cluster.api.create(MJ_PATH(ns), mildnetJob(ns, 'basic', 'seconds=2 exit=0', {
      config: { description: 'fake-trainer seconds=2 exit=0', epochs: 2 },
      resources: { gpus: 1, gpuType: 'a100', cpu: '500m', memory: '256Mi' },
      output: { uri: 's3://runs/basic', secretRef: { name: 'store' } },
    }));
    await cluster.api.create(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'store' }, stringData: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    });
    const mj = await getMj('basic');

    const job = await waitFor<any>('Job basic', () => cluster.api.get(JOBS_PATH(ns, 'basic')));
    expect(job.metadata.ownerReferences).toEqual([
      { apiVersion: 'mildnet.io/v1alpha1', kind: 'MildnetJob', name: 'basic', uid: mj.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
    const pod = job.spec.template.spec;
    expect(pod.containers[0].args).toEqual([
      'train', '--config', '/etc/mildnet/config/config.yaml', '--data', 'file:///data/tops', '--job-dir', 's3://runs/basic',
      '--metrics-port', String(trainerPort), '--metrics-host', '$(POD_IP)',
    ]);
    expect(pod.containers[0].resources).toEqual({
      requests: { cpu: '500m', memory: '256Mi', 'nvidia.com/gpu': '1' },
      limits: { memory: '256Mi', 'nvidia.com/gpu': '1' },
    });
    expect(pod.containers[0].envFrom).toEqual([{ secretRef: { name: 'store' } }]);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/hostname': 'mildnet-node' });
    expect(pod.restartPolicy).toBe('Never');
    expect(job.spec.podFailurePolicy.rules).toHaveLength(3);

    const configMap = await cluster.api.get(`/api/v1/namespaces/${ns}/configmaps/basic-config`);
    expect(configMap.data['config.yaml']).toContain('epochs: 2\n');
    expect(configMap.data['config.yaml']).toContain('model_id: mildnet_vgg16\n');
    const service = await cluster.api.get(`/api/v1/namespaces/${ns}/services/basic-metrics`);
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.ports[0]).toMatchObject({ name: 'metrics', port: trainerPort });

    const done = await waitForPhase('basic', 'Succeeded');
    expect(conditionOf(done, 'Succeeded')).toMatchObject({ status: 'True', reason: 'JobSucceeded' });
    expect(conditionOf(done, 'Created')).toMatchObject({ status: 'True', reason: 'JobCreated' });
    expect(done.status).toMatchObject({ jobName: 'basic', model: 'mildnet_vgg16', restarts: 0, observedGeneration: 1 });
    expect(done.status.startTime).toBeDefined();
    expect(done.status.completionTime).toBeDefined();

    const events = await cluster.api.get(`/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name=basic,involvedObject.kind=MildnetJob`);
    const reasons = events.items.map((e: { reason: string }) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['JobCreated', 'JobSucceeded']));
  });

  test('spec is immutable once the Job exists, except suspend', async () => {
    const rejected = await cluster.api.request('PATCH', MJ_PATH(ns, 'basic'), { spec: { config: { epochs: 5 } } }, 'application/merge-patch+json');
    expect(rejected.status).toBe(422);
    expect(rejected.body.message).toContain('spec.config cannot change after the Job was created');
    const allowed = await cluster.api.request('PATCH', MJ_PATH(ns, 'basic'), { spec: { runPolicy: { suspend: true, ttlSecondsAfterFinished: 3600 } } }, 'application/merge-patch+json');
    expect(allowed.status).toBe(200);
  });

  const failures: Array<[string, string, Record<string, unknown>, string]> = [
    ['exit code 2 fails at once', 'seconds=0.2 exit=2', { runPolicy: { backoffLimit: 5 } }, 'InvalidConfig'],
    ['exit code 1 exhausts backoffLimit', 'seconds=0.2 exit=1', { runPolicy: { backoffLimit: 0 } }, 'BackoffLimitExceeded'],
    ['deadline', 'seconds=60 exit=0', { runPolicy: { activeDeadlineSeconds: 2 } }, 'DeadlineExceeded'],
  ];
  test.each(failures)('Job failure: %s', async (_name, behaviour, spec, reason) => {
    const name = `fail-${reason.toLowerCase()}`;
    await cluster.api.create(MJ_PATH(ns), mildnetJob(ns, name, behaviour, spec));
    const failed = await waitForPhase(name, 'Failed');
    expect(conditionOf(failed, 'Failed')).toMatchObject({ status: 'True', reason });
    if (reason === 'InvalidConfig') expect(failed.status.restarts).toBe(1);
  });

  test('invalid spec fails with InvalidSpec and creates no Job', async () => {
    await cluster.api.create(MJ_PATH(ns), mildnetJob(ns, 'bad-gpu', 'seconds=1', { resources: { gpus: 1, gpuType: 'h100' } }));
    const failed = await waitForPhase('bad-gpu', 'Failed');
    expect(conditionOf(failed, 'Failed')).toMatchObject({ reason: 'InvalidSpec' });
    expect(conditionOf(failed, 'Failed')!.message).toContain('spec.resources.gpuType "h100" is not configured in the operator; use one of: a100');
    expect(await cluster.api.get(JOBS_PATH(ns, 'bad-gpu'))).toBeUndefined();
  });

  test('name taken by a foreign Job is reported, not adopted', async () => {
    const foreign = await cluster.api.create(JOBS_PATH(ns), {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'taken' },
      spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'mildnet-fake-trainer:test' }] } } },
    });
    await cluster.api.create(MJ_PATH(ns), mildnetJob(ns, 'taken', 'seconds=1'));
    const pending = await waitFor('JobNameConflict', async () => {
      const mj = await getMj('taken');
      return conditionOf(mj, 'Created')?.reason === 'JobNameConflict' ? mj : undefined;
    });
    expect(conditionOf(pending, 'Created')!.message).toBe(
      `Job ${ns}/taken already exists and is not controlled by this MildnetJob; delete it or rename the MildnetJob`,
    );
    const job = await cluster.api.get(JOBS_PATH(ns, 'taken'));
    expect(job.metadata.uid).toBe(foreign.metadata.uid);
    expect(job.metadata.ownerReferences).toBeUndefined();
    await cluster.api.delete(MJ_PATH(ns, 'taken'));
    await cluster.api.delete(JOBS_PATH(ns, 'taken'), { propagationPolicy: 'Background' });
  });

  test('suspend and resume', async () => {
    await cluster.api.create(MJ_PATH(ns), mildnetJob(ns, 'pausable', 'seconds=1.5 exit=0', { runPolicy: { suspend: true } }));
    const suspended = await waitForPhase('pausable', 'Suspended');
    expect(conditionOf(suspended, 'Suspended')).toMatchObject({ status: 'True', reason: 'JobSuspended' });
    const job = await cluster.api.get(JOBS_PATH(ns, 'pausable'));
    expect(job.spec.suspend).toBe(true);

    await cluster.api.mergePatch(MJ_PATH(ns, 'pausable'), { spec: { runPolicy: { suspend: false } } });
    const done = await waitForPhase('pausable', 'Succeeded');
    expect(conditionOf(done, 'Suspended')).toMatchObject({ status: 'False' });
    expect((await cluster.api.get(JOBS_PATH(ns, 'pausable'))).spec.suspend).toBe(false);
  });

  test('progress reaches status and kubectl get', async () => {
    await cluster.api.create(MJ_PATH(ns), mildnetJob(ns, 'progress', 'seconds=5 epochs=5 exit=0'));
    const running = await waitFor('progress epoch >= 2', async () => {
      const mj = await getMj('progress');
      return (mj?.status?.progress?.epoch ?? 0) >= 2 ? mj : undefined;
    });
    expect(running.status.progress).toMatchObject({ totalEpochs: 5, totalSteps: 500, phase: 'training' });
    expect(running.status.progress.valAccuracy).toBeGreaterThan(0);
    const table = await cluster.controlPlane.kubectl(['get', 'mj', 'progress', '-n', ns]);
    expect(table.split('\n')[0].split(/\s+/)).toEqual(['NAME', 'MODEL', 'PHASE', 'EPOCH', 'VAL-ACC', 'AGE']);
    expect(table.split('\n')[1]).toMatch(/^progress\s+mildnet_vgg16\s+Running\s+\d+\s+0\.\d+/);
    await waitForPhase('progress', 'Succeeded');
  });

  test('child Job deleted after the MildnetJob finished is not recreated', async () => {
    const before = await getMj('progress');
    expect(await cluster.api.delete(JOBS_PATH(ns, 'progress'), { propagationPolicy: 'Background' })).toBe(200);
    await waitFor('Job progress deleted', async () => ((await cluster.api.get(JOBS_PATH(ns, 'progress'))) === undefined ? true : undefined));
    // A label change is an event for the MildnetJob, so the operator reconciles it once more.
    await cluster.api.mergePatch(MJ_PATH(ns, 'progress'), { metadata: { labels: { poke: 'yes' } } });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await cluster.api.get(JOBS_PATH(ns, 'progress'))).toBeUndefined();
    const after = await getMj('progress');
    expect(after.status).toEqual(before.status);
  });

  test('TTL deletes the MildnetJob on time with no other event', async () => {
    await cluster.api.create(MJ_PATH(ns), mildnetJob(ns, 'short-lived', 'seconds=0.5 exit=0', { runPolicy: { ttlSecondsAfterFinished: 4 } }));
    const done = await waitForPhase('short-lived', 'Succeeded');
    const expiresAt = Date.parse(done.status.completionTime) + 4000;
    await waitFor('MildnetJob short-lived deleted', async () => ((await getMj('short-lived')) === undefined ? true : undefined), 30_000, 100);
    const deletedAt = Date.now();
    // completionTime has whole seconds, so deletion may come up to 1 s before completion + TTL.
    expect(deletedAt).toBeGreaterThanOrEqual(expiresAt - 1000);
    expect(deletedAt).toBeLessThan(expiresAt + 2500);
    await waitFor('Job short-lived garbage-collected', async () => ((await cluster.api.get(JOBS_PATH(ns, 'short-lived'))) === undefined ? true : undefined));
  });

  test('status conflicts are retried', async () => {
    await cluster.api.create(MJ_PATH(ns), mildnetJob(ns, 'contended', 'seconds=2 exit=0'));
    let stop = false;
    let writes = 0;
    const writer = (async () => {
      while (!stop) {
        await cluster.api.mergePatch(MJ_PATH(ns, 'contended'), { metadata: { annotations: { tick: String(writes++) } } });
      }
    })();
    let done;
    try {
      done = await waitForPhase('contended', 'Succeeded');
    } finally {
      stop = true;
      await writer;
    }
    expect(conditionOf(done, 'Succeeded')?.status).toBe('True');
    const metrics = await operator.metrics();
    expect(metricValue(metrics, 'mildnet_operator_api_errors_total', { resource: 'mildnetjobs/status', code: '409' })).toBeGreaterThan(0);
    expect(writes).toBeGreaterThan(10);
  });

  test('operator exports its metrics', async () => {
    const metrics = await operator.metrics();
    expect(metricValue(metrics, 'mildnet_operator_reconciles_total', { result: 'success' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'mildnet_operator_mildnetjobs', { phase: 'Succeeded' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'mildnet_operator_api_requests_total', { verb: 'create', resource: 'jobs' })).toBeGreaterThan(0);
    expect(metrics).toContain('mildnet_operator_reconcile_duration_seconds_bucket');
    expect(metrics).toContain('mildnet_operator_workqueue_latency_seconds_bucket');
    const ready = await fetch(`http://127.0.0.1:${operator.httpPort}/readyz`);
    expect(ready.status).toBe(200);
  });

  test('operator restart creates no duplicate Job', async () => {
    const restartNs = await cluster.namespace('restart');
    const first = await startOperator(cluster, ['--namespace', restartNs, '--leader-elect', 'false', '--resync-seconds', '1'], 'restart-a');
    await cluster.api.create(MJ_PATH(restartNs), mildnetJob(restartNs, 'survivor', 'seconds=6 exit=0'));
    const job = await waitFor<any>('Job survivor', () => cluster.api.get(JOBS_PATH(restartNs, 'survivor')));
    expect(await first.stop()).toBe(0);

    const second = await startOperator(cluster, ['--namespace', restartNs, '--leader-elect', 'false', '--resync-seconds', '1'], 'restart-b');
    try {
      await waitFor('second operator reconciled', async () => {
        const m = await second.metrics();
        return metricValue(m, 'mildnet_operator_reconciles_total') >= 3 ? true : undefined;
      });
      const jobs = await cluster.api.get(`${JOBS_PATH(restartNs)}?labelSelector=mildnet.io/mildnetjob=survivor`);
      expect(jobs.items.map((j: { metadata: { uid: string } }) => j.metadata.uid)).toEqual([job.metadata.uid]);
      expect(metricValue(await second.metrics(), 'mildnet_operator_api_requests_total', { verb: 'create', resource: 'jobs' })).toBe(0);
      await waitForPhase('survivor', 'Succeeded', restartNs);
    } finally {
      await second.stop();
    }
  });

  test('two replicas elect one leader and the standby takes over', async () => {
    const leaderNs = await cluster.namespace('leader');
    const flags = ['--namespace', leaderNs, '--lease-namespace', leaderNs, '--lease-duration-seconds', '3', '--renew-deadline-seconds', '2', '--retry-period-seconds', '0.5'];
    const a = await startOperator(cluster, flags, 'replica-a');
    const b = await startOperator(cluster, flags, 'replica-b');
    try {
      const leaderOf = async () => {
        const [ma, mb] = await Promise.all([a.metrics(), b.metrics()]);
        return [metricValue(ma, 'mildnet_operator_leader'), metricValue(mb, 'mildnet_operator_leader')];
      };
      const first = await waitFor('one leader', async () => {
        const flagsNow = await leaderOf();
        return flagsNow[0] + flagsNow[1] === 1 ? flagsNow : undefined;
      });
      const [leader, standby] = first[0] === 1 ? [a, b] : [b, a];
      const lease = await cluster.api.get(`/apis/coordination.k8s.io/v1/namespaces/${leaderNs}/leases/mildnet-operator`);
      expect(lease.spec.holderIdentity).toMatch(new RegExp(`_${leader.child.pid}$`));

      await cluster.api.create(MJ_PATH(leaderNs), mildnetJob(leaderNs, 'before', 'seconds=0.5 exit=0'));
      await waitForPhase('before', 'Succeeded', leaderNs);
      expect(metricValue(await standby.metrics(), 'mildnet_operator_reconciles_total')).toBe(0);

      // A crash: the leader neither releases nor renews, so the standby waits out the lease duration.
      await leader.kill();
      await waitFor('standby leads', async () => (metricValue(await standby.metrics(), 'mildnet_operator_leader') === 1 ? true : undefined), 20_000);
      await cluster.api.create(MJ_PATH(leaderNs), mildnetJob(leaderNs, 'after', 'seconds=0.5 exit=0'));
      await waitForPhase('after', 'Succeeded', leaderNs);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  test('SIGTERM releases the Lease so a standby takes over at once', async () => {
    const releaseNs = await cluster.namespace('release');
    const flags = ['--namespace', releaseNs, '--lease-namespace', releaseNs, '--lease-duration-seconds', '30', '--renew-deadline-seconds', '20', '--retry-period-seconds', '0.5'];
    const a = await startOperator(cluster, flags, 'release-a');
    await waitFor('a leads', async () => (metricValue(await a.metrics(), 'mildnet_operator_leader') === 1 ? true : undefined));
    const b = await startOperator(cluster, flags, 'release-b');
    try {
      const stoppedAt = Date.now();
      expect(await a.stop()).toBe(0);
      await waitFor('b leads', async () => (metricValue(await b.metrics(), 'mildnet_operator_leader') === 1 ? true : undefined), 10_000, 100);
      expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    } finally {
      await b.stop();
    }
  });

  const helm = findHelm();
  if (!helm) console.warn('Skipping the chart RBAC test: no helm binary (set MILDNET_HELM or put helm on PATH).');
  (helm ? test : test.skip)('chart RBAC is enough to run a MildnetJob', async () => {
    const chartNs = await cluster.namespace('chart');
    const rendered = execFileSync(helm!, [
      'template', 'mj', path.join(REPO_ROOT, 'charts/mildnet-operator'), '--kube-version', '1.35.0', '--namespace', chartNs,
      '--set', `operator.watchNamespace=${chartNs}`,
    ]).toString();
    // Every rendered object passes the API server's validation.
    await cluster.controlPlane.kubectl(['apply', '--dry-run=server', '-n', chartNs, '-f', '-'], rendered);

    const rbacKinds = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);
    const rbac = parseAllDocuments(rendered).map((doc) => doc.toJS()).filter((obj) => obj && rbacKinds.has(obj.kind));
    expect(rbac.map((obj) => obj.kind).sort()).toEqual(['Role', 'Role', 'RoleBinding', 'RoleBinding', 'ServiceAccount']);
    await cluster.controlPlane.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));

    const serviceAccount = rbac.find((obj) => obj.kind === 'ServiceAccount').metadata.name;
    const tokenRequest = await cluster.api.create(`/api/v1/namespaces/${chartNs}/serviceaccounts/${serviceAccount}/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 },
    });
    const kubeconfig = path.join(cluster.dir, 'chart-sa.kubeconfig');
    await writeTokenKubeconfig(cluster, tokenRequest.status.token, kubeconfig);

    const chartOperator = await startOperator(cluster, ['--kubeconfig', kubeconfig, '--namespace', chartNs, '--lease-namespace', chartNs], 'chart-rbac');
    try {
      await cluster.api.create(MJ_PATH(chartNs), mildnetJob(chartNs, 'rbac', 'seconds=0.5 exit=0', { runPolicy: { ttlSecondsAfterFinished: 1 } }));
      await waitForPhase('rbac', 'Succeeded', chartNs);
      await waitFor('MildnetJob rbac deleted by TTL', async () => ((await getMj('rbac', chartNs)) === undefined ? true : undefined));
      const metrics = await chartOperator.metrics();
      expect(metricValue(metrics, 'mildnet_operator_api_errors_total', { code: '403' })).toBe(0);
      expect(metricValue(metrics, 'mildnet_operator_leader')).toBe(1);
    } finally {
      await chartOperator.stop();
    }
  });
});
