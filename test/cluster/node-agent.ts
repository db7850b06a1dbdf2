/**
 * Node agent: a stand-in for a kubelet in cluster tests. It registers a Node
 * with nvidia.com/gpu capacity, keeps its Lease in kube-node-lease renewed,
 * and runs every pod bound to the node as local processes (see
 * pod-runner.ts), reporting pod status as a kubelet does.
 *
 * Images map to local commands through the `images` option. Volumes become
 * host directories, and container paths in a container's command, args and
 * env values are rewritten to them; MILDNET_CONTAINER_ROOT names the host
 * directory that stands for the container's "/" (see pod-volumes.ts).
 *
 * This module imports @kubernetes/client-node, an ES module that jest on
 * Node 20 cannot load untransformed: jest tests use spawnNodeAgent() from
 * node-agent-process.ts, which runs this module in a child process.
 */
import { promises as fs, rmSync, statfsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { imageResolver, LOCAL_POD_IP, type ClusterData, type ImageResolver, type LocalImage } from './container-spec';
import { pinnedKubernetesVersion } from './controlplane';
import { findContainerLog, GpuAllocator, PodRunner, type PodApi, type PodRunnerTiming } from './pod-runner';
import type { VolumeSources } from './pod-volumes';

export type { ImageResolver, LocalImage } from './container-spec';
export { CONTAINER_ROOT_ENV } from './pod-runner';

export interface NodeAgentOptions {
  /** Kubeconfig the agent uses for every API call. */
  kubeconfigPath: string;
  /** Image → local command, as a table keyed by image reference or a function. */
  images: Record<string, LocalImage> | ImageResolver;
  /** Node name. Default "mildnet-node". */
  nodeName?: string;
  /** nvidia.com/gpu devices to advertise (no GPU is used). Default 1. */
  gpus?: number;
  /** CPU capacity as a quantity. Default: this machine's logical CPUs. */
  cpu?: string;
  /** Memory capacity as a quantity. Default: this machine's memory. */
  memory?: string;
  /** Maximum number of pods. Default 110, as the kubelet. */
  maxPods?: number;
  /** Labels added to the Node's standard ones. */
  labels?: Record<string, string>;
  /** Taints set on the Node at registration. */
  taints?: k8s.V1Taint[];
  /** Host environment variables passed to every container. Default PATH, HOME, LANG, LC_ALL, TZ. */
  inheritEnv?: string[];
  /** Directory for pod files and logs. Default: a new temporary directory, removed on stop. */
  workDir?: string;
  /** Keep a temporary workDir after stop. Default: MILDNET_KEEP_CLUSTER_DIR is set. */
  keepWorkDir?: boolean;
  /** pino logger. Default: info level to node-agent.log in workDir. */
  logger?: Logger;
  /** Interval of Lease renewals. Default 10000 ms (the kubelet's is 10 s). */
  heartbeatIntervalMs?: number;
  /** Retry and restart back-off timing of pods. Defaults: retry 1000 ms, back-off 1000 ms doubling to 30000 ms. */
  timing?: Partial<PodRunnerTiming>;
  /** Time running containers get between SIGTERM and SIGKILL when the agent stops. Default 5000 ms. */
  shutdownGraceMs?: number;
}

export interface NodeAgent {
  nodeName: string;
  workDir: string;
  /** Returns the log file of a container of the named pod (newest pod of that name), or undefined. */
  containerLogPath(namespace: string, podName: string, container: string): Promise<string | undefined>;
  /** Stops watching, stops every container (SIGTERM, then SIGKILL) and removes a temporary workDir. The Node object stays. */
  stop(): Promise<void>;
}

const FIELD_MANAGER = 'mildnet-node-agent';
const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_DURATION_SECONDS = 40;
const DEFAULT_NODE_NAME = 'mildnet-node';
const DEFAULT_INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'];
const WATCH_RESTART_DELAY_MS = 1000;
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const applyPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);

/**
 * Returns the LocalImage of the trainer image: `node trainer/bin/mildnet.js`
 * of this repository, run from the repository root.
 */
export function localTrainerImage(repoRoot: string = REPO_ROOT): LocalImage {
  return { entrypoint: [process.execPath, path.join(repoRoot, 'trainer', 'bin', 'mildnet.js')], workingDir: repoRoot };
}

