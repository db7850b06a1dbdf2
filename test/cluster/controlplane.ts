/**
 * Local Kubernetes control plane for tests: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler as child processes on loopback
 * ports, built by scripts/setup-controlplane.sh. There is no kubelet: pair it
 * with the node agent in node-agent.ts to run pods.
 *
 * This module does not import @kubernetes/client-node, so jest can load it
 * without transforming that ESM-only package.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Binaries that scripts/setup-controlplane.sh builds. */
export const CONTROL_PLANE_BINARIES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
] as const;

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';

export interface ControlPlaneOptions {
  /** Directory with the binaries. Default: MILDNET_K8S_BIN_DIR, else the setup script's cache directory. */
  binDir?: string;
  /** Time allowed for every component to become healthy. Default 120000 ms. */
  startTimeoutMs?: number;
  /** klog verbosity (--v) of the Kubernetes components. Default 0. */
  verbosity?: number;
  /** Extra command-line flags per component, appended after the defaults. */
  extraArgs?: Partial<Record<ComponentName, string[]>>;
  /** Keep the temporary directory (logs, etcd data, certificates) after stop. Default: MILDNET_KEEP_CLUSTER_DIR is set. */
  keepTempDir?: boolean;
}

export interface ControlPlane {
  /** Kubeconfig of the admin user (group system:masters), with the CA and token inline. */
  kubeconfigPath: string;
  /** kube-apiserver URL, https://127.0.0.1:PORT. */
  server: string;
  /** PEM file of the CA that signed the apiserver's serving certificate. */
  caCertPath: string;
  /** Bearer token of the admin user. */
  adminToken: string;
  /** Temporary directory holding logs, etcd data and certificates. */
  dir: string;
  /** Directory with one log file per component, named COMPONENT.log. */
  logDir: string;
  binDir: string;
  /** Runs kubectl with this control plane's kubeconfig and returns its stdout; rejects with a KubectlError on a non-zero exit. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** Stops every component (SIGTERM, then SIGKILL) and removes the temporary directory. */
  stop(): Promise<void>;
}

const CONTROL_PLANE_MODULE = path.join(__dirname, 'controlplane', 'go.mod');
const SETUP_SCRIPT = 'scripts/setup-controlplane.sh';
const LOOPBACK = '127.0.0.1';
const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const DEFAULT_START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;
const POLL_INTERVAL_MS = 250;
const LOG_TAIL_LINES = 40;
const MAX_START_ATTEMPTS = 3;

/** Returns the Kubernetes release pinned in test/cluster/controlplane/go.mod, e.g. "v1.35.8". */
export function pinnedKubernetesVersion(): string {
  const goMod = readFileSync(CONTROL_PLANE_MODULE, 'utf8');
  const match = /^\s*k8s\.io\/kubernetes\s+(v\S+)/m.exec(goMod);
  if (!match) {
    throw new Error(`${CONTROL_PLANE_MODULE} does not require k8s.io/kubernetes; restore the require line`);
  }
  return match[1];
}

/** Returns the directory that scripts/setup-controlplane.sh builds into, or MILDNET_K8S_BIN_DIR when set. */
export function defaultControlPlaneBinDir(): string {
  if (process.env.MILDNET_K8S_BIN_DIR) {
    return process.env.MILDNET_K8S_BIN_DIR;
  }
  const cacheRoot = process.env.MILDNET_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'mildnet');
  return path.join(cacheRoot, 'k8s', pinnedKubernetesVersion(), 'bin');
}

/** Lists the control-plane binaries that are missing from binDir. */
export function missingControlPlaneBinaries(binDir: string = defaultControlPlaneBinDir()): string[] {
  return CONTROL_PLANE_BINARIES.filter((name) => !existsSync(path.join(binDir, name)));
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler and
 * resolves once all of them are healthy and the default service account
 * exists. Retries on a port collision with another process.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = options.binDir ?? defaultControlPlaneBinDir();
  const missing = missingControlPlaneBinaries(binDir);
  if (missing.length > 0) {
    throw new Error(
      `Control-plane binaries missing from ${binDir}: ${missing.join(', ')}. ` +
        `Run ${SETUP_SCRIPT} to build them (or set MILDNET_K8S_BIN_DIR).`,
    );
  }

  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binDir, options);
    } catch (error) {
      const portTaken = error instanceof ControlPlaneStartError && /address already in use/.test(error.logTail);
      if (!portTaken || attempt >= MAX_START_ATTEMPTS) {
        throw error;
      }
    }
  }
}

