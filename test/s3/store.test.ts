/**
 * The S3 object store against a real S3 server (versitygw over a temporary
 * folder): round trips, multipart uploads, listing, head, delete and
 * not-found errors, and gs:// through the same client.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { FileObjectStore, ObjectNotFoundError, openStore, S3ObjectStore } from '../../trainer/src/storage';
import { S3TestServer, startS3Server } from './server';
import { describeWithS3 } from './support';

const MIB = 1024 * 1024;

jest.setTimeout(60_000);

describeWithS3('S3ObjectStore against versitygw', () => {
  let server: S3TestServer;
  let store: FileObjectStore;
  let workDir: string;

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket('mildnet-store');
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-s3-store-'));
    store = await openStore('s3://mildnet-store/jobs/run-1', {
      env: server.env(),
      partSizeBytes: 5 * MIB,
    });
  });

  afterAll(async () => {
    (store as S3ObjectStore | undefined)?.destroy();
    await server?.dispose();
    await fs.rm(workDir, { recursive: true, force: true });
  });

  it('round-trips a small object', async () => {
    const info = await store.put('logs/train.csv', 'epoch,loss\n1,0.5\n');

    expect(info.sizeBytes).toBe(17);
    expect(info.etag).toMatch(/^[0-9a-f]{32}$/);
    expect((await store.get('logs/train.csv')).toString('utf8')).toBe('epoch,loss\n1,0.5\n');
  });

  it('stores objects under the URI prefix', async () => {
    await store.put('prefix-check.txt', 'x');

    const onDisk = await fs.readFile(path.join(server.dataDir, 'mildnet-store', 'jobs', 'run-1', 'prefix-check.txt'), 'utf8');
    expect(onDisk).toBe('x');
    expect(store.uriOf('prefix-check.txt')).toBe('s3://mildnet-store/jobs/run-1/prefix-check.txt');
  });

  it('round-trips a 12 MiB object in 5 MiB parts', async () => {
    const body = randomBytes(12 * MIB);

    const info = await store.put('model/weights.bin', body);

    // A multipart ETag ends in "-<number of parts>".
    expect(info.etag).toMatch(/-3$/);
    expect(info.sizeBytes).toBe(body.byteLength);
    const read = await store.get('model/weights.bin');
    expect(read.equals(body)).toBe(true);
    const head = await store.head('model/weights.bin');
    expect(head?.sizeBytes).toBe(body.byteLength);
    expect(head?.etag).toBe(info.etag);
  });

  it('streams a large file up and down', async () => {
    const source = path.join(workDir, 'upload.bin');
    const target = path.join(workDir, 'nested', 'download.bin');
    const body = randomBytes(11 * MIB + 123);
    await fs.writeFile(source, body);

    const uploaded = await store.putFile('model/streamed.bin', source);
    const downloaded = await store.getToFile('model/streamed.bin', target);

    expect(uploaded.etag).toMatch(/-3$/);
    expect(downloaded.sizeBytes).toBe(body.byteLength);
    expect(downloaded.etag).toBe(uploaded.etag);
    expect((await fs.readFile(target)).equals(body)).toBe(true);
    const leftovers = (await fs.readdir(path.dirname(target))).filter((name) => name !== 'download.bin');
    expect(leftovers).toEqual([]);
  });

  it('lists by prefix in key order with keys relative to the store', async () => {
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
    expect(all[0].etag).toMatch(/^[0-9a-f]{32}$/);
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
    const paged = await openStore('s3://mildnet-store/jobs/run-1', { env: server.env(), listPageSize: 3 });
    await store.put('paged/a', '1');
    await store.put('paged/b', '2');
    await store.put('paged/c', '3');
    await store.put('paged/d', '4');

    const listed = await paged.list('paged/');

    expect(listed.map((object) => object.key)).toEqual(['paged/a', 'paged/b', 'paged/c', 'paged/d']);
    (paged as S3ObjectStore).destroy();
  });

  it('reports missing objects', async () => {
    await expect(store.get('missing.bin')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.get('missing.bin')).rejects.toThrow('s3://mildnet-store/jobs/run-1/missing.bin');
    await expect(store.getToFile('missing.bin', path.join(workDir, 'missing.bin'))).rejects.toBeInstanceOf(
      ObjectNotFoundError,
    );
    expect(await store.head('missing.bin')).toBeUndefined();
  });

  it('deletes objects, and deleting a missing one is no error', async () => {
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

  it('reads credentials from a mounted Secret directory', async () => {
    const secretDir = path.join(workDir, 'secret');
    await fs.mkdir(secretDir);
    await fs.writeFile(path.join(secretDir, 'access-key-id'), `${server.accessKeyId}\n`);
    await fs.writeFile(path.join(secretDir, 'secret-access-key'), `${server.secretAccessKey}\n`);
    const env = { AWS_ENDPOINT_URL_S3: server.endpoint, MILDNET_S3_CREDENTIALS_DIR: secretDir };

    const fromSecret = await openStore('s3://mildnet-store/from-secret', { env });
    await fromSecret.put('hello.txt', 'hi');

    expect((await fromSecret.get('hello.txt')).toString()).toBe('hi');
    (fromSecret as S3ObjectStore).destroy();
  });

  it('serves gs:// URIs through the interoperability settings', async () => {
    await server.createBucket('mildnet-gcs');
    const env = {
      MILDNET_GCS_ENDPOINT: server.endpoint,
      MILDNET_GCS_REGION: server.region,
      MILDNET_GCS_HMAC_ACCESS_ID: server.accessKeyId,
      MILDNET_GCS_HMAC_SECRET: server.secretAccessKey,
    };

    const gcs = await openStore('gs://mildnet-gcs/data', { env });
    await gcs.put('triplets.csv', 'q.jpg,p.jpg,n.jpg\n');

    expect(gcs.uri).toBe('gs://mildnet-gcs/data/');
    expect((await gcs.list('')).map((object) => object.key)).toEqual(['triplets.csv']);
    expect((await gcs.get('triplets.csv')).toString()).toBe('q.jpg,p.jpg,n.jpg\n');
    (gcs as S3ObjectStore).destroy();
  });
});
