import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { LocalObjectStore, PARTIAL_FILE_MARKER, writeFileAtomically } from '../../src/storage/local';
import { ObjectNotFoundError } from '../../src/storage/object-store';

describe('LocalObjectStore', () => {
  let root: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-local-'));
    store = new LocalObjectStore(path.join(root, 'job'));
  });

  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('round-trips objects in nested folders', async () => {
    const info = await store.put('ckpt/epoch-1/weights.bin', Buffer.from([1, 2, 3]));

    expect(info.sizeBytes).toBe(3);
    expect([...(await store.get('ckpt/epoch-1/weights.bin'))]).toEqual([1, 2, 3]);
    expect(await fs.readFile(path.join(root, 'job', 'ckpt', 'epoch-1', 'weights.bin'))).toEqual(Buffer.from([1, 2, 3]));
  });

  it('lists recursively by prefix in byte order', async () => {
    for (const key of ['b/2.txt', 'a/1.txt', 'a/10.txt', 'a/sub/3.txt', 'ab.txt', 'a/Z.txt']) {
      await store.put(key, key);
    }

    expect((await store.list('')).map((object) => object.key)).toEqual([
      'a/1.txt',
      'a/10.txt',
      'a/Z.txt',
      'a/sub/3.txt',
      'ab.txt',
      'b/2.txt',
    ]);
    expect((await store.list('a/')).map((object) => object.key)).toEqual(['a/1.txt', 'a/10.txt', 'a/Z.txt', 'a/sub/3.txt']);
    expect((await store.list('a/1')).map((object) => object.key)).toEqual(['a/1.txt', 'a/10.txt']);
    expect(await store.list('missing/')).toEqual([]);
  });

  it('reports missing objects', async () => {
    await store.put('dir/file.txt', 'x');

    await expect(store.get('nothing.txt')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.get('dir')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await store.head('nothing.txt')).toBeUndefined();
    expect(await store.head('dir')).toBeUndefined();
  });

  it('deletes objects and their emptied folders', async () => {
    await store.put('a/b/c.txt', 'x');

    await store.delete('a/b/c.txt');
    await store.delete('a/b/c.txt');

    expect(await store.head('a/b/c.txt')).toBeUndefined();
    await expect(fs.access(path.join(root, 'job', 'a'))).rejects.toThrow();
    await expect(fs.access(path.join(root, 'job'))).resolves.toBeUndefined();
  });

  it('copies files in and out', async () => {
    const source = path.join(root, 'source.bin');
    await fs.writeFile(source, Buffer.alloc(70_000, 7));

    await store.putFile('model/final.bin', source);
    const info = await store.getToFile('model/final.bin', path.join(root, 'out', 'copy.bin'));

    expect(info.sizeBytes).toBe(70_000);
    expect(await fs.readFile(path.join(root, 'out', 'copy.bin'))).toEqual(Buffer.alloc(70_000, 7));
  });

  it('rejects keys that leave the root', async () => {
    await expect(store.put('../outside.txt', 'x')).rejects.toThrow('".." path segment');
    await expect(store.put('a//b', 'x')).rejects.toThrow('empty');
    await expect(store.get('/etc/passwd')).rejects.toThrow('starts with "/"');
    await expect(store.put(`a${PARTIAL_FILE_MARKER}1`, 'x')).rejects.toThrow('marks temporary files');
  });

  it('keeps the old body when a write fails midway', async () => {
    await store.put('manifest.json', '{"epoch":1}');
    const target = path.join(root, 'job', 'manifest.json');

    const failing = writeFileAtomically(target, async (handle) => {
      await handle.writeFile('{"epoch":2,"trunc');
      throw new Error('disk full');
    });

    await expect(failing).rejects.toThrow('disk full');
    expect((await store.get('manifest.json')).toString()).toBe('{"epoch":1}');
    expect(await fs.readdir(path.join(root, 'job'))).toEqual(['manifest.json']);
  });

  it('never shows a partial body to concurrent readers', async () => {
    const small = Buffer.alloc(1_000, 1);
    const large = Buffer.alloc(4 * 1024 * 1024, 2);
    await store.put('weights.bin', small);

    const writes = Promise.all([store.put('weights.bin', large), store.put('weights.bin', small), store.put('weights.bin', large)]);
    const observedSizes = new Set<number>();
    for (let read = 0; read < 30; read++) {
      observedSizes.add((await store.get('weights.bin')).byteLength);
    }
    await writes;

    for (const size of observedSizes) {
      expect([small.byteLength, large.byteLength]).toContain(size);
    }
    expect((await store.list('')).map((object) => object.key)).toEqual(['weights.bin']);
  });

  it('skips temporary files left by a crash when listing', async () => {
    await store.put('a.txt', 'a');
    await fs.writeFile(path.join(root, 'job', `b.txt${PARTIAL_FILE_MARKER}abc`), 'partial');

    expect((await store.list('')).map((object) => object.key)).toEqual(['a.txt']);
  });
});
