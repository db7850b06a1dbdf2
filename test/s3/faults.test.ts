/**
 * Failures against a real S3 server: the server going away during a
 * multipart upload and coming back, an endpoint where nothing listens, a
 * server that never responds, and invalid credentials or bucket names.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';

import {
  ObjectStore,
  openStore,
  S3ObjectStore,
  StorageRequestError,
  StorageRetryEvent,
} from '../../trainer/src/storage';
import { findFreePort, S3TestServer, startS3Server } from './server';
import { describeWithS3 } from './support';

const MIB = 1024 * 1024;

jest.setTimeout(60_000);

/** Resolves once versitygw has stored at least one part of a multipart upload in bucket. */
async function waitForFirstPart(dataDir: string, bucket: string, timeoutMs: number): Promise<void> {
  const multipartDir = path.join(dataDir, bucket, '.sgwtmp', 'multipart');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const objectDirs = await fs.readdir(multipartDir).catch(() => []);
    for (const objectDir of objectDirs) {
      for (const uploadDir of await fs.readdir(path.join(multipartDir, objectDir)).catch(() => [])) {
        const parts = await fs.readdir(path.join(multipartDir, objectDir, uploadDir)).catch(() => []);
        if (parts.length > 0) {
          return;
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`No multipart upload part appeared under ${multipartDir} within ${timeoutMs} ms`);
}

async function captureError(promise: Promise<unknown>): Promise<StorageRequestError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StorageRequestError) {
      return error;
    }
    throw error;
  }
  throw new Error('Expected the request to fail');
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

