/**
 * gs:// failures against a real Cloud Storage emulator. The server is killed
 * or stopped during a resumable upload and restarted. An endpoint has
 * nothing listening, or a server that never responds. Application Default
 * Credentials find nothing, or a key file whose token request fails. An
 * egress trap plays the metadata server and the HTTPS proxy, so that no
 * request leaves 127.0.0.1.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { openStore, StorageRetryEvent } from '../../trainer/src/storage';
import { freePort } from '../support/cli';
import { EgressTrap } from './egress-trap';
import { GcsTestServer } from './server';
import { captureError, describeWithGcs, GcsFixture, startGcsFixture } from './support';

const KIB = 1024;
const MIB = 1024 * KIB;
const BUCKET = 'mildnet-faults';

jest.setTimeout(90_000);

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

describeWithGcs('GcsObjectStore under faults', () => {
  let fixture: GcsFixture;
  let server: GcsTestServer;
  let trap: EgressTrap;
  let workDir: string;

  beforeAll(async () => {
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-gcs-faults-'));
    // Neither GOOGLE_APPLICATION_CREDENTIALS nor gcloud's user credentials
    // may leak in from the machine running the tests.
    fixture = await startGcsFixture(BUCKET, {
      STORAGE_EMULATOR_HOST: undefined,
      GOOGLE_APPLICATION_CREDENTIALS: undefined,
      CLOUDSDK_CONFIG: path.join(workDir, 'gcloud'),
      HOME: workDir,
    });
    ({ server, trap } = fixture);
  });

  afterAll(async () => {
    await fixture?.close();
    if (workDir) await fs.rm(workDir, { recursive: true, force: true });
  });

  it.each([
    ['killed', (s: GcsTestServer) => s.kill()],
    ['stopped', (s: GcsTestServer) => s.stop()],
  ])('completes upload when server is %s and restarted', async (how, takeDown) => {
    const retries: StorageRetryEvent[] = [];
    const store = await openStore(`gs://${BUCKET}/interrupted-${how}`, {
      env: server.env(),
      partSizeBytes: 256 * KIB,
      // Up to 1 s between attempts, and enough attempts to outlast the restart.
      retry: { baseDelayMs: 50, maxDelayMs: 1_000, maxAttempts: 30, maxElapsedMs: 30_000 },
      onRetry: (event) => retries.push(event),
    });
    const body = randomBytes(24 * MIB);
    const chunkLine = new RegExp(`PUT /upload/storage/v1/b/${BUCKET}/o\\?[^ ]*interrupted-${how}[^ ]*upload_id=[^ ]* HTTP/1.1\\\\" 308`);

    const upload = store.put('model/final.bin', body);
    // The server logs a chunk once it has responded with 308 Resume Incomplete.
    await server.waitForLog(chunkLine, 20_000);
    await takeDown(server);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await server.restart();
    const info = await upload;

    // The session was lost with the server, so the upload started again.
    expect(retries.length).toBeGreaterThanOrEqual(1);
    for (const event of retries) {
      expect(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'Timeout', 'HttpStatus404', 'HttpStatus503']).toContain(event.code);
      expect(event.uri).toBe(`gs://${BUCKET}/interrupted-${how}/model/final.bin`);
      expect(event.operation).toBe('objects.insert.resumable');
      expect(event.delayMs).toBeLessThanOrEqual(1_000);
    }
    expect(retries.map((event) => event.code)).toContain('ECONNREFUSED');
    expect(info.sizeBytes).toBe(body.byteLength);
    const read = await store.get('model/final.bin');
    expect(read.byteLength).toBe(body.byteLength);
    expect(md5(read)).toBe(md5(body));
  });

  it('get fails fast when nothing listens', async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const store = await openStore(`gs://${BUCKET}/x`, { env: { STORAGE_EMULATOR_HOST: endpoint } });

    const startedAt = Date.now();
    const error = await captureError(store.get('anything.bin'));
    const elapsedMs = Date.now() - startedAt;

    // Default policy: 6 attempts with at most 0.2+0.4+0.8+1.6+3.2 s between them.
    expect(elapsedMs).toBeLessThan(10_000);
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.attempts).toBe(6);
    expect(error.transient).toBe(true);
    expect(error.message).toContain(`gs://${BUCKET}/x/anything.bin`);
    expect(error.message).toContain(endpoint);
    expect(error.message).toContain('STORAGE_EMULATOR_HOST');
  });

  it('put fails fast when nothing listens', async () => {
    const port = await freePort();
    const store = await openStore(`gs://${BUCKET}/x`, {
      env: { STORAGE_EMULATOR_HOST: `http://127.0.0.1:${port}` },
      partSizeBytes: 256 * KIB,
    });

    const startedAt = Date.now();
    const error = await captureError(store.put('big.bin', randomBytes(MIB)));

    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.attempts).toBe(6);
    expect(error.message).toContain('GCS objects.insert.resumable failed');
    expect(error.message).not.toContain('upload_id');
  });

  it('times out on a silent server', async () => {
    const silent = net.createServer(() => undefined); // accepts connections, never writes
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const store = await openStore(`gs://${BUCKET}/x`, {
        env: { STORAGE_EMULATOR_HOST: `http://127.0.0.1:${port}` },
        socketTimeoutMs: 500,
        partSizeBytes: 256 * KIB,
        retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
      });

      const requests = [() => store.head('anything.bin'), () => store.get('anything.bin'), () => store.put('big.bin', randomBytes(MIB))];
      for (const send of requests) {
        const startedAt = Date.now();
        const error = await captureError(send());

        expect(Date.now() - startedAt).toBeLessThan(5_000);
        expect(error.code).toBe('Timeout');
        expect(error.attempts).toBe(2);
        expect(error.message).toContain('did not respond in time');
      }
    } finally {
      silent.close();
    }
  });

  it('bounds a download whose body stalls', async () => {
    // Sends the headers and 10 of 1000 bytes, then nothing.
    const stalling = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' });
      response.write(Buffer.alloc(10));
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    const port = (stalling.address() as net.AddressInfo).port;
    try {
      const store = await openStore(`gs://${BUCKET}/x`, {
        env: { STORAGE_EMULATOR_HOST: `http://127.0.0.1:${port}` },
        socketTimeoutMs: 500,
        retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
      });

      const startedAt = Date.now();
      const error = await captureError(store.get('stalled.bin'));

      expect(Date.now() - startedAt).toBeLessThan(5_000);
      expect(error.code).toBe('Timeout');
      expect(error.attempts).toBe(2);
    } finally {
      stalling.closeAllConnections();
      stalling.close();
    }
  });

  it('reports missing credentials after metadata probe', async () => {
    const requestsBefore = trap.requests().length;
    const store = await openStore(`gs://${BUCKET}/adc`, { env: {} });

    const startedAt = Date.now();
    const error = await captureError(store.get('a.txt'));

    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(error.code).toBe('CredentialsNotFound');
    expect(error.transient).toBe(false);
    expect(error.attempts).toBe(1);
    expect(error.message).toContain(`gs://${BUCKET}/adc/a.txt`);
    expect(error.message).toContain('Workload Identity');
    expect(error.message).toContain('GOOGLE_APPLICATION_CREDENTIALS');
    // The client probed for the GKE or GCE metadata server, which was the
    // trap, and sent no request to Cloud Storage without credentials.
    const probes = trap.requests().slice(requestsBefore);
    expect(probes.length).toBeGreaterThanOrEqual(1);
    for (const probe of probes) {
      expect(probe).toBe(`GET ${trap.address}/computeMetadata/v1/instance`);
    }
  });

  it('keeps a service account key out of errors', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const keyFile = path.join(workDir, 'key.json');
    const privateKeyId = randomBytes(20).toString('hex');
    await fs.writeFile(
      keyFile,
      JSON.stringify({
        type: 'service_account',
        project_id: 'mildnet-test',
        private_key_id: privateKeyId,
        private_key: pem,
        client_email: 'trainer@mildnet-test.iam.gserviceaccount.com',
        client_id: '1',
        token_uri: 'https://oauth2.googleapis.com/token',
      }),
    );
    const requestsBefore = trap.requests().length;
    const store = await openStore(`gs://${BUCKET}/keyed`, {
      env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile },
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
    });

    const error = await captureError(store.put('a.txt', 'a'));

    expect(error.httpStatus).toBe(401);
    expect(error.attempts).toBe(1);
    expect(error.message).toContain(`gs://${BUCKET}/keyed/a.txt`);
    expect(error.message).toContain('the request was not authenticated');
    expect(error.message).toContain('GOOGLE_APPLICATION_CREDENTIALS');
    const serialized = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
    expect(serialized).not.toContain(privateKeyId);
    expect(serialized).not.toContain('PRIVATE KEY');
    const pemBody = pem.split('\n')[1];
    expect(serialized).not.toContain(pemBody);
    // The token request went through the proxy, which was the trap, to
    // Google's OAuth endpoint. google-auth-library 9.15 signs in through
    // gtoken 7 at www.googleapis.com. Nothing else was contacted.
    expect(trap.requests().slice(requestsBefore)).toEqual(['CONNECT www.googleapis.com:443']);
  });

  it('rejects a missing key file before any request', async () => {
    const missing = path.join(workDir, 'no-such-key.json');

    await expect(openStore(`gs://${BUCKET}/x`, { env: { GOOGLE_APPLICATION_CREDENTIALS: missing } })).rejects.toThrow(
      `GOOGLE_APPLICATION_CREDENTIALS is "${missing}" but that file is missing or unreadable`,
    );
  });

  it('rejects an emulator host without a scheme', async () => {
    await expect(openStore(`gs://${BUCKET}/x`, { env: { STORAGE_EMULATOR_HOST: '127.0.0.1:4443' } })).rejects.toThrow(
      'STORAGE_EMULATOR_HOST "127.0.0.1:4443" has no scheme; write it as http://127.0.0.1:4443',
    );
  });
});