class ControlPlaneStartError extends Error {
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(message);
    this.name = 'ControlPlaneStartError';
  }
}

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

interface Files {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
  tokenFile: string;
  kubeconfig: string;
}

async function startOnce(binDir: string, options: ControlPlaneOptions): Promise<ControlPlane> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-cp-'));
  const logDir = path.join(dir, 'logs');
  await fs.mkdir(logDir);

  const keepTempDir = options.keepTempDir ?? Boolean(process.env.MILDNET_KEEP_CLUSTER_DIR);
  const components: Component[] = [];
  const cleanup = registerExitCleanup(components, dir, keepTempDir);
  const stop = async (): Promise<void> => {
    // Dependents first, so that nothing logs errors about a vanished apiserver.
    for (const component of [...components].reverse()) {
      await component.stop();
    }
    cleanup.unregister();
    if (!keepTempDir) {
      await fs.rm(dir, { recursive: true, force: true });
    }
  };

  try {
    const ports = await freeLoopbackPorts(5).then(([etcdClient, etcdPeer, apiserver, controllerManager, scheduler]) => ({
      etcdClient,
      etcdPeer,
      apiserver,
      controllerManager,
      scheduler,
    }));
    const server = `https://${LOOPBACK}:${ports.apiserver}`;
    const adminToken = randomBytes(24).toString('hex');
    const files = await writeCredentials(dir, server, adminToken);
    const deadline = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    const verbosity = String(options.verbosity ?? 0);
    const extra = options.extraArgs ?? {};
    const tls = { ca: await fs.readFile(files.caCert), token: adminToken };

    const etcd = await Component.spawn('etcd', path.join(binDir, 'etcd'), etcdArgs(dir, ports, extra.etcd), logDir);
    components.push(etcd);
    await waitUntil(deadline, components, [etcd], 'etcd /health', async () => {
      const body = await httpGet(`http://${LOOPBACK}:${ports.etcdClient}/health`);
      return body !== undefined && JSON.parse(body).health === 'true';
    });

    const apiserverArgs = kubeApiserverArgs(dir, ports, files, verbosity, extra['kube-apiserver']);
    const apiserver = await Component.spawn('kube-apiserver', path.join(binDir, 'kube-apiserver'), apiserverArgs, logDir);
    components.push(apiserver);
    await waitUntil(deadline, components, [apiserver], 'kube-apiserver /readyz', async () => {
      return (await httpsGet(`${server}/readyz`, tls)) === 'ok';
    });

    const controllerManagerArgs = kubeControllerManagerArgs(dir, ports, files, verbosity, extra['kube-controller-manager']);
    const schedulerArgs = kubeSchedulerArgs(dir, ports, files, verbosity, extra['kube-scheduler']);
    const controllerManager = await Component.spawn(
      'kube-controller-manager',
      path.join(binDir, 'kube-controller-manager'),
      controllerManagerArgs,
      logDir,
    );
    const scheduler = await Component.spawn('kube-scheduler', path.join(binDir, 'kube-scheduler'), schedulerArgs, logDir);
    components.push(controllerManager, scheduler);
    const bothHealthy = [controllerManager, scheduler];
    await waitUntil(deadline, components, bothHealthy, 'kube-controller-manager and kube-scheduler /healthz', async () => {
      const insecure = { ca: undefined, token: undefined };
      const controllerManagerHealth = await httpsGet(`https://${LOOPBACK}:${ports.controllerManager}/healthz`, insecure);
      const schedulerHealth = await httpsGet(`https://${LOOPBACK}:${ports.scheduler}/healthz`, insecure);
      return controllerManagerHealth === 'ok' && schedulerHealth === 'ok';
    });

    // The ServiceAccount admission plugin rejects pods until the service
    // account controller has created the namespace's "default" account.
    await waitUntil(deadline, components, [controllerManager], 'service account default/default', async () => {
      return (await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls)) !== undefined;
    });

    return {
      kubeconfigPath: files.kubeconfig,
      server,
      caCertPath: files.caCert,
      adminToken,
      dir,
      logDir,
      binDir,
      kubectl: (args, input) => runKubectl(path.join(binDir, 'kubectl'), files.kubeconfig, args, input),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function etcdArgs(dir: string, ports: Ports, extra: string[] = []): string[] {
  const clientUrl = `http://${LOOPBACK}:${ports.etcdClient}`;
  const peerUrl = `http://${LOOPBACK}:${ports.etcdPeer}`;
  return [
    '--name=mildnet-test',
    `--data-dir=${path.join(dir, 'etcd')}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=mildnet-test=${peerUrl}`,
    '--initial-cluster-state=new',
    // Test data is thrown away, so skipping fsync trades nothing for speed.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
    ...extra,
  ];
}

function kubeApiserverArgs(dir: string, ports: Ports, files: Files, verbosity: string, extra: string[] = []): string[] {
  return [
    `--etcd-servers=http://${LOOPBACK}:${ports.etcdClient}`,
    `--bind-address=${LOOPBACK}`,
    `--advertise-address=${LOOPBACK}`,
    `--secure-port=${ports.apiserver}`,
    `--cert-dir=${path.join(dir, 'kube-apiserver')}`,
    `--tls-cert-file=${files.servingCert}`,
    `--tls-private-key-file=${files.servingKey}`,
    `--client-ca-file=${files.caCert}`,
    `--token-auth-file=${files.tokenFile}`,
    '--authorization-mode=Node,RBAC',
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${files.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${files.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    // Endpoints may not hold loopback addresses, so the "kubernetes" Service
    // gets no endpoints instead of a reconciler that fails every few seconds.
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    '--profiling=false',
    `--v=${verbosity}`,
    ...extra,
  ];
}

function kubeControllerManagerArgs(dir: string, ports: Ports, files: Files, verbosity: string, extra: string[] = []): string[] {
  return [
    `--kubeconfig=${files.kubeconfig}`,
    '--leader-elect=false',
    `--bind-address=${LOOPBACK}`,
    `--secure-port=${ports.controllerManager}`,
    `--cert-dir=${path.join(dir, 'kube-controller-manager')}`,
    '--controllers=*',
    `--service-account-private-key-file=${files.serviceAccountKey}`,
    `--root-ca-file=${files.caCert}`,
    `--cluster-signing-cert-file=${files.caCert}`,
    `--cluster-signing-key-file=${files.caKey}`,
    '--use-service-account-credentials=false',
    '--profiling=false',
    `--v=${verbosity}`,
    ...extra,
  ];
}

function kubeSchedulerArgs(dir: string, ports: Ports, files: Files, verbosity: string, extra: string[] = []): string[] {
  return [
    `--kubeconfig=${files.kubeconfig}`,
    '--leader-elect=false',
    `--bind-address=${LOOPBACK}`,
    `--secure-port=${ports.scheduler}`,
    `--cert-dir=${path.join(dir, 'kube-scheduler')}`,
    '--profiling=false',
    `--v=${verbosity}`,
    ...extra,
  ];
}

/**
 * Writes a CA, the apiserver's serving certificate (signed by that CA), a
 * service-account signing key pair, a static token file with one admin user
 * and the admin kubeconfig.
 */
async function writeCredentials(dir: string, server: string, adminToken: string): Promise<Files> {
  const pki = path.join(dir, 'pki');
  await fs.mkdir(pki, { mode: 0o700 });
  const files: Files = {
    caCert: path.join(pki, 'ca.crt'),
    caKey: path.join(pki, 'ca.key'),
    servingCert: path.join(pki, 'apiserver.crt'),
    servingKey: path.join(pki, 'apiserver.key'),
    serviceAccountKey: path.join(pki, 'sa.key'),
    serviceAccountPublicKey: path.join(pki, 'sa.pub'),
    tokenFile: path.join(pki, 'tokens.csv'),
    kubeconfig: path.join(dir, 'kubeconfig'),
  };

  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await runOpenssl([
    'req', '-x509', ...ecKey, '-keyout', files.caKey, '-out', files.caCert, '-days', '7',
    '-subj', '/CN=mildnet-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const csr = path.join(pki, 'apiserver.csr');
  await runOpenssl(['req', '-new', ...ecKey, '-keyout', files.servingKey, '-out', csr, '-subj', '/CN=kube-apiserver']);
  const extensions = path.join(pki, 'apiserver.ext');
  await fs.writeFile(
    extensions,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      // 10.0.0.1 is the first address of the service range: the "kubernetes" Service.
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
        'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.0.0.1',
      '',
    ].join('\n'),
  );
  await runOpenssl([
    'x509', '-req', '-in', csr, '-CA', files.caCert, '-CAkey', files.caKey,
    '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', '7',
    '-extfile', extensions, '-out', files.servingCert,
  ]);

  const serviceAccountKeys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  await fs.writeFile(files.serviceAccountKey, serviceAccountKeys.privateKey, { mode: 0o600 });
  await fs.writeFile(files.serviceAccountPublicKey, serviceAccountKeys.publicKey);

  // Static token file: token,user,uid,"group,...". system:masters bypasses RBAC.
  await fs.writeFile(files.tokenFile, `${adminToken},mildnet-admin,mildnet-admin,"system:masters"\n`, { mode: 0o600 });

  const caData = (await fs.readFile(files.caCert)).toString('base64');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'mildnet-test', cluster: { server, 'certificate-authority-data': caData } }],
    users: [{ name: 'mildnet-admin', user: { token: adminToken } }],
    contexts: [{ name: 'mildnet-test', context: { cluster: 'mildnet-test', user: 'mildnet-admin', namespace: 'default' } }],
    'current-context': 'mildnet-test',
  };
  // JSON is valid YAML, so kubectl and client libraries read this file as is.
  await fs.writeFile(files.kubeconfig, JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });
  return files;
}

function runOpenssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, (error, _stdout, stderr) => {
      if (error) {
        reject(new Error(`openssl ${args[0]} failed: ${stderr.trim() || error.message}`, { cause: error }));
      } else {
        resolve();
      }
    });
  });
}

/** A kubectl run that exited non-zero; stdout matters for commands such as `auth can-i` that print "no" and exit 1. */
export class KubectlError extends Error {
  override name = 'KubectlError';

  constructor(
    message: string,
    readonly exitCode: number | undefined,
    readonly stdout: string,
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function runKubectl(kubectlPath: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      kubectlPath,
      [`--kubeconfig=${kubeconfig}`, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const exitCode = typeof error.code === 'number' ? error.code : undefined;
          const detail = stderr.trim() || stdout.trim() || error.message;
          reject(new KubectlError(`kubectl ${args.join(' ')} failed (exit code ${exitCode}): ${detail}`, exitCode, stdout, stderr, { cause: error }));
        } else {
          resolve(stdout);
        }
      },
    );
    child.stdin?.end(input ?? '');
  });
}

/**
 * Shell wrapper that runs one component. It forwards SIGTERM to the
 * component, and kills it when its standard input (a pipe from this Node
 * process) closes, which happens when this process dies, even by SIGKILL.
 */
const SUPERVISOR_SCRIPT = `
exec 3<&0
"$@" </dev/null 3<&- &
component=$!
(cat <&3 >/dev/null 2>&1; kill -KILL "$component" 2>/dev/null) &
watchdog=$!
exec 3<&-
trap 'kill -TERM "$component" 2>/dev/null' TERM INT
while :; do
  wait "$component"
  status=$?
  kill -0 "$component" 2>/dev/null || break
done
kill "$watchdog" 2>/dev/null
exit "$status"
`;

