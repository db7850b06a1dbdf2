#!/usr/bin/env node
'use strict';
// `npm run bench`: training throughput of every model id, the data pipeline,
// then checkpoint save and restore. Each prints a Markdown table for docs/benchmarks.md.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const tsNode = path.join(root, 'node_modules', '.bin', 'ts-node');
for (const [script, args] of [
  ['bench/training.ts', process.argv.slice(2)],
  ['bench/data.ts', ['--steps', '10']],
  ['bench/checkpoint.ts', []],
]) {
  process.stdout.write(`\n## ${script}\n\n`);
  const result = spawnSync(tsNode, ['--transpile-only', '-P', 'tsconfig.json', script, ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
