/**
 * The gs:// store against a real Cloud Storage emulator (fake-gcs-server over
 * a temporary folder): round trips of small objects and of resumable uploads,
 * listing with prefixes and pages, head, delete, missing objects and
 * buckets, and the endpoint taken from STORAGE_EMULATOR_HOST. An egress trap
 * plays the metadata server and Google's endpoints, and must see no request.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { FileObjectStore, GcsObjectStore, ObjectNotFoundError, openStore } from '../../trainer/src/storage';
import { EgressTrap, overrideProcessEnv } from './egress-trap';
import { GcsTestServer } from './server';
import { captureError, describeWithGcs, GcsFixture, startGcsFixture } from './support';

const KIB = 1024;
const MIB = 1024 * KIB;
const BUCKET = 'mildnet-store';

jest.setTimeout(60_000);

function md5Base64(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('base64');
}

describeWithGcs('GcsObjectStore against fake-gcs-server', () => {
  let fixture: GcsFixture;
  let server: GcsTestServer;
  let trap: EgressTrap;
  let store: FileObjectStore;
  let workDir: string;
  const uploadRequests = (log: string): number => log.split('\n').filter((line) => /PUT \/upload\/storage\/v1\/b\/[^ ]*upload_id=/.test(line)).length;

  beforeAll(async () => {
    fixture = await startGcsFixture(BUCKET);
    ({ server, trap } = fixture);
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-gcs-store-'));
    store = await openStore(`gs://${BUCKET}/jobs/run-1`, { env: server.env(), partSizeBytes: 256 * KIB });
  });

  afterAll(async () => {
    await fixture?.close();
    if (workDir) await fs.rm(workDir, { recursive: true, force: true });
  });

  it('opens a GcsObjectStore for gs:// without HMAC keys', () => {
    expect(store).toBeInstanceOf(GcsObjectStore);
    expect(store.uri).toBe(`gs://${BUCKET}/jobs/run-1/`);
    expect(store.uriOf('a/b.txt')).toBe(`gs://${BUCKET}/jobs/run-1/a/b.txt`);
  });

  it('round-trips a small object', async () => {
    const body = 'epoch,loss\n1,0.5\n';

    const info = await store.put('logs/train.csv', body);

    expect(info.sizeBytes).toBe(17);
    expect(info.etag).toBe(md5Base64(Buffer.from(body)));
    expect((await store.get('logs/train.csv')).toString('utf8')).toBe(body);
  });

  it('stores objects under the URI prefix', async () => {
    await store.put('prefix-check.txt', 'x');

    const onDisk = await fs.readFile(path.join(server.dataDir, BUCKET, 'jobs', 'run-1', 'prefix-check.txt'), 'utf8');
    expect(onDisk).toBe('x');
  });

  it('round-trips a 3 MiB object in a resumable upload', async () => {
    const body = randomBytes(3 * MIB + 17);
    const requestsBefore = uploadRequests(await server.log());

    const info = await store.put('model/weights.bin', body);

    // 256 KiB per request: 12 full chunks and one of 17 bytes.
    expect(uploadRequests(await server.log()) - requestsBefore).toBe(13);
    expect(info.sizeBytes).toBe(body.byteLength);
    expect(info.etag).toBe(md5Base64(body));
    const read = await store.get('model/weights.bin');
    expect(read.equals(body)).toBe(true);
    const head = await store.head('model/weights.bin');
    expect(head?.sizeBytes).toBe(body.byteLength);
    expect(head?.etag).toBe(info.etag);
    expect(head?.lastModified).toBeInstanceOf(Date);
  });

  it('streams a large file up and down', async () => {
    const source = path.join(workDir, 'upload.bin');
    const target = path.join(workDir, 'nested', 'download.bin');
    const body = randomBytes(2 * MIB + 123);
    await fs.writeFile(source, body);
    const requestsBefore = uploadRequests(await server.log());

    const uploaded = await store.putFile('model/streamed.bin', source);
    const downloaded = await store.getToFile('model/streamed.bin', target);

    expect(uploadRequests(await server.log()) - requestsBefore).toBe(9);
    expect(uploaded.etag).toBe(md5Base64(body));
    expect(downloaded.sizeBytes).toBe(body.byteLength);
    expect(downloaded.etag).toBe(uploaded.etag);
    expect((await fs.readFile(target)).equals(body)).toBe(true);
    const leftovers = (await fs.readdir(path.dirname(target))).filter((name) => name !== 'download.bin');
    expect(leftovers).toEqual([]);
  });

  it('uploads a small file in one request', async () => {
    const source = path.join(workDir, 'small.json');
    await fs.writeFile(source, '{"step":4}');
    const requestsBefore = uploadRequests(await server.log());

    const info = await store.putFile('small/manifest.json', source);

    expect(uploadRequests(await server.log())).toBe(requestsBefore);
    expect(info.sizeBytes).toBe(10);
    expect((await store.get('small/manifest.json')).toString()).toBe('{"step":4}');
  });

  it('lists by prefix with relative keys', async () => {
    await store.put('ckpt/epoch-2/manifest.json', '{}');
    await store.put('ckpt/epoch-10/manifest.json', '{}');
    await store.put('ckpt/epoch-1/weights.bin', 'w');
    await store.put('ckpt-other.txt', 'o');

    const all = await store.list('ckpt/');
    const partial = await store.list('ckpt/epoch-1');

    expect(all.map((object) => object.key)).toEqual([
      'ckpt/epoch-1/weights.bin',
      'ckpt/epoch-10/manifest.json',
      'ckpt/epoch-2/manifest.json',
    ]);
    expect(partial.map((object) => object.key)).toEqual(['ckpt/epoch-1/weights.bin', 'ckpt/epoch-10/manifest.json']);
    expect(all[0].sizeBytes).toBe(1);
    expect(all[0].etag).toBe(md5Base64(Buffer.from('w')));
  });

  it('lists more than 1000 keys across pages', async () => {
    const keys = Array.from({ length: 1005 }, (_, index) => `many/${String(index).padStart(4, '0')}.txt`);
    for (let start = 0; start < keys.length; start += 25) {
      await Promise.all(keys.slice(start, start + 25).map((key) => store.put(key, key)));
    }

    const listed = await store.list('many/');

    expect(listed).toHaveLength(1005);
    expect(listed.map((object) => object.key)).toEqual(keys);
  });

  it('lists across small pages', async () => {
    const paged = await openStore(`gs://${BUCKET}/jobs/run-1`, { env: server.env(), listPageSize: 3 });
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) {
      await store.put(`paged/${name}`, name);
    }
    const logBefore = await server.log();
    const listRequests = (log: string): number => log.split('\n').filter((line) => /GET \/storage\/v1\/b\/mildnet-store\/o\?/.test(line)).length;

    const listed = await paged.list('paged/');

    expect(listed.map((object) => object.key)).toEqual(['paged/a', 'paged/b', 'paged/c', 'paged/d', 'paged/e', 'paged/f', 'paged/g']);
    expect(listRequests(await server.log()) - listRequests(logBefore)).toBe(3);
  });

  it('reports missing objects', async () => {
    await expect(store.get('missing.bin')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.get('missing.bin')).rejects.toThrow(`gs://${BUCKET}/jobs/run-1/missing.bin`);
    await expect(store.getToFile('missing.bin', path.join(workDir, 'missing.bin'))).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await store.head('missing.bin')).toBeUndefined();
    await expect(fs.stat(path.join(workDir, 'missing.bin'))).rejects.toThrow('ENOENT');
  });

  it('deletes existing and missing objects', async () => {
    await store.put('to-delete.txt', 'bye');

    await store.delete('to-delete.txt');
    await store.delete('to-delete.txt');

    expect(await store.head('to-delete.txt')).toBeUndefined();
    await expect(store.get('to-delete.txt')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('overwrites an object whole', async () => {
    await store.put('manifest.json', '{"epoch":1}');
    await store.put('manifest.json', '{"epoch":2}');

    expect((await store.get('manifest.json')).toString()).toBe('{"epoch":2}');
  });

  it('rejects keys that would leave the prefix', async () => {
    await expect(store.put('../escape.txt', 'x')).rejects.toThrow('".." path segment');
    await expect(store.get('/absolute')).rejects.toThrow('starts with "/"');
  });

  it('reports missing bucket, not missing object', async () => {
    const missing = await openStore('gs://no-such-bucket-here/x', { env: server.env() });

    const errors = [
      await captureError(missing.get('a.txt')),
      await captureError(missing.getToFile('a.txt', path.join(workDir, 'never.txt'))),
      await captureError(missing.head('a.txt')),
      await captureError(missing.list('')),
      await captureError(missing.put('a.txt', 'a')),
      await captureError(missing.put('big.bin', randomBytes(9 * MIB))),
      await captureError(missing.delete('a.txt')),
    ];

    for (const error of errors) {
      expect(error.code).toBe('NoSuchBucket');
      expect(error.transient).toBe(false);
      expect(error.attempts).toBe(1);
      expect(error.uri).toMatch(/^gs:\/\/no-such-bucket-here\/x\//);
      expect(error.message).toContain('"no-such-bucket-here" does not exist');
      expect(error.message).toContain(server.endpoint);
    }
  });

  it('reads STORAGE_EMULATOR_HOST from process.env', async () => {
    const restore = overrideProcessEnv({ STORAGE_EMULATOR_HOST: server.endpoint });
    try {
      const fromProcess = await openStore(`gs://${BUCKET}/from-process-env`);
      await fromProcess.put('hello.txt', 'hi');
      await fromProcess.put('large.bin', randomBytes(9 * MIB));

      expect((await fromProcess.get('hello.txt')).toString()).toBe('hi');
      expect((await fromProcess.list('')).map((object) => [object.key, object.sizeBytes])).toEqual([
        ['hello.txt', 2],
        ['large.bin', 9 * MIB],
      ]);
    } finally {
      restore();
    }
  });

  it('sends no request outside 127.0.0.1', () => {
    expect(trap.requests()).toEqual([]);
  });
});