class Component {
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly logPath: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        child.stdin?.destroy();
        resolve();
      });
      child.once('error', () => {
        // spawn failed (the 'exit' event does not follow).
        this.exitCode = -1;
        resolve();
      });
    });
  }

  static async spawn(name: string, binary: string, args: string[], logDir: string): Promise<Component> {
    const logPath = path.join(logDir, `${name}.log`);
    const log = await fs.open(logPath, 'a');
    try {
      await log.write(`$ ${binary} ${args.join(' ')}\n`);
      // detached: the wrapper leads its own process group, so a SIGKILL to
      // the group also reaches the component and the watchdog.
      const child = spawn('/bin/sh', ['-c', SUPERVISOR_SCRIPT, name, binary, ...args], {
        stdio: ['pipe', log.fd, log.fd],
        detached: true,
      });
      // The constructor attaches the exit listener before the log.close() below yields.
      return new Component(name, logPath, child);
    } finally {
      await log.close();
    }
  }

  get hasExited(): boolean {
    return this.exitCode !== undefined;
  }

  describeExit(): string {
    return `${this.name} exited with code ${this.exitCode}`;
  }

  async logTail(): Promise<string> {
    const text = await fs.readFile(this.logPath, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
  }

  async stop(): Promise<void> {
    if (this.hasExited) {
      this.killGroup('SIGKILL');
      return;
    }
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.killGroup('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
    this.killGroup('SIGKILL');
  }

  /** Kills the wrapper's whole process group; used on stop and on process exit. */
  killGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) {
      return;
    }
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }
}

