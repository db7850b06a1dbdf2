/**
 * Finds promtool and helm for the observability tests. A suite whose tool is
 * missing is skipped with a message, unless MILDNET_REQUIRE_TOOLS is set (as
 * scripts/test.sh does), in which case it fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.join(__dirname, '../..');

const REQUIRED = process.env.MILDNET_REQUIRE_TOOLS !== undefined && process.env.MILDNET_REQUIRE_TOOLS !== '';

export interface Tool {
  name: string;
  /** Environment variable that overrides the path. */
  envVar: string;
  /** Script that builds the tool and prints its cached path with --print-path. */
  setupScript: string;
}

export const PROMTOOL: Tool = { name: 'promtool', envVar: 'MILDNET_PROMTOOL', setupScript: 'scripts/setup-promtool.sh' };
export const HELM: Tool = { name: 'helm', envVar: 'MILDNET_HELM', setupScript: 'scripts/setup-helm.sh' };

/** Returns the tool's path from its environment variable or the setup script's cache, whether or not it exists. */
export function toolPath(tool: Tool): string {
  const fromEnv = process.env[tool.envVar];
  if (fromEnv) return fromEnv;
  return execFileSync('bash', [path.join(REPO_ROOT, tool.setupScript), '--print-path'], { encoding: 'utf8' }).trim();
}

/** Declares a suite that gets the tool's path, or skips (fails with MILDNET_REQUIRE_TOOLS) when the tool is missing. */
export function describeWithTool(tool: Tool, name: string, suite: (binary: string) => void): void {
  const binary = toolPath(tool);
  if (existsSync(binary)) {
    describe(name, () => suite(binary));
    return;
  }
  const message = `${tool.name} is missing at ${binary}; build it with ${tool.setupScript} or set ${tool.envVar} to its path`;
  if (REQUIRED) {
    describe(name, () => {
      it(`has ${tool.name}`, () => {
        throw new Error(`${message} (MILDNET_REQUIRE_TOOLS is set, so this fails instead of skipping)`);
      });
    });
    return;
  }
  process.stderr.write(`Skipping "${name}": ${message}, or set MILDNET_REQUIRE_TOOLS=1 to fail instead.\n`);
  describe.skip(name, () => suite(binary));
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool from the repository root and returns its exit status and output. */
export function runTool(binary: string, args: string[], options: { cwd?: string } = {}): RunResult {
  const result = spawnSync(binary, args, { cwd: options.cwd ?? REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
