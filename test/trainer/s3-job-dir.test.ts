/**
 * The trainer CLI with its job dir in a real S3 server (versitygw): a run
 * killed while it uploads a checkpoint resumes from the previous complete
 * checkpoint and ends with exactly the weights of a run never interrupted,
 * and wrong credentials fail fast with a message that names the URI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

import { prepareFashionMnist } from '../../trainer/src/data';
import { startS3Server, type S3TestServer } from '../s3/server';
import { describeWithS3 } from '../s3/support';

const REPO = path.resolve(__dirname, '..', '..');
const MILDNET = path.join(REPO, 'trainer', 'bin', 'mildnet.js');
const FASHION_MNIST = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const BUCKET = 'jobs';

jest.setTimeout(600_000);

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [MILDNET, ...args], { cwd: REPO, env: { ...process.env, ...env, CI: '1' } });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/**
 * An HTTP proxy in front of the S3 server that forwards every request except
 * those `hold` picks: it never answers them, as a network that stalls in the
 * middle of an upload would. `held` resolves when the first one arrives.
 */
interface StallingProxy {
  endpoint: string;
  held: Promise<string>;
  close(): Promise<void>;
}

async function startStallingProxy(target: string, hold: (method: string, url: string) => boolean): Promise<StallingProxy> {
  const upstream = new URL(target);
  let onHeld: (url: string) => void = () => undefined;
  const held = new Promise<string>((resolve) => (onHeld = resolve));
  const server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    if (hold(request.method ?? 'GET', url)) {
      onHeld(url);
      return;
    }
    // The Host header is forwarded unchanged: the request's signature covers it.
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: url, headers: request.headers },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    held,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const describeWithData = fs.existsSync(FASHION_MNIST) ? describeWithS3 : describe.skip;

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
  // dropout masks; 30 steps per epoch, checkpoints at steps 4 and 8, the
  // run ends at step 12.
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

  test('a run killed during a checkpoint upload resumes and ends with the weights of an uninterrupted run', async () => {
    const straight = start(trainArgs(`s3://${BUCKET}/straight`), server.env());
    const straightExit = await straight.exit;
    expect({ exit: straightExit, output: straightExit === 0 ? '' : straight.output() }).toEqual({ exit: 0, output: '' });

    // Hold the first upload of the checkpoint at step 8, then kill the trainer.
    const proxy = await startStallingProxy(server.endpoint, (method, url) =>
      method === 'PUT' && url.includes('/interrupted/checkpoints/step-000000008/'),
    );
    const interrupted = start(trainArgs(`s3://${BUCKET}/interrupted`), { ...server.env(), AWS_ENDPOINT_URL_S3: proxy.endpoint });
    const stalled = await Promise.race([
      proxy.held,
      interrupted.exit.then((code) => Promise.reject(new Error(`the trainer exited (${code}) before the upload:\n${interrupted.output()}`))),
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
  });

  test('wrong credentials stop the run within seconds, naming the URI but not the secret', async () => {
    const secret = 'not-the-right-secret-0123456789';
    const started = Date.now();
    const run = start(trainArgs(`s3://${BUCKET}/denied`), { ...server.env(), AWS_SECRET_ACCESS_KEY: secret });
    expect(await run.exit).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(run.output()).toContain(`s3://${BUCKET}/denied`);
    expect(run.output()).not.toContain(secret);
  });
});
