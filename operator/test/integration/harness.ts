/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are untyped JSON in these tests */
/**
 * Shared set-up of the operator integration tests: a local control plane, a
 * node agent that runs trainer pods as local processes, the generated CRD,
 * and operator processes started from the TypeScript sources.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs, existsSync, readFileSync, createWriteStream } from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { startControlPlane, type ControlPlane } from '../../../test/cluster/controlplane';
import { waitFor } from '../../../test/cluster/describe-cluster';
import { spawnNodeAgent } from '../../../test/cluster/node-agent-process';
import type { NodeAgent } from '../../../test/cluster/node-agent';

export { waitFor };

export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const CRD_PATH = path.join(REPO_ROOT, 'crds/mildnet.io_mildnetjobs.yaml');
export const FAKE_TRAINER_IMAGE = 'mildnet-fake-trainer:test';
export const MJ_PATH = (namespace: string, name = '') => `/apis/mildnet.io/v1alpha1/namespaces/${namespace}/mildnetjobs${name ? `/${name}` : ''}`;

/** Result of a raw API request. */
export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

/** A small JSON client for the test's own API calls, authenticated as the control plane's admin. */
export class Api {
  private readonly ca: Buffer;

  constructor(private readonly cluster: ControlPlane) {
    this.ca = readFileSync(cluster.caCertPath);
  }

