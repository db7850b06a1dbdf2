/**
 * Runs the trainer CLI (`trainer/bin/mildnet.js`) as a child process for
 * tests, collecting its output, with helpers to wait for a condition and to
 * find a free local port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const MILDNET_CLI = path.join(REPO_ROOT, 'trainer', 'bin', 'mildnet.js');
/** One of the files of Debian's dataset-fashion-mnist package; the suites that train skip without it. */
export const FASHION_MNIST_IMAGES = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';

export interface CliRun {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output: () => string;
  /** Resolves with the exit code once the process has exited and its output is fully read. */
  exit: Promise<number | null>;
}

/** Starts `mildnet ARGS` in the repository root with env added to this process's environment and CI=1. */
export function startCli(args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, [MILDNET_CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env, CI: '1' } });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/** Polls condition every 100 ms until it holds, or throws naming what was awaited after timeoutMs. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}