describeWithS3('S3ObjectStore under faults', () => {
  let server: S3TestServer;
  const stores: ObjectStore[] = [];

  async function open(uri: string, options: Parameters<typeof openStore>[1]): Promise<ObjectStore> {
    const store = await openStore(uri, options);
    stores.push(store);
    return store;
  }

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket('mildnet-faults');
  });

  afterAll(async () => {
    for (const store of stores) {
      (store as S3ObjectStore).destroy();
    }
    await server?.dispose();
  });

  it.each([
    ['stopped', (s: S3TestServer) => s.stop()],
    ['killed', (s: S3TestServer) => s.kill()],
  ])('completes an upload when the server is %s mid-upload and restarted', async (_how, takeDown) => {
    const retries: StorageRetryEvent[] = [];
    const store = await open('s3://mildnet-faults/interrupted', {
      env: server.env(),
      partSizeBytes: 5 * MIB,
      uploadConcurrency: 2,
      // Up to 1 s between attempts, and enough attempts to outlast the restart.
      retry: { baseDelayMs: 50, maxDelayMs: 1_000, maxAttempts: 30, maxElapsedMs: 30_000 },
      onRetry: (event) => retries.push(event),
    });
    const body = randomBytes(30 * MIB);

    const upload = store.put('model/final.bin', body);
    await waitForFirstPart(server.dataDir, 'mildnet-faults', 10_000);
    await takeDown(server);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await server.restart();
    const info = await upload;

    // While the server was down, connections were refused. A stopping
    // server may also return 500 InternalError for parts in flight.
    expect(retries.map((event) => event.code)).toContain('ECONNREFUSED');
    for (const event of retries) {
      expect(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'Timeout', 'InternalError']).toContain(event.code);
      expect(event.uri).toBe('s3://mildnet-faults/interrupted/model/final.bin');
      expect(event.delayMs).toBeLessThanOrEqual(1_000);
    }
    expect(info.etag).toMatch(/-6$/);
    const read = await store.get('model/final.bin');
    expect(read.byteLength).toBe(body.byteLength);
    expect(md5(read)).toBe(md5(body));
  });

  it('fails within seconds when nothing listens at the endpoint', async () => {
    const port = await findFreePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const store = await open('s3://mildnet-faults/x', { env: { ...server.env(), AWS_ENDPOINT_URL_S3: endpoint } });

    const startedAt = Date.now();
    const error = await captureError(store.get('anything.bin'));
    const elapsedMs = Date.now() - startedAt;

    // Default policy: 6 attempts with at most 0.2+0.4+0.8+1.6+3.2 s between them.
    expect(elapsedMs).toBeLessThan(10_000);
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.attempts).toBe(6);
    expect(error.message).toContain('s3://mildnet-faults/x/anything.bin');
    expect(error.message).toContain(endpoint);
    expect(error.message).toContain('AWS_ENDPOINT_URL_S3');
  });

  it('bounds a request to a server that never responds', async () => {
    const silent = net.createServer(() => undefined); // accepts connections, never writes
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const store = await open('s3://mildnet-faults/x', {
        env: { ...server.env(), AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` },
        socketTimeoutMs: 500,
        retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
      });

      const startedAt = Date.now();
      const error = await captureError(store.head('anything.bin'));

      expect(Date.now() - startedAt).toBeLessThan(5_000);
      expect(error.code).toBe('Timeout');
      expect(error.attempts).toBe(2);
      expect(error.message).toContain('did not respond in time');
    } finally {
      silent.close();
    }
  });

  it('rejects a wrong secret at once without echoing credentials', async () => {
    const wrongSecret = `wrong-${randomBytes(12).toString('hex')}`;
    const store = await open('s3://mildnet-faults/x', { env: { ...server.env(), AWS_SECRET_ACCESS_KEY: wrongSecret } });

    const startedAt = Date.now();
    const error = await captureError(store.put('a.txt', 'a'));

    expect(Date.now() - startedAt).toBeLessThan(2_000);
    expect(error.code).toBe('SignatureDoesNotMatch');
    expect(error.attempts).toBe(1);
    expect(error.message).toContain('s3://mildnet-faults/x/a.txt');
    expect(error.message).toContain('AWS_SECRET_ACCESS_KEY');
    const serialized = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
    expect(serialized).not.toContain(wrongSecret);
    expect(serialized).not.toContain(server.accessKeyId);
  });

  it('rejects an unknown access key ID at once without echoing it', async () => {
    const unknownKey = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const store = await open('s3://mildnet-faults/x', { env: { ...server.env(), AWS_ACCESS_KEY_ID: unknownKey } });

    const error = await captureError(store.list(''));

    expect(error.attempts).toBe(1);
    expect(error.transient).toBe(false);
    expect(error.message).toContain('access key ID');
    expect(error.message).toContain('AWS_ACCESS_KEY_ID');
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(unknownKey);
  });

  it('reports an unknown key ID from HEAD', async () => {
    const store = await open('s3://mildnet-faults/x', { env: { ...server.env(), AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNKEY' } });

    const error = await captureError(store.head('a.txt'));

    expect(error.code).not.toBe('NoSuchBucket');
    expect(error.message).toContain('access key ID');
  });

  it('reports a HEAD with wrong credentials as access denied', async () => {
    const store = await open('s3://mildnet-faults/x', { env: { ...server.env(), AWS_SECRET_ACCESS_KEY: 'not-the-secret' } });

    const error = await captureError(store.head('a.txt'));

    expect(error.code).toBe('HttpStatus403');
    expect(error.message).toContain('access was denied');
    expect(error.message).not.toContain('not-the-secret');
  });

  it('names a missing bucket instead of a missing object', async () => {
    const store = await open('s3://no-such-bucket-here/x', { env: server.env() });

    const fromGet = await captureError(store.get('a.txt'));
    const fromHead = await captureError(store.head('a.txt'));
    const fromList = await captureError(store.list(''));

    for (const error of [fromGet, fromHead, fromList]) {
      expect(error.code).toBe('NoSuchBucket');
      expect(error.attempts).toBe(1);
      expect(error.message).toContain('"no-such-bucket-here" does not exist');
      expect(error.message).toContain(server.endpoint);
    }
  });
});