/** Registers the Node, starts its heartbeat and starts running the pods bound to it. */
export async function startNodeAgent(options: NodeAgentOptions): Promise<NodeAgent> {
  const nodeName = options.nodeName ?? DEFAULT_NODE_NAME;
  const ownsWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), `mildnet-node-${nodeName}-`)));
  const podsDir = path.join(workDir, 'pods');
  await fs.mkdir(podsDir, { recursive: true });
  const logger =
    options.logger ?? pino({ level: 'info' }, pino.destination({ dest: path.join(workDir, 'node-agent.log'), sync: true }));
  const log = logger.child({ node: nodeName });

  const kubeconfig = new k8s.KubeConfig();
  kubeconfig.loadFromFile(options.kubeconfigPath);
  const core = kubeconfig.makeApiClient(k8s.CoreV1Api);
  const coordination = kubeconfig.makeApiClient(k8s.CoordinationV1Api);
  const server = new URL(kubeconfig.getCurrentCluster()?.server ?? '');

  const capacity: Record<string, string> = {
    cpu: options.cpu ?? String(os.availableParallelism()),
    memory: options.memory ?? `${Math.floor(os.totalmem() / 2 ** 20)}Mi`,
    pods: String(options.maxPods ?? 110),
    'ephemeral-storage': `${freeDiskMebibytes(workDir)}Mi`,
    'nvidia.com/gpu': String(options.gpus ?? 1),
  };

  const node = await registerNode(core, nodeName, capacity, options);
  const renewLease = (): Promise<void> => applyLease(coordination, nodeName, node.metadata?.uid ?? '');
  await renewLease();
  log.info({ capacity }, 'node registered');

  let stopped = false;
  const heartbeat = setInterval(() => {
    renewLease().catch((error: unknown) => log.warn({ err: error }, 'node lease renewal failed'));
  }, options.heartbeatIntervalMs ?? 10_000);

  const runners = new Map<string, PodRunner>();
  const context = {
    podsDir,
    images: imageResolver(options.images),
    sources: clusterSources(core),
    api: podApi(core),
    baseEnv: baseEnvironment(options.inheritEnv ?? DEFAULT_INHERITED_ENV, server),
    nodeAllocatable: capacity,
    gpus: new GpuAllocator(options.gpus ?? 1),
    logger: log,
    timing: { retryMs: 1000, restartBackoffMs: 1000, maxRestartBackoffMs: 30_000, ...options.timing },
  };

  const onPod = (pod: k8s.V1Pod): void => {
    const uid = pod.metadata?.uid ?? '';
    const runner = runners.get(uid);
    if (runner) {
      runner.update(pod);
      return;
    }
    if (pod.metadata?.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
      // Never started here: a deleted pod only needs removing, a finished one is left alone.
      if (pod.metadata?.deletionTimestamp) {
        context.api.deletePod(pod.metadata.namespace ?? '', pod.metadata.name ?? '', uid).catch((error: unknown) => {
          log.warn({ err: error, pod: pod.metadata?.name }, 'deleting a pod that never started failed');
        });
      }
      return;
    }
    const created = new PodRunner(pod, context);
    runners.set(uid, created);
    created.start();
  };

  const fieldSelector = `spec.nodeName=${nodeName}`;
  const informer = new k8s.ListWatch<k8s.V1Pod>(
    '/api/v1/pods',
    new k8s.Watch(kubeconfig),
    () => core.listPodForAllNamespaces({ fieldSelector }),
    false,
    undefined,
    fieldSelector,
  );
  informer.on('add', onPod);
  informer.on('update', onPod);
  informer.on('delete', (pod) => {
    const uid = pod.metadata?.uid ?? '';
    runners.get(uid)?.forget();
    runners.delete(uid);
  });
  informer.on('error', (error) => {
    if (stopped) return;
    log.warn({ err: error }, 'pod watch failed; restarting');
    setTimeout(() => {
      if (!stopped) informer.start().catch((restartError: unknown) => log.error({ err: restartError }, 'pod watch restart failed'));
    }, WATCH_RESTART_DELAY_MS);
  });
  await informer.start();

  const keepWorkDir = options.keepWorkDir ?? Boolean(process.env.MILDNET_KEEP_CLUSTER_DIR);
  const exitHook = (): void => {
    // Last resort when the process exits without stop(): no container may outlive it.
    for (const runner of runners.values()) runner.forget();
  };
  process.on('exit', exitHook);

  return {
    nodeName,
    workDir,
    containerLogPath: (namespace, podName, container) => findContainerLog(podsDir, namespace, podName, container),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(heartbeat);
      await informer.stop();
      await Promise.all([...runners.values()].map((runner) => runner.shutdown(options.shutdownGraceMs ?? 5000)));
      runners.clear();
      process.off('exit', exitHook);
      log.info('node agent stopped');
      if (ownsWorkDir && !keepWorkDir) {
        rmSync(workDir, { recursive: true, force: true });
      }
    },
  };
}

