import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { prepareFashionMnist } from '../../trainer/src/data';
import { FASHION_MNIST_IMAGES, freePort, startCli as start, waitFor } from '../support/cli';

const describeWithData = fs.existsSync(FASHION_MNIST_IMAGES) ? describe : describe.skip;

jest.setTimeout(240_000);

function checkpointSteps(jobDir: string): number[] {
  const dir = path.join(jobDir, 'checkpoints');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => fs.existsSync(path.join(dir, name, 'manifest.json')))
    .map((name) => Number(name.replace('step-', '')));
}

describe('mildnet train', () => {
  test('exits 2 on an invalid config', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mildnet-cli-'));
    const config = path.join(dir, 'bad.yaml');
    fs.writeFileSync(config, 'model_id: mildnet_vgg61\nloss: hinge_loss\n');
    const run = start(['train', '--config', config, '--data', dir, '--job-dir', path.join(dir, 'job')]);
    expect(await run.exit).toBe(2);
    expect(run.output()).toMatch(/model_id: got "mildnet_vgg61"/);
    expect(run.output()).toMatch(/optimizer: is required but missing/);
    expect(fs.existsSync(path.join(dir, 'job'))).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('exits 2 on a missing .cnf file', async () => {
    const run = start(['config', 'import', 'no-such-experiment.cnf']);
    expect(await run.exit).toBe(2);
    expect(run.output()).toMatch(/The config file no-such-experiment.cnf was not found; pass the path of an original .cnf file/);
    expect(run.output()).not.toMatch(/\n\s+at /);
  });

  test('exits 2 on an unknown option', async () => {
    const run = start(['train', '--confg', 'x.yaml']);
    expect(await run.exit).toBe(2);
    expect(run.output()).toMatch(/--confg/);
  });
});

describeWithData('mildnet train on Fashion-MNIST', () => {
  let root: string;
  let data: string;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mildnet-cli-'));
    data = path.join(root, 'data');
    await prepareFashionMnist({ out: data, seed: 5, trainTriplets: 240, valTriplets: 48, testTriplets: 16, valImages: 1000 });
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const trainArgs = (jobDir: string, extra: string[] = []): string[] => [
    'train',
    '--config',
    'job_configs/quickstart/fashion_mnist.yaml',
    '--data',
    data,
    '--job-dir',
    jobDir,
    '--set',
    'batch_size=8',
    '--set',
    'epochs=2',
    '--set',
    'checkpoint.every_steps=4',
    ...extra,
  ];

  test('resumes after SIGKILL', async () => {
    const jobDir = path.join(root, 'kill');
    const first = start(trainArgs(jobDir));
    await waitFor(() => checkpointSteps(jobDir).length > 0, 120_000, 'the first checkpoint');
    first.child.kill('SIGKILL');
    await first.exit;
    const saved = Math.max(...checkpointSteps(jobDir));

    const second = start(trainArgs(jobDir));
    expect(await second.exit).toBe(0);
    const resumed = /"resumedFromStep":(\d+)/.exec(second.output());
    expect(resumed).not.toBeNull();
    expect(Number(resumed?.[1])).toBeGreaterThanOrEqual(saved);
    expect(second.output()).toMatch(/Training finished: .*validation triplet accuracy/);
    expect(fs.existsSync(path.join(jobDir, 'final', 'model.json'))).toBe(true);
  });

  test('writes a checkpoint and exits 75 on SIGTERM', async () => {
    const jobDir = path.join(root, 'term');
    const run = start(trainArgs(jobDir, ['--set', 'checkpoint.every_steps=1000']));
    await waitFor(() => /"msg":"training step"/.test(run.output()) || /"step":[1-9]/.test(run.output()), 120_000, 'a training step');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(75);
    expect(run.output()).toMatch(/training interrupted; run the same command to resume/);
    expect(checkpointSteps(jobDir).length).toBe(1);
  });

  test('serves metrics and progress while training', async () => {
    const jobDir = path.join(root, 'metrics');
    const port = await freePort();
    const run = start(trainArgs(jobDir, ['--metrics-port', String(port), '--metrics-host', '127.0.0.1']));
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (text: string, name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);

    await waitFor(() => /metrics server listening/.test(run.output()), 60_000, 'the metrics server');
    let first = await scrape();
    for (const deadline = Date.now() + 120_000; !(value(first, 'mildnet_trainer_step') > 0); first = await scrape()) {
      if (Date.now() > deadline) throw new Error('Timed out waiting for the first training step');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let second = await scrape();
    const advanced = (text: string): boolean =>
      value(text, 'mildnet_trainer_step') > value(first, 'mildnet_trainer_step') && value(text, 'mildnet_trainer_checkpoints_total') >= 1;
    for (const deadline = Date.now() + 120_000; !advanced(second); second = await scrape()) {
      if (Date.now() > deadline) throw new Error('Timed out waiting for more steps and a checkpoint');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect(value(second, 'mildnet_trainer_step')).toBeGreaterThan(value(first, 'mildnet_trainer_step'));
    expect(value(second, 'mildnet_trainer_steps_total')).toBeGreaterThan(0);
    expect(value(second, 'mildnet_trainer_images_total')).toBeGreaterThan(0);
    expect(value(second, 'mildnet_trainer_epochs')).toBe(2);
    expect(value(second, 'mildnet_trainer_checkpoints_total')).toBeGreaterThanOrEqual(1);
    expect(value(second, 'mildnet_trainer_last_checkpoint_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(value(second, 'mildnet_trainer_tensors')).toBeGreaterThan(0);
    expect(second).toMatch(/mildnet_trainer_backend_info\{backend="wasm"\} 1/);
    expect(second).toMatch(/mildnet_trainer_step_duration_seconds_count [1-9]/);

    const progress = (await (await fetch(`http://127.0.0.1:${port}/progress`)).json()) as Record<string, unknown>;
    expect(progress.totalEpochs).toBe(2);
    expect(progress.step as number).toBeGreaterThan(0);
    expect(progress.lastCheckpoint).not.toBeNull();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    expect(await run.exit).toBe(0);
  });
});
