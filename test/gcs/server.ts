/**
 * Runs fake-gcs-server, a Cloud Storage emulator with a filesystem backend,
 * for tests. scripts/setup-gcs.sh builds the binary; findGcsServerBinary()
 * finds it. The server listens on 127.0.0.1 only, over plain HTTP, and can
 * be stopped, killed and restarted on the same port and folder for fault
 * tests. Objects survive a restart; resumable upload sessions do not,
 * because the emulator keeps them in memory.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { findFreePort } from '../s3/server';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const SETUP_SCRIPT = path.join(REPO_ROOT, 'scripts', 'setup-gcs.sh');

export interface GcsServerOptions {
  /** Path of the fake-gcs-server binary. Default: findGcsServerBinary(). */
  binary?: string;
  /** Folder of the filesystem backend (one sub-folder per bucket). Default: a new temporary folder. */
  dataDir?: string;
  /** Milliseconds to wait for the server to respond after each start. Default 15000. */
  startTimeoutMs?: number;
}

export interface GcsTestServer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  dataDir: string;
  /** Creates a bucket through the JSON API. */
  createBucket(name: string): Promise<void>;
  /** Environment variables that point the trainer's gs:// stores at this server. */
  env(): Record<string, string>;
  /** The server's log so far: one line per request, written once the request has been answered. */
  log(): Promise<string>;
  /** Resolves once a log line matches pattern; rejects after timeoutMs. */
  waitForLog(pattern: RegExp, timeoutMs: number): Promise<string>;
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
 * Returns the fake-gcs-server binary to test with: $MILDNET_GCS_SERVER_BIN,
 * else the one scripts/setup-gcs.sh caches for its default version;
 * undefined when neither exists.
 */
export function findGcsServerBinary(): string | undefined {
  const fromEnv = process.env.MILDNET_GCS_SERVER_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    return existsSync(fromEnv) ? fromEnv : undefined;
  }
  const cacheRoot = process.env.MILDNET_CACHE_DIR || path.join(os.homedir(), '.cache', 'mildnet');
  const candidate = path.join(cacheRoot, 'gcs', setupScriptVersion(), 'fake-gcs-server');
  return existsSync(candidate) ? candidate : undefined;
}

/** Reads the default version from the setup script, so that the version is pinned in one place. */
function setupScriptVersion(): string {
  const script = readFileSync(SETUP_SCRIPT, 'utf8');
  const match = /FAKE_GCS_SERVER_VERSION="\$\{FAKE_GCS_SERVER_VERSION:-([^}]+)\}"/.exec(script);
  if (!match) {
    throw new Error(
      `${SETUP_SCRIPT} no longer sets FAKE_GCS_SERVER_VERSION="\${FAKE_GCS_SERVER_VERSION:-vX.Y.Z}"; update findGcsServerBinary`,
    );
  }
  return process.env.FAKE_GCS_SERVER_VERSION || match[1];
}

export async function startGcsServer(options: GcsServerOptions = {}): Promise<GcsTestServer> {
  const binary = options.binary ?? findGcsServerBinary();
  if (binary === undefined) {
    throw new Error('The fake-gcs-server binary is missing; run scripts/setup-gcs.sh to build it');
  }
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-gcs-')));
  await fs.mkdir(dataDir, { recursive: true });
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const port = await findFreePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const logPath = path.join(os.tmpdir(), `mildnet-gcs-${port}.log`);

  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const log = await fs.open(logPath, 'a');
    child = spawn(
      binary,
      [
        '-scheme',
        'http',
        '-host',
        '127.0.0.1',
        '-port',
        String(port),
        '-backend',
        'filesystem',
        '-filesystem-root',
        dataDir,
        // Info level logs every request, which waitForLog relies on.
        '-log-level',
        'info',
      ],
      { stdio: ['ignore', log.fd, log.fd] },
    );
    await log.close();
    const started = child;
    const exited = new Promise<never>((_, reject) =>
      started.once('exit', (code, signal) =>
        reject(new Error(`fake-gcs-server exited during start-up (code ${code}, signal ${signal}); see ${logPath}`)),
      ),
    );
    exited.catch(() => undefined);
    await Promise.race([waitUntilHealthy(port, startTimeoutMs, logPath), exited]);
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

  const readLog = (): Promise<string> => fs.readFile(logPath, 'utf8').catch(() => '');

  return {
    endpoint,
    dataDir,
    async createBucket(name: string): Promise<void> {
      const response = await fetch(`${endpoint}/storage/v1/b`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      if (!response.ok) {
        throw new Error(`Creating bucket "${name}" failed with HTTP ${response.status}: ${await response.text()}`);
      }
    },
    env(): Record<string, string> {
      return { STORAGE_EMULATOR_HOST: endpoint };
    },
    log: readLog,
    async waitForLog(pattern: RegExp, timeoutMs: number): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const line = (await readLog()).split('\n').find((entry) => pattern.test(entry));
        if (line !== undefined) {
          return line;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error(`No line of ${logPath} matched ${pattern} within ${timeoutMs} ms`);
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

/** Polls the emulator's health check until it answers 200. */
async function waitUntilHealthy(port: number, timeoutMs: number, logPath: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isHealthy(port)) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`fake-gcs-server did not answer on 127.0.0.1:${port} within ${timeoutMs} ms; see ${logPath}`);
}

function isHealthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/_internal/healthcheck', timeout: 1_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
  });
}