const liveControlPlanes = new Set<{ components: Component[]; dir: string; keepTempDir: boolean }>();
let exitHookInstalled = false;

/** Kills the components and removes the directory if the process exits without calling stop(). */
function registerExitCleanup(components: Component[], dir: string, keepTempDir: boolean): { unregister(): void } {
  const entry = { components, dir, keepTempDir };
  liveControlPlanes.add(entry);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const live of liveControlPlanes) {
        live.components.forEach((component) => component.killGroup('SIGKILL'));
        if (!live.keepTempDir) {
          rmSync(live.dir, { recursive: true, force: true });
        }
      }
    });
  }
  return { unregister: () => liveControlPlanes.delete(entry) };
}

/**
 * Polls check() until it returns true. Fails early, with the log tail, when
 * any component exits. On timeout the error carries the log tails of the
 * suspects: the components that the awaited condition depends on.
 */
async function waitUntil(
  deadline: number,
  components: Component[],
  suspects: Component[],
  description: string,
  check: () => Promise<boolean>,
): Promise<void> {
  for (;;) {
    const dead = components.find((component) => component.hasExited);
    if (dead) {
      const tail = await dead.logTail();
      throw new ControlPlaneStartError(`${dead.describeExit()} while waiting for ${description}. Last lines of its log:\n${tail}`, tail);
    }
    if (await check().catch(() => false)) {
      return;
    }
    if (Date.now() > deadline) {
      const tails = await Promise.all(suspects.map(async (suspect) => `--- ${suspect.name} log:\n${await suspect.logTail()}`));
      throw new ControlPlaneStartError(
        `Timed out waiting for ${description}; raise startTimeoutMs if the machine is busy. Last log lines:\n${tails.join('\n')}`,
        tails.join('\n'),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** Reserves `count` distinct free loopback ports at once, then releases them for the components. */
async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      return new Promise<net.Server>((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, LOOPBACK, () => resolve(server));
      });
    }),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** GETs a URL and returns the body on status 200, undefined on any other status. */
function httpGet(url: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: 2000 }, (response) => collectBody(response, resolve));
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

function httpsGet(url: string, auth: { ca: Buffer | undefined; token: string | undefined }): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      url,
      {
        ca: auth.ca,
        // Without a CA these are the self-signed health endpoints of the
        // controller manager and scheduler, on loopback ports we just chose.
        rejectUnauthorized: auth.ca !== undefined,
        headers: auth.token ? { Authorization: `Bearer ${auth.token}` } : {},
        timeout: 2000,
      },
      (response) => collectBody(response, resolve),
    );
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

function collectBody(response: http.IncomingMessage, resolve: (body: string | undefined) => void): void {
  const chunks: Buffer[] = [];
  response.on('data', (chunk: Buffer) => chunks.push(chunk));
  response.on('end', () => resolve(response.statusCode === 200 ? Buffer.concat(chunks).toString('utf8') : undefined));
}

