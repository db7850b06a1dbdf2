/**
 * Jest helpers for suites that need the local control plane.
 */
import { defaultControlPlaneBinDir, missingControlPlaneBinaries, type ControlPlane } from './controlplane';

/**
 * Declares a describe block that runs only when the control-plane binaries
 * are built. Without them it is skipped with a message, unless
 * MILDNET_REQUIRE_CLUSTER is set (as in CI): then it runs, and
 * startControlPlane() fails with the missing binaries.
 */
export function describeWithControlPlane(name: string, body: () => void): void {
  const binDir = defaultControlPlaneBinDir();
  const missing = missingControlPlaneBinaries(binDir);
  if (missing.length > 0 && !process.env.MILDNET_REQUIRE_CLUSTER) {
    const reason = `control-plane binaries missing from ${binDir} (${missing.join(', ')}); run scripts/setup-controlplane.sh`;
    // Straight to stderr: jest drops console output of a file whose tests are all skipped when it runs several files.
    process.stderr.write(`Skipping "${name}": ${reason}. Set MILDNET_REQUIRE_CLUSTER=1 to fail instead.\n`);
    describe.skip(`${name} [skipped: ${reason}]`, body);
    return;
  }
  describe(name, body);
}

/** Runs `kubectl get` and parses its JSON output. */
export async function getJson<T = Record<string, unknown>>(cluster: ControlPlane, args: string[]): Promise<T> {
  return JSON.parse(await cluster.kubectl(['get', ...args, '-o', 'json'])) as T;
}

/** Polls check() every intervalMs until it returns a value other than undefined; rejects after timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
