import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

/** Operator settings, from command-line flags or MILDNET_* environment variables (flags win). */
export interface Settings {
  /** Namespace to watch; undefined watches all namespaces. */
  namespace?: string;
  /** Trainer image for MildnetJobs without spec.image. */
  trainerImage: string;
  /** spec.resources.gpuType → node selector. */
  gpuNodeSelectors: Record<string, Record<string, string>>;
  /** Interval between reads of each running trainer's /progress. */
  progressIntervalMs: number;
  /** Port of the trainer's /progress and /metrics, passed to it as --metrics-port. */
  metricsPort: number;
  leaderElect: boolean;
  leaseName: string;
  leaseNamespace: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Interval at which every MildnetJob is reconciled even without an event. 0 turns resync off. */
  resyncMs: number;
  workers: number;
  /** Address of /healthz, /readyz and /metrics. */
  httpHost: string;
  httpPort: number;
  /** Path of a kubeconfig file; unset means in-cluster config, then the default kubeconfig. */
  kubeconfig?: string;
  /** Folder with schema.json and the bundled configs. */
  jobConfigsDir?: string;
}

export const HELP = `Usage: mildnet-operator [flags]

Flags (each also read from the environment variable in brackets):
  --namespace NAME                Namespace to watch; empty watches all namespaces [MILDNET_NAMESPACE]
  --trainer-image IMAGE           Trainer image for MildnetJobs without spec.image [MILDNET_TRAINER_IMAGE]
  --gpu-node-selectors JSON       GPU type to node selector map, e.g. {"a100":{"nvidia.com/gpu.product":"NVIDIA-A100-SXM4-80GB"}} [MILDNET_GPU_NODE_SELECTORS]
  --progress-interval-seconds N   Seconds between reads of each trainer's /progress (default 15) [MILDNET_PROGRESS_INTERVAL_SECONDS]
  --trainer-metrics-port N        Port the trainer serves /progress and /metrics on (default 9090) [MILDNET_TRAINER_METRICS_PORT]
  --leader-elect true|false       Run leader election on a Lease (default true) [MILDNET_LEADER_ELECT]
  --lease-name NAME               Lease name (default mildnet-operator) [MILDNET_LEASE_NAME]
  --lease-namespace NAME          Lease namespace (default: the pod's namespace, else --namespace, else default) [MILDNET_LEASE_NAMESPACE]
  --lease-duration-seconds N      Seconds a standby waits for an unrenewed Lease before taking it (default 15) [MILDNET_LEASE_DURATION_SECONDS]
  --renew-deadline-seconds N      Seconds the leader retries a failed renewal before it exits (default 10) [MILDNET_RENEW_DEADLINE_SECONDS]
  --retry-period-seconds N        Seconds between acquire or renew attempts (default 2) [MILDNET_RETRY_PERIOD_SECONDS]
  --resync-seconds N              Seconds between full resyncs; 0 turns them off (default 300) [MILDNET_RESYNC_SECONDS]
  --workers N                     Reconciles that run at once (default 4) [MILDNET_WORKERS]
  --http-host HOST                Address of /healthz, /readyz and /metrics (default 0.0.0.0) [MILDNET_HTTP_HOST]
  --http-port N                   Port of /healthz, /readyz and /metrics (default 8080) [MILDNET_HTTP_PORT]
  --kubeconfig PATH               Kubeconfig file; default: in-cluster config, then ~/.kube/config [KUBECONFIG]
  --job-configs-dir PATH          Folder with schema.json and the bundled configs [MILDNET_JOB_CONFIGS_DIR]
  --help                          Print this help
`;

