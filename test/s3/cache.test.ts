/**
 * The dataset cache against a real S3 server. A remote prefix with an image
 * archive and triplet CSVs is downloaded once and reused by a new cache
 * instance, as after a restart. Changed objects are downloaded again, and
 * entries are evicted in least-recently-used order past the bound.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import * as yazl from 'yazl';

import { CacheEvent, DatasetCache, FileObjectStore, openStore, S3ObjectStore, StorageConfigError } from '../../trainer/src/storage';
import { S3TestServer, startS3Server } from './server';
import { describeWithS3 } from './support';

jest.setTimeout(60_000);

/** Builds a zip archive in memory with the given files. */
function makeZip(files: Record<string, Buffer | string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, body] of Object.entries(files)) {
    zip.addBuffer(Buffer.isBuffer(body) ? body : Buffer.from(body), name);
  }
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

describeWithS3('DatasetCache against versitygw', () => {
  let server: S3TestServer;
  let bucket: FileObjectStore;
  let cacheRoot: string;
  let clock: number;
  const images = { 'tops/1.jpg': Buffer.alloc(3_000, 1), 'tops/2.jpg': Buffer.alloc(4_000, 2), 'tops/sub/3.jpg': 'three' };

  function newCache(maxBytes: number, events: CacheEvent[] = []): DatasetCache {
    return new DatasetCache({
      cacheDir: cacheRoot,
      maxBytes,
      storeOptions: { env: server.env() },
      onEvent: (event) => events.push(event),
      now: () => ++clock,
    });
  }

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket('mildnet-data');
    bucket = await openStore('s3://mildnet-data', { env: server.env() });
  });

  beforeEach(async () => {
    cacheRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-cache-'));
    clock = 0;
  });

  afterEach(async () => {
    await fs.rm(cacheRoot, { recursive: true, force: true });
  });

  afterAll(async () => {
    (bucket as S3ObjectStore | undefined)?.destroy();
    await server?.dispose();
  });

  it('downloads once, unpacks the archive and reuses it after a restart', async () => {
    await bucket.put('tops/tops.zip', await makeZip(images));
    await bucket.put('tops/tops_train.csv', 'tops/1.jpg,tops/1.jpg,tops/2.jpg\n');
    await bucket.put('tops/tops_val.csv', 'tops/2.jpg,tops/2.jpg,tops/1.jpg\n');
    const firstEvents: CacheEvent[] = [];
    const secondEvents: CacheEvent[] = [];

    const first = await newCache(1_000_000, firstEvents).fetch('s3://mildnet-data/tops');
    const second = await newCache(1_000_000, secondEvents).fetch('s3://mildnet-data/tops/');

    expect(first.downloadedObjects).toBe(3);
    expect(first.localDir).toBe(second.localDir);
    expect(await fs.readFile(path.join(first.localDir, 'tops', '1.jpg'))).toEqual(images['tops/1.jpg']);
    expect(await fs.readFile(path.join(first.localDir, 'tops', 'sub', '3.jpg'), 'utf8')).toBe('three');
    expect(await fs.readFile(path.join(first.localDir, 'tops_train.csv'), 'utf8')).toBe('tops/1.jpg,tops/1.jpg,tops/2.jpg\n');
    await expect(fs.access(path.join(first.localDir, 'tops.zip'))).rejects.toThrow();
    expect(firstEvents.filter((event) => event.type === 'unpack')).toEqual([
      { type: 'unpack', uri: 's3://mildnet-data/tops/', key: 'tops.zip', files: 3, sizeBytes: 7_005 },
    ]);
    expect(second.downloadedObjects).toBe(0);
    expect(second.downloadedBytes).toBe(0);
    expect(second.reusedObjects).toBe(3);
    expect(secondEvents.filter((event) => event.type === 'download')).toEqual([]);
    expect(second.sizeBytes).toBe(7_005 + 66);
  });

  it('downloads again only the objects that changed or vanished', async () => {
    await bucket.put('changing/a.csv', 'a,a,b\n');
    await bucket.put('changing/b.csv', 'b,b,a\n');
    await bucket.put('changing/c.csv', 'c,c,a\n');
    await newCache(1_000_000).fetch('s3://mildnet-data/changing');

    await bucket.put('changing/a.csv', 'a,a,c\n'); // same size, new ETag
    await bucket.delete('changing/c.csv');
    const events: CacheEvent[] = [];
    const refreshed = await newCache(1_000_000, events).fetch('s3://mildnet-data/changing');

    expect(refreshed.downloadedObjects).toBe(1);
    expect(refreshed.reusedObjects).toBe(1);
    expect(await fs.readFile(path.join(refreshed.localDir, 'a.csv'), 'utf8')).toBe('a,a,c\n');
    expect(events).toContainEqual({ type: 'remove', uri: 's3://mildnet-data/changing/', key: 'c.csv' });
    await expect(fs.access(path.join(refreshed.localDir, 'c.csv'))).rejects.toThrow();
  });

  it('downloads again a file deleted from the cache', async () => {
    await bucket.put('tampered/a.csv', 'x,y,z\n');
    const first = await newCache(1_000_000).fetch('s3://mildnet-data/tampered');
    await fs.rm(path.join(first.localDir, 'a.csv'));

    const second = await newCache(1_000_000).fetch('s3://mildnet-data/tampered');

    expect(second.downloadedObjects).toBe(1);
    expect(await fs.readFile(path.join(second.localDir, 'a.csv'), 'utf8')).toBe('x,y,z\n');
  });

  it('evicts the least recently used entries past the bound', async () => {
    for (const name of ['one', 'two', 'three']) {
      await bucket.put(`lru/${name}/images.bin`, Buffer.alloc(400, 1));
    }
    const events: CacheEvent[] = [];
    const cache = newCache(1_000, events);

    await cache.fetch('s3://mildnet-data/lru/one');
    await cache.fetch('s3://mildnet-data/lru/two');
    await cache.fetch('s3://mildnet-data/lru/one'); // now "two" is the least recently used
    await cache.fetch('s3://mildnet-data/lru/three');
    const usage = await cache.usage();

    expect(events.filter((event) => event.type === 'evict')).toEqual([
      { type: 'evict', uri: 's3://mildnet-data/lru/two/', sizeBytes: 400 },
    ]);
    expect(usage.entries.map((entry) => entry.uri)).toEqual(['s3://mildnet-data/lru/one/', 's3://mildnet-data/lru/three/']);
    expect(usage.totalBytes).toBe(800);
  });

  it('rejects a dataset larger than the bound before downloading', async () => {
    await bucket.put('huge/blob.bin', Buffer.alloc(2_000, 1));

    const failure = newCache(1_000).fetch('s3://mildnet-data/huge');

    await expect(failure).rejects.toBeInstanceOf(StorageConfigError);
    await expect(newCache(1_000).fetch('s3://mildnet-data/huge')).rejects.toThrow('more than the cache bound of 1000 bytes');
    expect((await newCache(1_000).usage()).totalBytes).toBe(0);
  });

  it('fetches only the included keys', async () => {
    await bucket.put('subset/tops.zip', await makeZip({ 'tops/a.jpg': 'a' }));
    await bucket.put('subset/tops_cropped.zip', await makeZip({ 'tops_cropped/a.jpg': 'a' }));
    await bucket.put('subset/tops_cropped_train.csv', 'x\n');

    const fetched = await newCache(1_000_000).fetch('s3://mildnet-data/subset', {
      include: (key) => key.startsWith('tops_cropped'),
    });

    expect(fetched.downloadedObjects).toBe(2);
    expect(await fs.readFile(path.join(fetched.localDir, 'tops_cropped', 'a.jpg'), 'utf8')).toBe('a');
    await expect(fs.access(path.join(fetched.localDir, 'tops'))).rejects.toThrow();
  });

  it('returns local paths as they are', async () => {
    const fetched = await newCache(1_000).fetch(cacheRoot);

    expect(fetched.localDir).toBe(cacheRoot);
    expect(fetched.downloadedObjects).toBe(0);
  });
});
