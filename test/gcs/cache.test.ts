/**
 * The dataset cache over gs:// against a real Cloud Storage emulator. A
 * remote prefix with an image archive and triplet CSVs is downloaded once
 * and reused by a new cache instance, as after a restart. Changed and
 * vanished objects are found by their ETag, and an archive large enough for
 * a resumable upload comes back intact.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import * as yazl from 'yazl';

import { CacheEvent, DatasetCache, FileObjectStore, openStore } from '../../trainer/src/storage';
import { EgressTrap } from './egress-trap';
import { GcsTestServer } from './server';
import { describeWithGcs, GcsFixture, startGcsFixture } from './support';

const KIB = 1024;
const MIB = 1024 * KIB;

jest.setTimeout(60_000);

/** Builds a zip archive in memory with the given files, stored without compression. */
function makeZip(files: Record<string, Buffer | string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, body] of Object.entries(files)) {
    zip.addBuffer(Buffer.isBuffer(body) ? body : Buffer.from(body), name, { compress: false });
  }
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

describeWithGcs('DatasetCache over gs:// against fake-gcs-server', () => {
  let fixture: GcsFixture;
  let server: GcsTestServer;
  let trap: EgressTrap;
  let bucket: FileObjectStore;
  let cacheRoot: string;
  let clock: number;
  const images = { 'tops/1.jpg': Buffer.alloc(3_000, 1), 'tops/2.jpg': Buffer.alloc(4_000, 2), 'tops/sub/3.jpg': 'three' };

  function newCache(maxBytes: number, events: CacheEvent[] = []): DatasetCache {
    return new DatasetCache({
      cacheDir: cacheRoot,
      maxBytes,
      storeOptions: { env: server.env(), partSizeBytes: 256 * KIB },
      onEvent: (event) => events.push(event),
      now: () => ++clock,
    });
  }

  beforeAll(async () => {
    fixture = await startGcsFixture('mildnet-data');
    ({ server, trap } = fixture);
    bucket = await openStore('gs://mildnet-data', { env: server.env(), partSizeBytes: 256 * KIB });
  });

  beforeEach(async () => {
    cacheRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-gcs-cache-'));
    clock = 0;
  });

  afterEach(async () => {
    await fs.rm(cacheRoot, { recursive: true, force: true });
  });

  afterAll(async () => {
    await fixture?.close();
  });

  it('reuses unpacked download after restart', async () => {
    await bucket.put('tops/tops.zip', await makeZip(images));
    await bucket.put('tops/tops_train.csv', 'tops/1.jpg,tops/1.jpg,tops/2.jpg\n');
    await bucket.put('tops/tops_val.csv', 'tops/2.jpg,tops/2.jpg,tops/1.jpg\n');
    const firstEvents: CacheEvent[] = [];
    const secondEvents: CacheEvent[] = [];

    const first = await newCache(1_000_000, firstEvents).fetch('gs://mildnet-data/tops');
    const second = await newCache(1_000_000, secondEvents).fetch('gs://mildnet-data/tops/');

    expect(first.downloadedObjects).toBe(3);
    expect(first.localDir).toBe(second.localDir);
    expect(await fs.readFile(path.join(first.localDir, 'tops', '1.jpg'))).toEqual(images['tops/1.jpg']);
    expect(await fs.readFile(path.join(first.localDir, 'tops', 'sub', '3.jpg'), 'utf8')).toBe('three');
    expect(await fs.readFile(path.join(first.localDir, 'tops_train.csv'), 'utf8')).toBe('tops/1.jpg,tops/1.jpg,tops/2.jpg\n');
    await expect(fs.access(path.join(first.localDir, 'tops.zip'))).rejects.toThrow();
    expect(firstEvents.filter((event) => event.type === 'unpack')).toEqual([
      { type: 'unpack', uri: 'gs://mildnet-data/tops/', key: 'tops.zip', files: 3, sizeBytes: 7_005 },
    ]);
    expect(second.downloadedObjects).toBe(0);
    expect(second.downloadedBytes).toBe(0);
    expect(second.reusedObjects).toBe(3);
    expect(secondEvents.filter((event) => event.type === 'download')).toEqual([]);
  });

  it('refetches only changed or vanished objects', async () => {
    await bucket.put('changing/a.csv', 'a,a,b\n');
    await bucket.put('changing/b.csv', 'b,b,a\n');
    await bucket.put('changing/c.csv', 'c,c,a\n');
    await newCache(1_000_000).fetch('gs://mildnet-data/changing');

    await bucket.put('changing/a.csv', 'a,a,c\n'); // same size, new ETag
    await bucket.delete('changing/c.csv');
    const events: CacheEvent[] = [];
    const refreshed = await newCache(1_000_000, events).fetch('gs://mildnet-data/changing');

    expect(refreshed.downloadedObjects).toBe(1);
    expect(refreshed.reusedObjects).toBe(1);
    expect(await fs.readFile(path.join(refreshed.localDir, 'a.csv'), 'utf8')).toBe('a,a,c\n');
    expect(events).toContainEqual({ type: 'remove', uri: 'gs://mildnet-data/changing/', key: 'c.csv' });
    await expect(fs.access(path.join(refreshed.localDir, 'c.csv'))).rejects.toThrow();
  });

  it('fetches a resumably uploaded archive', async () => {
    const photo = randomBytes(3 * MIB);
    const archive = await makeZip({ 'shoes/big.jpg': photo, 'shoes/small.jpg': 'small' });
    expect(archive.byteLength).toBeGreaterThan(3 * MIB);
    await bucket.put('shoes/shoes.zip', archive);

    const fetched = await newCache(10 * MIB).fetch('gs://mildnet-data/shoes');

    expect(fetched.downloadedBytes).toBe(archive.byteLength);
    expect((await fs.readFile(path.join(fetched.localDir, 'shoes', 'big.jpg'))).equals(photo)).toBe(true);
    expect(await fs.readFile(path.join(fetched.localDir, 'shoes', 'small.jpg'), 'utf8')).toBe('small');
  });

  it('sends no request outside 127.0.0.1', () => {
    expect(trap.requests()).toEqual([]);
  });
});