  request<T = any>(method: string, urlPath: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse<T>> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const request = https.request(
        `${this.cluster.server}${urlPath}`,
        {
          method,
          ca: this.ca,
          headers: {
            Authorization: `Bearer ${this.cluster.adminToken}`,
            Accept: 'application/json',
            ...(payload ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON; keep the text
            }
            resolve({ status: response.statusCode ?? 0, body: parsed as T });
          });
        },
      );
      request.on('error', reject);
      if (payload) request.write(payload);
      request.end();
    });
  }

  async get<T = any>(urlPath: string): Promise<T | undefined> {
    const response = await this.request<T>('GET', urlPath);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new Error(`GET ${urlPath} returned ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  async create<T = any>(urlPath: string, body: unknown): Promise<T> {
    const response = await this.request<T>('POST', urlPath, body);
    if (response.status !== 201) throw new Error(`POST ${urlPath} returned ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  async mergePatch<T = any>(urlPath: string, body: unknown): Promise<T> {
    const response = await this.request<T>('PATCH', urlPath, body, 'application/merge-patch+json');
    if (response.status !== 200) throw new Error(`PATCH ${urlPath} returned ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  async delete(urlPath: string, body?: unknown): Promise<number> {
    return (await this.request('DELETE', urlPath, body)).status;
  }
}

/** Returns the helm binary from MILDNET_HELM, PATH or ~/go/bin, or undefined when there is none. */
export function findHelm(): string | undefined {
  const candidates = [process.env.MILDNET_HELM, ...(process.env.PATH ?? '').split(':').map((dir) => path.join(dir, 'helm')), path.join(os.homedir(), 'go/bin/helm')];
  return candidates.find((file): file is string => !!file && existsSync(file));
}

/** Writes a kubeconfig that authenticates with a bearer token, such as a ServiceAccount's. */
export async function writeTokenKubeconfig(cluster: TestCluster, token: string, file: string): Promise<void> {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: cluster.controlPlane.server, 'certificate-authority': cluster.controlPlane.caCertPath } }],
    users: [{ name: 'sa', user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'local', user: 'sa' } }],
    'current-context': 'sa',
  };
  await fs.writeFile(file, JSON.stringify(config));
}

/** Returns a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface TestCluster {
  controlPlane: ControlPlane;
  agent: NodeAgent;
  api: Api;
  dir: string;
  /** Creates a namespace and returns its name. */
  namespace(prefix: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts the control plane and a node agent whose `mildnet` command is the
 * fake trainer, then installs the generated CRD.
 */
export async function startTestCluster(): Promise<TestCluster> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-operator-it-'));
  // The Job runs `mildnet` from PATH, as in the trainer image; here that is the fake trainer.
  const binDir = path.join(dir, 'bin');
  await fs.mkdir(binDir);
  await fs.writeFile(path.join(binDir, 'mildnet'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(__dirname, 'fake-trainer.js')}" "$@"\n`, { mode: 0o755 });

  const controlPlane = await startControlPlane();
  let agent: NodeAgent | undefined;
  try {
    agent = await spawnNodeAgent({
      kubeconfigPath: controlPlane.kubeconfigPath,
      // Jest gives each test file a copy of process.env, so PATH goes to the containers through the image's env.
      images: { [FAKE_TRAINER_IMAGE]: { entrypoint: ['mildnet'], env: { PATH: `${binDir}:${process.env.PATH}` }, workingDir: REPO_ROOT } },
      gpus: 8,
      timing: { retryMs: 200 },
    });
    await controlPlane.kubectl(['apply', '--server-side', '-f', CRD_PATH]);
    await controlPlane.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/mildnetjobs.mildnet.io']);
  } catch (err) {
    await agent?.stop();
    await controlPlane.stop();
    throw err;
  }

  const api = new Api(controlPlane);
  let counter = 0;
  return {
    controlPlane,
    agent,
    api,
    dir,
    namespace: async (prefix) => {
      const name = `${prefix}-${++counter}`;
      await api.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      return name;
    },
    stop: async () => {
      await agent?.stop();
      await controlPlane.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

export interface OperatorProcess {
  child: ChildProcess;
  httpPort: number;
  logPath: string;
  /** Text of mildnet_operator_* metrics. */
  metrics(): Promise<string>;
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number | null>;
  /** Sends SIGKILL, as a crash would. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/** Starts the operator from its TypeScript sources with ts-node, logging to a file in the cluster's directory. */
export async function startOperator(cluster: TestCluster, flags: string[], name = 'operator', logLevel = 'debug'): Promise<OperatorProcess> {
  const httpPort = await freePort();
  const logPath = path.join(cluster.dir, `${name}-${httpPort}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(
    process.execPath,
    [
      // Extra Node.js flags for the operator, such as --cpu-prof when profiling a benchmark.
      ...(process.env.MILDNET_OPERATOR_NODE_ARGS ?? '').split(' ').filter(Boolean),
      '-r',
      require.resolve('ts-node/register/transpile-only'),
      path.join(REPO_ROOT, 'operator/src/main.ts'),
      '--kubeconfig',
      cluster.controlPlane.kubeconfigPath,
      '--http-host',
      '127.0.0.1',
      '--http-port',
      String(httpPort),
      '--trainer-image',
      FAKE_TRAINER_IMAGE,
      ...flags,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MILDNET_LOG_LEVEL: logLevel } },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const metrics = async () => {
    const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
    return response.text();
  };
  await waitFor(
    `operator ${name} to serve /healthz (log: ${logPath})`,
    async () => {
      if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}; log:\n${await fs.readFile(logPath, 'utf8')}`);
      try {
        return (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok || undefined;
      } catch {
        return undefined;
      }
    },
    60_000,
    200,
  );

  return {
    child,
    httpPort,
    logPath,
    metrics,
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Reads one sample value from Prometheus text, such as `mildnet_operator_api_requests_total{verb="create",resource="jobs"}`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const matches = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (matches) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Builds a MildnetJob manifest for the fake trainer, with `behaviour` in spec.config.description. */
export function mildnetJob(namespace: string, name: string, behaviour: string, spec: Record<string, unknown> = {}): Record<string, any> {
  return {
    apiVersion: 'mildnet.io/v1alpha1',
    kind: 'MildnetJob',
    metadata: { name, namespace },
    spec: {
      preset: 'mildnet',
      config: { description: `fake-trainer ${behaviour}` },
      data: { uri: 'file:///data/tops' },
      output: { uri: `file:///runs/${name}` },
      resources: { gpus: 1 },
      ...spec,
    },
  };
}

/** Returns the named condition of a MildnetJob, or undefined. */
export function conditionOf(mj: any, type: string): { status: string; reason: string; message: string; lastTransitionTime: string } | undefined {
  return mj?.status?.conditions?.find((c: { type: string }) => c.type === type);
}
