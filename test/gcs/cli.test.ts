/**
 * The trainer CLI with its job dir in a real Cloud Storage emulator
 * (fake-gcs-server). A run killed with SIGKILL during a checkpoint upload
 * must resume from the previous complete checkpoint and end with the
 * weights of a run never interrupted. Transient 503s are retried and
 * logged, and a missing bucket stops the run with a message naming it. The
 * trainer processes get an egress trap as metadata server and proxy, and
 * must send it nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { prepareFashionMnist } from '../../trainer/src/data';
import { FileObjectStore, openStore } from '../../trainer/src/storage';
import { FASHION_MNIST_IMAGES, startCli, type CliRun } from '../support/cli';
import { startFaultProxy } from '../support/fault-proxy';
import { EgressTrap, startEgressTrap } from './egress-trap';
import { GcsTestServer, startGcsServer } from './server';
import { describeWithGcs } from './support';

const BUCKET = 'jobs';
/** A Cloud Storage JSON API backend error, which clients retry. */
const GCS_BACKEND_ERROR = {
  contentType: 'application/json',
  body: JSON.stringify({ error: { code: 503, message: 'Service Unavailable', errors: [{ reason: 'backendError' }] } }),
};

jest.setTimeout(600_000);

const describeWithData = fs.existsSync(FASHION_MNIST_IMAGES) ? describeWithGcs : describe.skip;

describeWithData('mildnet train with a gs:// job dir', () => {
  let server: GcsTestServer;
  let trap: EgressTrap;
  let bucket: FileObjectStore;
  let root: string;
  let data: string;

  /** Starts the CLI with the egress trap as metadata server and proxy. */
  function start(args: string[], env: Record<string, string>): CliRun {
    return startCli(args, { ...trap.env(), ...env });
  }

  beforeAll(async () => {
    trap = await startEgressTrap();
    server = await startGcsServer();
    await server.createBucket(BUCKET);
    bucket = await openStore(`gs://${BUCKET}`, { env: server.env() });
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mildnet-gcs-job-'));
    data = path.join(root, 'data');
    await prepareFashionMnist({ out: data, seed: 5, trainTriplets: 240, valTriplets: 48, testTriplets: 16, valImages: 1000 });
  });

  afterAll(async () => {
    await server?.dispose();
    await trap?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  // Quick-start model with head dropout on, so that the comparison covers the
  // dropout masks. An epoch has 30 steps, checkpoints are saved at steps 4
  // and 8, and the run ends at step 12.
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

  const keysUnder = async (prefix: string): Promise<string[]> => (await bucket.list(prefix)).map((object) => object.key);

  test('kill during upload: same final weights', async () => {
    const straight = start(trainArgs(`gs://${BUCKET}/straight`), server.env());
    const straightExit = await straight.exit;
    expect({ exit: straightExit, output: straightExit === 0 ? '' : straight.output() }).toEqual({ exit: 0, output: '' });

    // Hold the first upload request of the checkpoint at step 8, then kill the trainer.
    const proxy = await startFaultProxy(server.endpoint, {
      decide: (method, url) =>
        (method === 'POST' || method === 'PUT') && url.includes('interrupted/checkpoints/step-000000008/') ? 'hold' : 'forward',
      failure: GCS_BACKEND_ERROR,
      decodeUrl: true,
    });
    const interrupted = start(trainArgs(`gs://${BUCKET}/interrupted`), { STORAGE_EMULATOR_HOST: proxy.endpoint });
    const stalled = await Promise.race([
      proxy.held,
      interrupted.exit.then((code) => Promise.reject(new Error(`the trainer exited (${code}) before the upload:\n${interrupted.output()}`))),
    ]);
    expect(stalled).toContain('step-000000008');
    interrupted.child.kill('SIGKILL');
    await interrupted.exit;
    await proxy.close();

    // The checkpoint at step 8 is incomplete, so it has no manifest.
    const keys = await keysUnder('interrupted/checkpoints/');
    expect(keys).toContain('interrupted/checkpoints/step-000000004/manifest.json');
    expect(keys).not.toContain('interrupted/checkpoints/step-000000008/manifest.json');

    const resumed = start(trainArgs(`gs://${BUCKET}/interrupted`), server.env());
    const resumedExit = await resumed.exit;
    expect({ exit: resumedExit, output: resumedExit === 0 ? '' : resumed.output() }).toEqual({ exit: 0, output: '' });
    expect(resumed.output()).toMatch(/"resumedFromStep":4\b/);

    const straightWeights = await bucket.get('straight/final/weights.bin');
    const resumedWeights = await bucket.get('interrupted/final/weights.bin');
    expect(resumedWeights.length).toBe(straightWeights.length);
    expect(resumedWeights.equals(straightWeights)).toBe(true);
    expect(await keysUnder('interrupted/final/')).toEqual(['interrupted/final/model.json', 'interrupted/final/weights.bin']);
  });

  test('503s during checkpoints: retried and logged', async () => {
    // The first three checkpoint upload requests get 503 Service Unavailable.
    let checkpointUploads = 0;
    const proxy = await startFaultProxy(server.endpoint, {
      decide: (method, url) => {
        if ((method !== 'POST' && method !== 'PUT') || !url.includes('retried/checkpoints/')) {
          return 'forward';
        }
        checkpointUploads++;
        return checkpointUploads <= 3 ? 'fail' : 'forward';
      },
      failure: GCS_BACKEND_ERROR,
      decodeUrl: true,
    });
    const args = trainArgs(`gs://${BUCKET}/retried`);
    args.splice(args.indexOf('--max-steps'), 2, '--max-steps', '4');
    const run = start(args, { STORAGE_EMULATOR_HOST: proxy.endpoint });
    const exit = await run.exit;
    await proxy.close();

    expect({ exit, output: exit === 0 ? '' : run.output() }).toEqual({ exit: 0, output: '' });
    expect(proxy.failed()).toBe(3);
    const retryLines = run
      .output()
      .split('\n')
      .filter((line) => line.includes('storage request failed; retrying'))
      .map((line) => JSON.parse(line) as { uri: string; code: string; httpStatus: number; operation: string });
    expect(retryLines).toHaveLength(3);
    for (const line of retryLines) {
      expect(line.uri).toMatch(new RegExp(`^gs://${BUCKET}/retried/checkpoints/step-000000004/`));
      expect(line.code).toBe('backendError');
      expect(line.httpStatus).toBe(503);
      expect(line.operation).toMatch(/^objects\.insert/);
    }
    expect(await keysUnder('retried/checkpoints/step-000000004/')).toContain('retried/checkpoints/step-000000004/manifest.json');
  });

  test('missing bucket: fast, named error', async () => {
    const args = trainArgs('gs://no-such-bucket/run');
    args.splice(args.indexOf('--max-steps'), 2, '--max-steps', '4');
    const run = start(args, server.env());

    expect(await run.exit).toBe(1);
    expect(run.output()).toContain('gs://no-such-bucket/run/');
    expect(run.output()).toContain('"no-such-bucket" does not exist');
  });

  test('no request left 127.0.0.1', () => {
    expect(trap.requests()).toEqual([]);
  });
});
