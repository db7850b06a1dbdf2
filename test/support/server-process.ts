/**
 * Process handling shared by the test harnesses of the local storage servers
 * (versitygw for s3://, fake-gcs-server for gs://). Each server runs as a
 * child process on a free port of 127.0.0.1 with its output in a log file,
 * and can be stopped, killed and started again on the same port.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { freePort, REPO_ROOT } from './cli';

/** Location of a server binary that a script under scripts/ builds into the cache. */
export interface CachedBinarySpec {
  /** Variable that names the binary directly, such as MILDNET_S3_SERVER_BIN. */
  binaryVariable: string;
  /** Setup script under scripts/, such as setup-s3.sh. */
  setupScript: string;
  /** Shell variable that the script defaults with "${NAME:-vX.Y.Z}", also read from the environment. */
  versionVariable: string;
  /** Folder under the cache root, such as "s3". */
  cacheFolder: string;
  /** File name of the binary. */
  binaryName: string;
}

/**
 * Returns the binary to test with: the path in spec.binaryVariable, else the
 * one that the setup script caches for its default version. Returns
 * undefined when neither exists.
 */
export function findCachedBinary(spec: CachedBinarySpec): string | undefined {
  const fromEnv = process.env[spec.binaryVariable];
  if (fromEnv !== undefined && fromEnv !== '') {
    return existsSync(fromEnv) ? fromEnv : undefined;
  }
  const cacheRoot = process.env.MILDNET_CACHE_DIR || path.join(os.homedir(), '.cache', 'mildnet');
  const candidate = path.join(cacheRoot, spec.cacheFolder, setupScriptVersion(spec), spec.binaryName);
  return existsSync(candidate) ? candidate : undefined;
}

/** Reads the default version from the setup script, so that the version is pinned in one place. */
function setupScriptVersion(spec: CachedBinarySpec): string {
  const script = path.join(REPO_ROOT, 'scripts', spec.setupScript);
  const variable = spec.versionVariable;
  const match = new RegExp(`${variable}="\\$\\{${variable}:-([^}]+)\\}"`).exec(readFileSync(script, 'utf8'));
  if (!match) {
    throw new Error(`${script} no longer sets ${variable}="\${${variable}:-vX.Y.Z}"; update findCachedBinary`);
  }
  return process.env[spec.versionVariable] || match[1];
}

export interface ServerProcessOptions {
  /** Server name in messages and in the log file name, such as "versitygw". */
  name: string;
  binary: string;
  /** Command-line arguments for the port that the server gets. */
  args: (port: number) => string[];
  /** Variables added to this process's environment for the server. */
  env?: Record<string, string>;
  /** Path that is polled after each start until the server responds. */
  readyPath: string;
  /** Status that readyPath must return. Undefined accepts any response. */
  readyStatus?: number;
  /** Milliseconds to wait for the server to respond after each start. */
  startTimeoutMs: number;
}

export interface ServerProcess {
  port: number;
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** Log file that collects the server's stdout and stderr across restarts. */
  logPath: string;
  /** Returns the log so far, or an empty string before the first line. */
  readLog(): Promise<string>;
  /** Stops the server with SIGTERM, and with SIGKILL if it is still running after 5 s. */
  stop(): Promise<void>;
  /** Ends the server with SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Stops the server and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops the server and deletes the log file. */
  dispose(): Promise<void>;
}

/** Starts the server on a free port and waits until readyPath responds. */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const port = await freePort();
  const logPath = path.join(os.tmpdir(), `mildnet-${options.name}-${port}.log`);
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const log = await fs.open(logPath, 'a');
    child = spawn(options.binary, options.args(port), {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', log.fd, log.fd],
    });
    await log.close();
    const started = child;
    const exited = new Promise<never>((_, reject) =>
      started.once('exit', (code, signal) =>
        reject(new Error(`${options.name} exited during start-up (code ${code}, signal ${signal}); see ${logPath}`)),
      ),
    );
    exited.catch(() => undefined);
    await Promise.race([waitUntilReady(port, options, logPath), exited]);
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
    port,
    endpoint: `http://127.0.0.1:${port}`,
    logPath,
    readLog: () => fs.readFile(logPath, 'utf8').catch(() => ''),
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    async restart(): Promise<void> {
      await end('SIGTERM');
      await start();
    },
    async dispose(): Promise<void> {
      await end('SIGTERM');
      process.removeListener('exit', killOnExit);
      await fs.rm(logPath, { force: true });
    },
  };
}

/** Polls readyPath every 50 ms until it returns readyStatus, or any response when that is undefined. */
async function waitUntilReady(port: number, options: ServerProcessOptions, logPath: string): Promise<void> {
  const deadline = Date.now() + options.startTimeoutMs;
  while (Date.now() < deadline) {
    const status = await probeStatus(port, options.readyPath);
    if (status !== undefined && (options.readyStatus === undefined || status === options.readyStatus)) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${options.name} did not respond on 127.0.0.1:${port} within ${options.startTimeoutMs} ms; see ${logPath}`);
}

/** Returns the HTTP status of a GET to the path, or undefined when no response arrives within 1 s. */
function probeStatus(port: number, requestPath: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: requestPath, timeout: 1_000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(undefined));
  });
}
