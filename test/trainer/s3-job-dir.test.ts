/**
 * The trainer CLI with its job dir in a real S3 server (versitygw). A run
 * killed during a checkpoint upload must resume from the previous complete
 * checkpoint and end with the weights of a run never interrupted. Every
 * metric must move during a run, and wrong credentials must fail fast.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

import { prepareFashionMnist } from '../../trainer/src/data';
import { createTrainerMetrics } from '../../trainer/src/metrics';
import { startS3Server, type S3TestServer } from '../s3/server';
import { describeWithS3 } from '../s3/support';
import { FASHION_MNIST_IMAGES, freePort, startCli as start } from '../support/cli';
import { startFaultProxy } from '../support/fault-proxy';

const BUCKET = 'jobs';
/** The S3 throttling error, which clients retry. */
const S3_SLOW_DOWN = {
  contentType: 'application/xml',
  body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
};

jest.setTimeout(600_000);

/** Parses a Prometheus text exposition into `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const split = line.lastIndexOf(' ');
    samples.set(line.slice(0, split), Number(line.slice(split + 1)));
  }
  return samples;
}

const describeWithData = fs.existsSync(FASHION_MNIST_IMAGES) ? describeWithS3 : describe.skip;

describeWithData('mildnet train with an s3:// job dir', () => {
  let server: S3TestServer;
  let client: S3Client;
  let root: string;
  let data: string;

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket(BUCKET);
    client = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mildnet-s3-job-'));
    data = path.join(root, 'data');
    await prepareFashionMnist({ out: data, seed: 5, trainTriplets: 240, valTriplets: 48, testTriplets: 16, valImages: 1000 });
  });
  afterAll(async () => {
    client?.destroy();
    await server?.dispose();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  // Quick-start model with head dropout on, so that the comparison covers the
  // dropout masks. An epoch has 30 steps, checkpoints come at steps 4 and 8,
  // and the run ends at step 12.
  const trainArgs = (jobDir: string): string[] => [
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
    'epochs=1',
    '--set',
    'head_dropout=0.3',
    '--set',
    'checkpoint.every_steps=4',
    '--max-steps',
    '12',
  ];

  async function objectKeys(prefix: string): Promise<string[]> {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (listed.Contents ?? []).map((entry) => entry.Key ?? '').sort();
  }

  async function objectBytes(key: string): Promise<Buffer> {
    const response = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  }

  test('kill during upload: same final weights', async () => {
    const straight = start(trainArgs(`s3://${BUCKET}/straight`), server.env());
    const straightExit = await straight.exit;
    expect({ exit: straightExit, output: straightExit === 0 ? '' : straight.output() }).toEqual({ exit: 0, output: '' });

    // Hold the first upload of the checkpoint at step 8, then kill the trainer.
    const proxy = await startFaultProxy(server.endpoint, {
      decide: (method, url) => (method === 'PUT' && url.includes('/interrupted/checkpoints/step-000000008/') ? 'hold' : 'forward'),
      failure: S3_SLOW_DOWN,
    });
    const interrupted = start(trainArgs(`s3://${BUCKET}/interrupted`), { ...server.env(), AWS_ENDPOINT_URL_S3: proxy.endpoint });
    const stalled = await Promise.race([
      proxy.held,
      interrupted.exit.then((code) => Promise.reject(new Error(`The trainer exited (${code}) before the upload:\n${interrupted.output()}`))),
    ]);
    expect(stalled).toContain('step-000000008');
    interrupted.child.kill('SIGKILL');
    await interrupted.exit;
    await proxy.close();

    // The checkpoint at step 8 is incomplete: no manifest.
    const keys = await objectKeys('interrupted/checkpoints/');
    expect(keys).toContain('interrupted/checkpoints/step-000000004/manifest.json');
    expect(keys).not.toContain('interrupted/checkpoints/step-000000008/manifest.json');

    const resumed = start(trainArgs(`s3://${BUCKET}/interrupted`), server.env());
    const resumedExit = await resumed.exit;
    expect({ exit: resumedExit, output: resumedExit === 0 ? '' : resumed.output() }).toEqual({ exit: 0, output: '' });
    expect(resumed.output()).toMatch(/"resumedFromStep":4\b/);

    const straightWeights = await objectBytes('straight/final/weights.bin');
    const resumedWeights = await objectBytes('interrupted/final/weights.bin');
    expect(resumedWeights.length).toBe(straightWeights.length);
    expect(resumedWeights.equals(straightWeights)).toBe(true);
    expect(await objectKeys('interrupted/final/')).toEqual(['interrupted/final/model.json', 'interrupted/final/weights.bin']);
    // Retention in S3: keep_last 2 keeps steps 8 and 12. Step 12 is also the best one, as the only validated checkpoint.
    const manifests = (await objectKeys('interrupted/checkpoints/')).filter((key) => key.endsWith('/manifest.json'));
    expect(manifests).toEqual(['interrupted/checkpoints/step-000000008/manifest.json', 'interrupted/checkpoints/step-000000012/manifest.json']);
    expect(await objectKeys('interrupted/checkpoints/step-000000004/')).toEqual([]);
  });

  test('metrics: every metric moves', async () => {
    // A corrupt image in the training CSV, skipped and counted.
    const corruptData = path.join(root, 'corrupt-data');
    fs.cpSync(data, corruptData, { recursive: true });
    const firstTriplet = fs.readFileSync(path.join(corruptData, 'train.csv'), 'utf8').split('\n')[0].split(',');
    fs.writeFileSync(path.join(corruptData, 'images', firstTriplet[0]), 'not a PNG');
    const args = (maxSteps: number, port?: number): string[] => {
      const list = trainArgs('s3://' + BUCKET + '/observed').map((arg) => (arg === data ? corruptData : arg));
      list.splice(list.indexOf('epochs=1'), 1, 'epochs=2');
      list.splice(list.indexOf('--max-steps'), 2, '--max-steps', String(maxSteps), '--set', 'skip_bad_samples=true');
      if (port !== undefined) list.push('--metrics-port', String(port), '--metrics-host', '127.0.0.1');
      return list;
    };

    // The first process stops after 6 steps, so that the second one resumes.
    const first = start(args(6), server.env());
    expect(await first.exit).toBe(0);

    // The first three checkpoint uploads of the second process get 503 Slow Down.
    let checkpointPuts = 0;
    const proxy = await startFaultProxy(server.endpoint, {
      decide: (method, url) => (method === 'PUT' && url.includes('/observed/checkpoints/') && ++checkpointPuts <= 3 ? 'fail' : 'forward'),
      failure: S3_SLOW_DOWN,
    });
    const port = await freePort();
    const run = start(args(60, port), { ...server.env(), AWS_ENDPOINT_URL_S3: proxy.endpoint });
    const scrape = async (): Promise<Map<string, number> | undefined> => {
      try {
        return parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      } catch {
        return undefined;
      }
    };

    // Scrape until the second epoch is well under way, after the first validation.
    const snapshots: Array<Map<string, number>> = [];
    let exited = false;
    void run.exit.then(() => (exited = true));
    for (;;) {
      const snapshot = await scrape();
      if (snapshot && snapshot.has('mildnet_trainer_step')) snapshots.push(snapshot);
      if ((snapshot?.get('mildnet_trainer_step') ?? 0) >= 45) break;
      if (exited) throw new Error(`The trainer exited before step 45:\n${run.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const last = snapshots[snapshots.length - 1];
    const early = snapshots.find((snapshot) => (snapshot.get('mildnet_trainer_steps_total') ?? 0) >= 1) as Map<string, number>;
    expect(await run.exit).toBe(0);
    await proxy.close();
    const value = (snapshot: Map<string, number>, sample: string): number => {
      const found = snapshot.get(sample);
      if (found === undefined) throw new Error(`${sample} is missing from the scrape`);
      return found;
    };

    // Every metric the definitions declare is exported.
    const defined = await createTrainerMetrics().registry.getMetricsAsJSON();
    for (const metric of defined.filter((m) => m.name.startsWith('mildnet_trainer_'))) {
      const exported = [...last.keys()].some((sample) => sample === metric.name || sample.startsWith(metric.name + '{') || sample.startsWith(metric.name + '_'));
      expect({ metric: metric.name, exported }).toEqual({ metric: metric.name, exported: true });
    }

    // Progress: totals, position, resume point.
    expect(value(last, 'mildnet_trainer_epochs')).toBe(2);
    expect(value(last, 'mildnet_trainer_steps')).toBe(60);
    expect(value(early, 'mildnet_trainer_epoch')).toBe(1);
    expect(value(last, 'mildnet_trainer_epoch')).toBe(2);
    expect(value(last, 'mildnet_trainer_step')).toBeGreaterThan(value(early, 'mildnet_trainer_step'));
    expect(value(last, 'mildnet_trainer_resumed_from_step')).toBe(6);
    expect(value(last, 'mildnet_trainer_resumed_from_epoch')).toBe(0);
    const stepsRun = value(last, 'mildnet_trainer_steps_total');
    expect(stepsRun).toBe(value(last, 'mildnet_trainer_step') - 6);

    // Throughput and timing.
    const skipped = value(last, 'mildnet_trainer_skipped_triplets_total');
    expect(skipped).toBeGreaterThanOrEqual(1);
    expect(value(last, 'mildnet_trainer_images_total')).toBeGreaterThan(value(early, 'mildnet_trainer_images_total'));
    expect(value(last, 'mildnet_trainer_images_total')).toBeLessThanOrEqual(stepsRun * 3 * 8);
    expect(value(last, 'mildnet_trainer_images_per_second')).toBeGreaterThan(0);
    expect(value(last, 'mildnet_trainer_step_duration_seconds_count')).toBe(stepsRun);
    expect(value(last, 'mildnet_trainer_step_duration_seconds_sum')).toBeGreaterThan(0);
    expect(value(last, 'mildnet_trainer_data_wait_seconds_count')).toBe(stepsRun);

    // Losses and accuracies: training from the first steps, validation after epoch 1.
    expect(Number.isFinite(value(early, 'mildnet_trainer_loss{split="train"}'))).toBe(true);
    expect(value(last, 'mildnet_trainer_loss{split="val"}')).toBeGreaterThan(0);
    for (const split of ['train', 'val']) {
      const accuracy = value(last, `mildnet_trainer_triplet_accuracy_ratio{split="${split}"}`);
      expect(accuracy).toBeGreaterThanOrEqual(0);
      expect(accuracy).toBeLessThanOrEqual(1);
    }

    // Checkpoints, written through the 503s with retries.
    const checkpoints = value(last, 'mildnet_trainer_checkpoints_total');
    expect(checkpoints).toBeGreaterThanOrEqual(1);
    expect(value(last, 'mildnet_trainer_checkpoint_duration_seconds_count')).toBe(checkpoints);
    expect(value(last, 'mildnet_trainer_checkpoint_bytes')).toBeGreaterThan(1_000_000);
    expect(value(last, 'mildnet_trainer_last_checkpoint_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(proxy.failed()).toBe(3);
    expect(value(last, 'mildnet_trainer_storage_retries_total{operation="PutObject"}')).toBe(3);

    // Backend and tensors: the count stays level from step to step once training runs.
    expect(value(last, 'mildnet_trainer_backend_info{backend="wasm"}')).toBe(1);
    expect(value(last, 'mildnet_trainer_tensor_bytes')).toBeGreaterThan(0);
    const tensorCounts = snapshots.slice(-3).map((snapshot) => value(snapshot, 'mildnet_trainer_tensors'));
    expect(tensorCounts[0]).toBeGreaterThan(0);
    expect(Math.max(...tensorCounts) - Math.min(...tensorCounts)).toBeLessThan(50);
  });

  test('wrong credentials: fast, redacted error', async () => {
    const secret = 'not-the-right-secret-0123456789';
    const started = Date.now();
    const run = start(trainArgs(`s3://${BUCKET}/denied`), { ...server.env(), AWS_SECRET_ACCESS_KEY: secret });
    expect(await run.exit).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(run.output()).toContain(`s3://${BUCKET}/denied`);
    expect(run.output()).not.toContain(secret);
  });
});
