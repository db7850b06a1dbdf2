/**
 * Starts the node agent in a child Node process. Jest on Node 20 cannot load
 * @kubernetes/client-node (an ES module) without a transform, so jest tests
 * use this instead of calling startNodeAgent() in-process.
 */
import { spawn } from 'node:child_process';
import { promises as fs, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { LocalImage, NodeAgent, NodeAgentOptions } from './node-agent';
import { findContainerLog } from './pod-runner';

/** NodeAgentOptions that survive JSON: `images` is a table, and the agent logs to node-agent.log in workDir. */
export type NodeAgentProcessOptions = Omit<NodeAgentOptions, 'logger' | 'images'> & {
  images: Record<string, LocalImage>;
  /** Time allowed for the child to compile, start and register the Node. Default 120000 ms. */
  startTimeoutMs?: number;
};

const MAIN = path.join(__dirname, 'node-agent-main.ts');
const STOP_TIMEOUT_MS = 15_000;

/** Starts the node agent in a child process and resolves once its Node is registered. */
export async function spawnNodeAgent(options: NodeAgentProcessOptions): Promise<NodeAgent> {
  const { startTimeoutMs = 120_000, ...agentOptions } = options;
  const ownsWorkDir = agentOptions.workDir === undefined;
  const workDir = agentOptions.workDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), `mildnet-node-${agentOptions.nodeName ?? 'agent'}-`)));
  const keepWorkDir = agentOptions.keepWorkDir ?? Boolean(process.env.MILDNET_KEEP_CLUSTER_DIR);
  const stderrPath = path.join(workDir, 'node-agent.stderr.log');
  const stderr = await fs.open(stderrPath, 'a');

  const child = spawn(
    process.execPath,
    ['-r', require.resolve('ts-node/register/transpile-only'), MAIN, JSON.stringify({ ...agentOptions, workDir })],
    { stdio: ['pipe', 'pipe', stderr.fd] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await stderr.close();
  const removeWorkDir = (): void => {
    if (ownsWorkDir && !keepWorkDir) rmSync(workDir, { recursive: true, force: true });
  };

  const ready = await new Promise<{ nodeName: string }>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node agent did not register its Node within ${startTimeoutMs} ms; raise startTimeoutMs or see ${stderrPath}`));
    }, startTimeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as { nodeName: string });
    });
    exited.then(async (code) => {
      clearTimeout(timer);
      const tail = (await fs.readFile(stderrPath, 'utf8').catch(() => '')).trim().split('\n').slice(-20).join('\n');
      reject(new Error(`node agent exited with code ${code} before registering its Node:\n${tail}`));
    });
  }).catch((error: unknown) => {
    removeWorkDir();
    throw error;
  });

  return {
    nodeName: ready.nodeName,
    workDir,
    containerLogPath: (namespace, podName, container) => findContainerLog(path.join(workDir, 'pods'), namespace, podName, container),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      removeWorkDir();
    },
  };
}
