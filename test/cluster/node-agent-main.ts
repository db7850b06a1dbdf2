/**
 * Runs the node agent as its own process, for callers that cannot load
 * @kubernetes/client-node themselves (jest on Node 20). Started by
 * spawnNodeAgent() in node-agent-process.ts.
 *
 * Usage: node -r ts-node/register/transpile-only node-agent-main.ts OPTIONS_JSON
 *
 * OPTIONS_JSON is a NodeAgentOptions object without `logger`, with `images`
 * as a table. Once the Node is registered, one JSON line
 * {"nodeName": ..., "workDir": ...} goes to stdout. The agent stops on SIGTERM,
 * SIGINT, or when stdin closes (the parent process died).
 */
import { startNodeAgent, type NodeAgentOptions } from './node-agent';

async function main(): Promise<void> {
  const json = process.argv[2];
  if (!json) {
    throw new Error('missing argument: pass the node agent options as one JSON argument');
  }
  const options = JSON.parse(json) as NodeAgentOptions;
  const agent = await startNodeAgent(options);
  process.stdout.write(`${JSON.stringify({ nodeName: agent.nodeName, workDir: agent.workDir })}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    agent.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`node agent stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}

main().catch((error: unknown) => {
  process.stderr.write(`node agent failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
