/**
 * Runs fake-gcs-server, a Cloud Storage emulator with a filesystem backend,
 * for tests. scripts/setup-gcs.sh builds the binary, and
 * findGcsServerBinary() finds it. The server listens on 127.0.0.1 only, over
 * plain HTTP, and can be stopped, killed and restarted on the same port and
 * folder for fault tests. Objects survive a restart, but resumable upload
 * sessions do not, because the emulator keeps them in memory.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { findCachedBinary, startServerProcess } from '../support/server-process';

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
  /** Returns the server's log so far, with one line per request written once the server has responded. */
  log(): Promise<string>;
  /** Resolves with the first log line that matches pattern, or rejects after timeoutMs. */
  waitForLog(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Stops the server with SIGTERM (SIGKILL after 5 s) and keeps the data folder. */
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
 * else the one scripts/setup-gcs.sh caches for its default version.
 * Returns undefined when neither exists.
 */
export function findGcsServerBinary(): string | undefined {
  return findCachedBinary({
    binaryVariable: 'MILDNET_GCS_SERVER_BIN',
    setupScript: 'setup-gcs.sh',
    versionVariable: 'FAKE_GCS_SERVER_VERSION',
    cacheFolder: 'gcs',
    binaryName: 'fake-gcs-server',
  });
}

/** Starts fake-gcs-server on a free port and waits until its health check returns 200. */
export async function startGcsServer(options: GcsServerOptions = {}): Promise<GcsTestServer> {
  const binary = options.binary ?? findGcsServerBinary();
  if (binary === undefined) {
    throw new Error('The fake-gcs-server binary is missing; run scripts/setup-gcs.sh to build it');
  }
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-gcs-')));
  await fs.mkdir(dataDir, { recursive: true });
  const server = await startServerProcess({
    name: 'fake-gcs-server',
    binary,
    args: (port) => [
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
    readyPath: '/_internal/healthcheck',
    readyStatus: 200,
    startTimeoutMs: options.startTimeoutMs ?? 15_000,
  });
  const endpoint = server.endpoint;

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
    log: () => server.readLog(),
    async waitForLog(pattern: RegExp, timeoutMs: number): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const line = (await server.readLog()).split('\n').find((entry) => pattern.test(entry));
        if (line !== undefined) {
          return line;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error(`No line of ${server.logPath} matched ${pattern} within ${timeoutMs} ms`);
    },
    stop: () => server.stop(),
    kill: () => server.kill(),
    restart: () => server.restart(),
    async dispose(): Promise<void> {
      await server.dispose();
      if (ownsDataDir) {
        await fs.rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}
