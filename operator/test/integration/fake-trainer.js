#!/usr/bin/env node
/**
 * Test double of the trainer for operator integration tests: it follows the
 * trainer's command-line, exit-code and /progress contract without training
 * anything, so the tests run in seconds. The behaviour comes from the mounted
 * config's `description`, for example "fake-trainer seconds=3 exit=0":
 *   seconds  how long to run before exiting (default 2)
 *   exit     exit code at the end (default 0)
 *   epochs   epochs to report over the run (default 3)
 * On SIGTERM it exits 75, as the trainer does after writing a checkpoint.
 */
const fs = require('node:fs');
const http = require('node:http');
const { parse } = require('yaml');

function flag(name) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

if (process.argv[2] !== 'train') {
  process.stderr.write(`fake-trainer: expected the train command, got ${JSON.stringify(process.argv.slice(2))}\n`);
  process.exit(2);
}
for (const required of ['config', 'data', 'job-dir', 'metrics-port', 'metrics-host']) {
  if (!flag(required)) {
    process.stderr.write(`fake-trainer: --${required} is missing\n`);
    process.exit(2);
  }
}

const config = parse(fs.readFileSync(flag('config'), 'utf8'));
const settings = Object.fromEntries(
  String(config.description ?? '')
    .split(/\s+/)
    .filter((part) => part.includes('='))
    .map((part) => part.split('=')),
);
const seconds = Number(settings.seconds ?? 2);
const exitCode = Number(settings.exit ?? 0);
const epochs = Number(settings.epochs ?? 3);
const started = Date.now();

function progress() {
  const fraction = Math.min(1, (Date.now() - started) / (seconds * 1000));
  const epoch = Math.max(1, Math.ceil(fraction * epochs));
  return {
    epoch,
    totalEpochs: epochs,
    step: Math.round(fraction * epochs * 100),
    totalSteps: epochs * 100,
    trainLoss: 1 - fraction / 2,
    valLoss: null,
    valAccuracy: Math.round(fraction * 90) / 100,
    lastCheckpoint: epoch > 1 ? { epoch: epoch - 1, step: (epoch - 1) * 100, time: new Date().toISOString() } : null,
    phase: fraction >= 1 ? 'finished' : 'training',
    updatedTime: new Date().toISOString(),
  };
}

const server = http.createServer((req, res) => {
  if (req.url === '/progress') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(progress()));
  } else {
    res.writeHead(404).end();
  }
});
server.on('error', (err) => process.stderr.write(`fake-trainer: cannot serve /progress: ${err.message}\n`));
server.listen(Number(flag('metrics-port')), flag('metrics-host'));

process.on('SIGTERM', () => process.exit(75));
setTimeout(() => process.exit(exitCode), seconds * 1000);
process.stdout.write(`fake-trainer: running for ${seconds} s, then exit ${exitCode}; data ${flag('data')}, job dir ${flag('job-dir')}\n`);