const FLAGS = {
  namespace: 'MILDNET_NAMESPACE',
  'trainer-image': 'MILDNET_TRAINER_IMAGE',
  'gpu-node-selectors': 'MILDNET_GPU_NODE_SELECTORS',
  'progress-interval-seconds': 'MILDNET_PROGRESS_INTERVAL_SECONDS',
  'trainer-metrics-port': 'MILDNET_TRAINER_METRICS_PORT',
  'leader-elect': 'MILDNET_LEADER_ELECT',
  'lease-name': 'MILDNET_LEASE_NAME',
  'lease-namespace': 'MILDNET_LEASE_NAMESPACE',
  'lease-duration-seconds': 'MILDNET_LEASE_DURATION_SECONDS',
  'renew-deadline-seconds': 'MILDNET_RENEW_DEADLINE_SECONDS',
  'retry-period-seconds': 'MILDNET_RETRY_PERIOD_SECONDS',
  'resync-seconds': 'MILDNET_RESYNC_SECONDS',
  workers: 'MILDNET_WORKERS',
  'http-host': 'MILDNET_HTTP_HOST',
  'http-port': 'MILDNET_HTTP_PORT',
  kubeconfig: 'KUBECONFIG',
  'job-configs-dir': 'MILDNET_JOB_CONFIGS_DIR',
} as const;
type Flag = keyof typeof FLAGS;

function number(flag: Flag, value: string, min: number, integer = true): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || (integer && !Number.isInteger(parsed))) {
    throw new RangeError(`--${flag} (${FLAGS[flag]}) must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${value}"`);
  }
  return parsed;
}

function boolean(flag: Flag, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new RangeError(`--${flag} (${FLAGS[flag]}) must be true or false, got "${value}"`);
}

/** Parses the GPU type map and checks that it maps names to string-valued objects. */
export function parseGpuNodeSelectors(text: string): Record<string, Record<string, string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RangeError(`--gpu-node-selectors must be JSON such as {"a100":{"nvidia.com/gpu.product":"NVIDIA-A100-SXM4-80GB"}}, got ${JSON.stringify(text)}`, {
      cause: err,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new RangeError(`--gpu-node-selectors must be a JSON object of GPU type to node selector, got ${JSON.stringify(text)}`);
  }
  for (const [gpuType, selector] of Object.entries(parsed)) {
    const valid =
      typeof selector === 'object' && selector !== null && !Array.isArray(selector) && Object.values(selector).every((v) => typeof v === 'string');
    if (!valid) throw new RangeError(`--gpu-node-selectors["${gpuType}"] must be an object of string labels, got ${JSON.stringify(selector)}`);
  }
  return parsed as Record<string, Record<string, string>>;
}

/** Reads settings from argv (without node and the script) and the environment. */
export function loadSettings(argv: string[], env: NodeJS.ProcessEnv = process.env): Settings | 'help' {
  const options = Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }]));
  const { values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true });
  if (values.help) return 'help';
  const get = (flag: Flag): string | undefined => {
    const value = (values as Record<string, string | boolean | undefined>)[flag] as string | undefined ?? env[FLAGS[flag]];
    return value === undefined || value === '' ? undefined : value;
  };

  const namespace = get('namespace');
  return {
    namespace,
    trainerImage: get('trainer-image') ?? 'mildnet-trainer:latest',
    gpuNodeSelectors: parseGpuNodeSelectors(get('gpu-node-selectors') ?? '{}'),
    progressIntervalMs: number('progress-interval-seconds', get('progress-interval-seconds') ?? '15', 0.1, false) * 1000,
    metricsPort: number('trainer-metrics-port', get('trainer-metrics-port') ?? '9090', 1),
    leaderElect: boolean('leader-elect', get('leader-elect') ?? 'true'),
    leaseName: get('lease-name') ?? 'mildnet-operator',
    leaseNamespace: get('lease-namespace') ?? env.POD_NAMESPACE ?? namespace ?? 'default',
    identity: `${env.POD_NAME ?? hostname()}_${process.pid}`,
    leaseDurationMs: number('lease-duration-seconds', get('lease-duration-seconds') ?? '15', 0.1, false) * 1000,
    renewDeadlineMs: number('renew-deadline-seconds', get('renew-deadline-seconds') ?? '10', 0.1, false) * 1000,
    retryPeriodMs: number('retry-period-seconds', get('retry-period-seconds') ?? '2', 0.1, false) * 1000,
    resyncMs: number('resync-seconds', get('resync-seconds') ?? '300', 0, false) * 1000,
    workers: number('workers', get('workers') ?? '4', 1),
    httpHost: get('http-host') ?? '0.0.0.0',
    httpPort: number('http-port', get('http-port') ?? '8080', 0),
    kubeconfig: get('kubeconfig'),
    jobConfigsDir: get('job-configs-dir'),
  };
}
