import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startControlPlane, type ControlPlane } from './controlplane';
import { describeWithControlPlane, getJson, waitFor } from './describe-cluster';
import type { NodeAgent } from './node-agent';
import { spawnNodeAgent } from './node-agent-process';

jest.setTimeout(240_000);

/** Test image: its entrypoint is `/bin/sh -c`, so a container's args are one shell script. */
const SHELL_IMAGE = 'mildnet.test/shell:1';
const NODE_NAME = 'gpu-node-1';

interface Pod {
  metadata: { name: string; uid: string };
  spec: { nodeName?: string };
  status: {
    phase: string;
    startTime?: string;
    conditions?: { type: string; status: string; reason?: string }[];
    containerStatuses?: {
      name: string;
      state: { running?: object; terminated?: { exitCode: number; reason: string } };
      lastState: { terminated?: { exitCode: number } };
      restartCount: number;
      containerID?: string;
    }[];
  };
}

interface Job {
  status: { conditions?: { type: string; status: string }[]; succeeded?: number; failed?: number };
}

function job(name: string, script: string, extraPodSpec: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: SHELL_IMAGE, args: [script], resources: { limits: { 'nvidia.com/gpu': '1' } } }],
          ...extraPodSpec,
        },
      },
    },
  };
}

async function podsOfJob(cluster: ControlPlane, jobName: string): Promise<Pod[]> {
  return (await getJson<{ items: Pod[] }>(cluster, ['pods', '-l', `job-name=${jobName}`])).items;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeWithControlPlane('node agent', () => {
  let cluster: ControlPlane;
  let agent: NodeAgent;
  let outDir: string;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(os.tmpdir(), 'mildnet-agent-test-'));
    cluster = await startControlPlane();
    agent = await spawnNodeAgent({
      kubeconfigPath: cluster.kubeconfigPath,
      nodeName: NODE_NAME,
      gpus: 2,
      images: { 'mildnet.test/shell': { entrypoint: ['/bin/sh', '-c'] } },
      timing: { retryMs: 500 },
    });
  });

  afterAll(async () => {
    await agent?.stop();
    await cluster?.stop();
    rmSync(outDir, { recursive: true, force: true });
  });

  test('node registers with GPUs and becomes schedulable', async () => {
    const node = await getJson<{
      status: { allocatable: Record<string, string>; conditions: { type: string; status: string }[] };
      spec: { taints?: { key: string }[] };
    }>(cluster, ['node', NODE_NAME]);
    expect(node.status.allocatable['nvidia.com/gpu']).toBe('2');
    expect(node.status.conditions.find((condition) => condition.type === 'Ready')?.status).toBe('True');

    // The node lifecycle controller removes the not-ready taint after it reads the Ready condition.
    await waitFor('the not-ready taint to be removed', async () => {
      const current = await getJson<{ spec: { taints?: { key: string }[] } }>(cluster, ['node', NODE_NAME]);
      const notReady = (current.spec.taints ?? []).some((taint) => taint.key === 'node.kubernetes.io/not-ready');
      return notReady ? undefined : true;
    });

    const lease = await getJson<{ spec: { holderIdentity: string } }>(cluster, ['lease', '-n', 'kube-node-lease', NODE_NAME]);
    expect(lease.spec.holderIdentity).toBe(NODE_NAME);
  });

  test('job runs on the agent and completes', async () => {
    await cluster.kubectl(['create', 'configmap', 'greeting', '--from-literal=message=hello from a ConfigMap']);
    await cluster.kubectl(['create', 'secret', 'generic', 'credentials', '--from-literal=token=s3cr3t']);

    const script = [
      'cat "$GREETING_FILE" > /out/greeting',
      'echo "$POD_NAME $POD_NAMESPACE $TOKEN $CFG_message $LABEL" > /out/env',
      'cat /var/run/secrets/kubernetes.io/serviceaccount/namespace > /out/sa-namespace',
      'echo "$NVIDIA_VISIBLE_DEVICES" > /out/gpus',
    ].join('\n');
    const podSpec = {
      volumes: [
        { name: 'greeting', configMap: { name: 'greeting' } },
        { name: 'out', hostPath: { path: outDir, type: 'Directory' } },
      ],
    };
    const manifest = job('complete', script, podSpec) as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    Object.assign(manifest.spec.template.spec.containers[0], {
      volumeMounts: [
        { name: 'greeting', mountPath: '/etc/greeting' },
        { name: 'out', mountPath: '/out' },
      ],
      envFrom: [{ configMapRef: { name: 'greeting' }, prefix: 'CFG_' }],
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'credentials', key: 'token' } } },
        { name: 'GREETING_FILE', value: '/etc/greeting/message' },
        { name: 'LABEL', value: 'ns=$(POD_NAMESPACE)' },
      ],
    });
    await cluster.kubectl(['create', '-f', '-'], JSON.stringify(manifest));

    await cluster.kubectl(['wait', '--for=condition=Complete', 'job/complete', '--timeout=120s']);

    const [pod] = await podsOfJob(cluster, 'complete');
    expect(pod.spec.nodeName).toBe(NODE_NAME);
    expect(pod.status.phase).toBe('Succeeded');
    expect(pod.status.startTime).toBeDefined();
    const terminated = pod.status.containerStatuses?.[0].state.terminated;
    expect(terminated?.exitCode).toBe(0);
    expect(terminated?.reason).toBe('Completed');
    const conditions = Object.fromEntries((pod.status.conditions ?? []).map((condition) => [condition.type, condition]));
    expect(conditions.PodScheduled?.status).toBe('True');
    expect(conditions.Initialized?.status).toBe('True');
    expect(conditions.Ready?.status).toBe('False');
    expect(conditions.Ready?.reason).toBe('PodCompleted');

    expect(readFileSync(path.join(outDir, 'greeting'), 'utf8')).toBe('hello from a ConfigMap');
    expect(readFileSync(path.join(outDir, 'env'), 'utf8').trim()).toBe(`${pod.metadata.name} default s3cr3t hello from a ConfigMap ns=default`);
    expect(readFileSync(path.join(outDir, 'sa-namespace'), 'utf8')).toBe('default');
    expect(readFileSync(path.join(outDir, 'gpus'), 'utf8').trim()).toMatch(/^[01]$/);
  });

  test('failing command fails the job', async () => {
    await cluster.kubectl(['create', '-f', '-'], JSON.stringify(job('fail', 'echo failing >&2; exit 3')));

    await cluster.kubectl(['wait', '--for=condition=Failed', 'job/fail', '--timeout=120s']);

    const [pod] = await podsOfJob(cluster, 'fail');
    expect(pod.status.phase).toBe('Failed');
    const terminated = pod.status.containerStatuses?.[0].state.terminated;
    expect(terminated?.exitCode).toBe(3);
    expect(terminated?.reason).toBe('Error');
    const logPath = await agent.containerLogPath('default', pod.metadata.name, 'main');
    expect(logPath).toBeDefined();
    expect(readFileSync(logPath ?? '', 'utf8')).toBe('failing\n');
    const status = await getJson<Job>(cluster, ['job', 'fail']);
    expect(status.status.failed).toBe(1);
  });

  test('init container and OnFailure restart', async () => {
    // The init container leaves a file in an emptyDir; the main container fails on its first run and succeeds on the second.
    const manifest = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'retry' },
      spec: {
        backoffLimit: 2,
        template: {
          spec: {
            restartPolicy: 'OnFailure',
            volumes: [{ name: 'scratch', emptyDir: {} }],
            initContainers: [
              { name: 'prepare', image: SHELL_IMAGE, args: ['echo prepared > /scratch/ready'], volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] },
            ],
            containers: [
              {
                name: 'main',
                image: SHELL_IMAGE,
                args: ['test -f /scratch/ready || exit 9; if [ -f /scratch/ran ]; then exit 0; fi; touch /scratch/ran; exit 1'],
                volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
              },
            ],
          },
        },
      },
    };
    await cluster.kubectl(['create', '-f', '-'], JSON.stringify(manifest));

    await cluster.kubectl(['wait', '--for=condition=Complete', 'job/retry', '--timeout=120s']);

    const [pod] = await podsOfJob(cluster, 'retry');
    expect(pod.status.phase).toBe('Succeeded');
    const status = pod.status.containerStatuses?.[0];
    expect(status?.restartCount).toBe(1);
    expect(status?.lastState.terminated?.exitCode).toBe(1);
  });

  test('unknown image waits as ErrImagePull and can be deleted', async () => {
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'unknown-image' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.invalid/nothing:1' }] },
    };
    await cluster.kubectl(['create', '-f', '-'], JSON.stringify(manifest));

    const waiting = await waitFor('the ErrImagePull status', async () => {
      const current = await getJson<{ status: { phase: string; containerStatuses?: { state: { waiting?: { reason: string; message: string } } }[] } }>(
        cluster,
        ['pod', 'unknown-image'],
      );
      const state = current.status.containerStatuses?.[0].state.waiting;
      return state?.reason === 'ErrImagePull' ? { phase: current.status.phase, message: state.message } : undefined;
    });
    expect(waiting.phase).toBe('Pending');
    expect(waiting.message).toContain('registry.invalid/nothing:1');

    await cluster.kubectl(['delete', 'pod', 'unknown-image', '--wait=true', '--timeout=60s']);
    const remaining = await cluster.kubectl(['get', 'pod', 'unknown-image', '--ignore-not-found', '-o', 'name']);
    expect(remaining.trim()).toBe('');
  });

  test('pod deletion sends SIGTERM, then SIGKILL after the grace period', async () => {
    const pod = (name: string, script: string): object => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 3,
        volumes: [{ name: 'out', hostPath: { path: outDir } }],
        containers: [{ name: 'main', image: SHELL_IMAGE, args: [script], volumeMounts: [{ name: 'out', mountPath: '/out' }] }],
      },
    });
    // The first shell exits on SIGTERM; the second ignores it (and so do its children), so only SIGKILL ends it.
    // "$$$$" reaches the shell as "$$" (its PID) because the kubelet's $(VAR) expansion turns "$$" into "$".
    const graceful = pod('graceful', 'trap "echo term > /out/graceful.term; exit 0" TERM; echo $$$$ > /out/graceful.pid; while :; do sleep 1; done');
    const stubborn = pod('stubborn', 'trap "" TERM; echo $$$$ > /out/stubborn.pid; while :; do sleep 1; done');
    await cluster.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [graceful, stubborn] }));

    for (const name of ['graceful', 'stubborn']) {
      await waitFor(`pod ${name} to run`, async () => {
        const current = await getJson<Pod>(cluster, ['pod', name]);
        const pidFile = path.join(outDir, `${name}.pid`);
        const written = existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n');
        return current.status.phase === 'Running' && written ? true : undefined;
      });
    }
    const gracefulPid = Number(readFileSync(path.join(outDir, 'graceful.pid'), 'utf8'));
    const stubbornPid = Number(readFileSync(path.join(outDir, 'stubborn.pid'), 'utf8'));
    expect(gracefulPid).toBeGreaterThan(1);
    expect(stubbornPid).toBeGreaterThan(1);
    expect(processIsAlive(gracefulPid)).toBe(true);
    expect(processIsAlive(stubbornPid)).toBe(true);

    const started = Date.now();
    await cluster.kubectl(['delete', 'pod', 'graceful', 'stubborn', '--wait=true', '--timeout=60s']);
    const elapsedMs = Date.now() - started;

    expect(readFileSync(path.join(outDir, 'graceful.term'), 'utf8').trim()).toBe('term');
    expect(processIsAlive(gracefulPid)).toBe(false);
    expect(processIsAlive(stubbornPid)).toBe(false);
    // The stubborn pod can only be gone after its 3 s grace period.
    expect(elapsedMs).toBeGreaterThanOrEqual(3000);
    const remaining = await cluster.kubectl(['get', 'pods', 'graceful', 'stubborn', '--ignore-not-found', '-o', 'name']);
    expect(remaining.trim()).toBe('');
  });
});