/** Creates or updates the Node and its status with server-side apply. */
async function registerNode(
  core: k8s.CoreV1Api,
  nodeName: string,
  capacity: Record<string, string>,
  options: NodeAgentOptions,
): Promise<k8s.V1Node> {
  const labels = {
    'kubernetes.io/hostname': nodeName,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': goArchitecture(),
    ...options.labels,
  };
  // spec.taints is applied only when set, so the agent never takes over the
  // not-ready taint that the control plane adds and removes.
  const spec = options.taints?.length ? { taints: options.taints } : undefined;
  const node = await core.patchNode(
    {
      name: nodeName,
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, labels }, spec },
      fieldManager: FIELD_MANAGER,
      force: true,
    },
    applyPatch,
  );

  const now = formatTime(new Date());
  const condition = (type: string, status: string, reason: string, message: string): object => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  const status = {
    capacity,
    allocatable: capacity,
    conditions: [
      condition('Ready', 'True', 'KubeletReady', 'mildnet node agent is posting ready status'),
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'node agent does not track memory pressure'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'node agent does not track disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'node agent does not track PID pressure'),
    ],
    addresses: [
      { type: 'InternalIP', address: LOCAL_POD_IP },
      { type: 'Hostname', address: nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: nodeName,
      systemUUID: node.metadata?.uid ?? nodeName,
      bootID: String(Math.floor(Date.now() / 1000 - os.uptime())),
      kernelVersion: os.release(),
      osImage: `${os.type()} ${os.release()}`,
      containerRuntimeVersion: 'mildnet-agent://1.0.0',
      kubeletVersion: pinnedKubernetesVersion(),
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: goArchitecture(),
    },
  };
  await core.patchNodeStatus(
    {
      name: nodeName,
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName }, status },
      fieldManager: FIELD_MANAGER,
      force: true,
    },
    applyPatch,
  );
  return node;
}

/** Creates or renews the node's Lease, which the node lifecycle controller reads as the heartbeat. */
async function applyLease(coordination: k8s.CoordinationV1Api, nodeName: string, nodeUid: string): Promise<void> {
  await coordination.patchNamespacedLease(
    {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: nodeName,
          namespace: NODE_LEASE_NAMESPACE,
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }],
        },
        spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: formatMicroTime(new Date()) },
      },
      fieldManager: FIELD_MANAGER,
      force: true,
    },
    applyPatch,
  );
}

function podApi(core: k8s.CoreV1Api): PodApi {
  return {
    applyStatus: async (namespace, name, status) => {
      try {
        await core.patchNamespacedPodStatus(
          { name, namespace, body: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, status }, fieldManager: FIELD_MANAGER, force: true },
          applyPatch,
        );
        return true;
      } catch (error) {
        if (statusCode(error) === 404) return false;
        throw error;
      }
    },
    deletePod: async (namespace, name, uid) => {
      try {
        await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid } } });
      } catch (error) {
        // 404: already gone; 409: the name now belongs to a newer pod.
        if (statusCode(error) !== 404 && statusCode(error) !== 409) throw error;
      }
    },
  };
}

function clusterSources(core: k8s.CoreV1Api): VolumeSources {
  const data: ClusterData = {
    configMap: async (namespace, name) => {
      const configMap = await readOrUndefined(() => core.readNamespacedConfigMap({ name, namespace }));
      if (!configMap) return undefined;
      return {
        ...mapValues(configMap.data, (value) => Buffer.from(value, 'utf8')),
        ...mapValues(configMap.binaryData, (value) => Buffer.from(value, 'base64')),
      };
    },
    secret: async (namespace, name) => {
      const secret = await readOrUndefined(() => core.readNamespacedSecret({ name, namespace }));
      return secret ? mapValues(secret.data, (value) => Buffer.from(value, 'base64')) : undefined;
    },
  };
  return {
    ...data,
    serviceAccountToken: async (pod, audience, expirationSeconds) => {
      const request = await core.createNamespacedServiceAccountToken({
        name: pod.spec?.serviceAccountName ?? 'default',
        namespace: pod.metadata?.namespace ?? 'default',
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            audiences: audience ? [audience] : [],
            expirationSeconds,
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid },
          },
        },
      });
      return request.status?.token ?? '';
    },
  };
}

/**
 * Environment every container starts from: the inherited host variables and
 * the service variables that point in-cluster clients at the apiserver.
 */
function baseEnvironment(inheritEnv: string[], server: URL): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of inheritEnv) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const port = server.port || '443';
  env.KUBERNETES_SERVICE_HOST = server.hostname;
  env.KUBERNETES_SERVICE_PORT = port;
  env.KUBERNETES_SERVICE_PORT_HTTPS = port;
  env.KUBERNETES_PORT = `tcp://${server.hostname}:${port}`;
  return env;
}

async function readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (statusCode(error) === 404) return undefined;
    throw error;
  }
}

function statusCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? Number((error as { code: unknown }).code) : undefined;
}

function mapValues<T>(record: Record<string, string> | undefined, convert: (value: string) => T): Record<string, T> {
  return Object.fromEntries(Object.entries(record ?? {}).map(([key, value]) => [key, convert(value)]));
}

function freeDiskMebibytes(dir: string): number {
  const stats = statfsSync(dir);
  return Math.floor((stats.bavail * stats.bsize) / 2 ** 20);
}

/** Returns the architecture in Go's naming, as Node labels and nodeInfo use it. */
function goArchitecture(): string {
  const names: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };
  return names[os.arch()] ?? os.arch();
}

function formatTime(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Formats a MicroTime: the API parses exactly six fractional digits. */
function formatMicroTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
