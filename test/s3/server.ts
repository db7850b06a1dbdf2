/**
 * Runs versitygw, an S3-compatible gateway over a local folder, for tests.
 * scripts/setup-s3.sh builds the binary; findS3ServerBinary() finds it.
 * The server listens on 127.0.0.1 only and can be stopped, killed and
 * restarted on the same port and folder, for fault tests.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const SETUP_SCRIPT = path.join(REPO_ROOT, 'scripts', 'setup-s3.sh');

export interface S3ServerOptions {
  /** Path of the versitygw binary. Default: findS3ServerBinary(). */
  binary?: string;
  /** Folder the gateway serves (one sub-folder per bucket). Default: a new temporary folder. */
  dataDir?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  /** Milliseconds to wait for the server to respond after each start. Default 15000. */
  startTimeoutMs?: number;
}

export interface S3TestServer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  dataDir: string;
  /** Creates a bucket with the root credentials. */
  createBucket(name: string): Promise<void>;
  /** Environment variables that point the trainer's s3:// stores at this server. */
  env(): Record<string, string>;
  /** Stops the server with SIGTERM (SIGKILL after 5 s); the data folder is kept. */
  stop(): Promise<void>;
  /** Ends the server with SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and folder and waits until it responds. */
  restart(): Promise<void>;
  /** Stops the server and deletes the data folder when the harness created it. */
  dispose(): Promise<void>;
}

/**
 * Returns the versitygw binary to test with: $MILDNET_S3_SERVER_BIN, else the
 * one scripts/setup-s3.sh caches for its default version; undefined when
 * neither exists.
 */
export function findS3ServerBinary(): string | undefined {
  const fromEnv = process.env.MILDNET_S3_SERVER_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    return existsSync(fromEnv) ? fromEnv : undefined;
  }
  const cacheRoot = process.env.MILDNET_CACHE_DIR || path.join(os.homedir(), '.cache', 'mildnet');
  const candidate = path.join(cacheRoot, 's3', setupScriptVersion(), 'versitygw');
  return existsSync(candidate) ? candidate : undefined;
}

/** Reads the default version from the setup script, so that the version is pinned in one place. */
function setupScriptVersion(): string {
  const script = readFileSync(SETUP_SCRIPT, 'utf8');
  const match = /VERSITYGW_VERSION="\$\{VERSITYGW_VERSION:-([^}]+)\}"/.exec(script);
  if (!match) {
    throw new Error(`${SETUP_SCRIPT} no longer sets VERSITYGW_VERSION="\${VERSITYGW_VERSION:-vX.Y.Z}"; update findS3ServerBinary`);
  }
  return process.env.VERSITYGW_VERSION || match[1];
}

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3TestServer> {
  const binary = options.binary ?? findS3ServerBinary();
  if (binary === undefined) {
    throw new Error('The versitygw binary is missing; run scripts/setup-s3.sh to build it');
  }
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-s3-')));
  await fs.mkdir(dataDir, { recursive: true });
  const accessKeyId = options.accessKeyId ?? `test-${randomBytes(4).toString('hex')}`;
  const secretAccessKey = options.secretAccessKey ?? randomBytes(18).toString('base64url');
  const region = options.region ?? 'us-east-1';
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const port = await findFreePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const logPath = path.join(os.tmpdir(), `mildnet-s3-${port}.log`);

  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const log = await fs.open(logPath, 'a');
    child = spawn(
      binary,
      ['--port', `127.0.0.1:${port}`, '--region', region, '--quiet', 'posix', dataDir],
      {
        // Credentials go through the environment so that they do not show in `ps`.
        env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
        stdio: ['ignore', log.fd, log.fd],
      },
    );
    await log.close();
    const started = child;
    const exited = new Promise<never>((_, reject) =>
      started.once('exit', (code, signal) =>
        reject(new Error(`versitygw exited during start-up (code ${code}, signal ${signal}); see ${logPath}`)),
      ),
    );
    exited.catch(() => undefined);
    await Promise.race([waitUntilAnswering(port, startTimeoutMs, logPath), exited]);
  };

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    const forced = setTimeout(() => running.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(forced);
  };

  await start();
  const killOnExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    region,
    dataDir,
    async createBucket(name: string): Promise<void> {
      const client = new S3Client({
        endpoint,
        region,
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
      });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
    },
    env(): Record<string, string> {
      return {
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        AWS_S3_FORCE_PATH_STYLE: 'true',
      };
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    async restart(): Promise<void> {
      await end('SIGTERM');
      await start();
    },
    async dispose(): Promise<void> {
      await end('SIGTERM');
      process.removeListener('exit', killOnExit);
      if (ownsDataDir) {
        await fs.rm(dataDir, { recursive: true, force: true });
      }
      await fs.rm(logPath, { force: true });
    },
  };
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls until an HTTP request to the port gets any response. */
async function waitUntilAnswering(port: number, timeoutMs: number, logPath: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await answers(port)) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`versitygw did not answer on 127.0.0.1:${port} within ${timeoutMs} ms; see ${logPath}`);
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', timeout: 1_000 }, (response) => {
      response.resume();
      resolve(true);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
  });
}
