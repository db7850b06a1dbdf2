/**
 * A local cache of remote data prefixes (an image archive or folder plus the
 * triplet CSVs). Each URI is mirrored into its own entry directory. A later
 * fetch of the same URI compares each object's size and ETag with the entry's
 * manifest and downloads only what changed. So a restarted trainer with the
 * same cache directory downloads nothing. Zip archives are unpacked into the
 * folder that contains them. When the cache grows past its bound, the least
 * recently used entries are evicted.
 *
 * NOTE: one process at a time per cache directory; there is no file lock.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import * as yauzl from 'yauzl';

import { StorageConfigError, StorageRequestError } from './errors';
import { writeFileAtomically, writeStreamToHandle } from './local';
import { FileObjectStore, ObjectInfo } from './object-store';
import { OpenStoreOptions, openStore, parseStorageUri } from './uri';

export interface DatasetCacheOptions {
  /** Directory that contains the cache entries, created when missing. */
  cacheDir: string;
  /** Bound on the bytes kept on disk (downloads plus unpacked archives), over all entries. */
  maxBytes: number;
  /** Unpack `.zip` objects into the folder that contains them and drop the archive. Default true. */
  unpackArchives?: boolean;
  /** Options for opening remote stores (retry policy, environment). */
  storeOptions?: OpenStoreOptions;
  /** Reports each download, reuse, removal, unpack and eviction, for logs. */
  onEvent?: (event: CacheEvent) => void;
  /** Milliseconds since the epoch, for the least-recently-used order. Default Date.now. */
  now?: () => number;
}

export type CacheEvent =
  | { type: 'download'; uri: string; key: string; sizeBytes: number }
  | { type: 'reuse'; uri: string; key: string; sizeBytes: number }
  | { type: 'remove'; uri: string; key: string }
  | { type: 'unpack'; uri: string; key: string; files: number; sizeBytes: number }
  | { type: 'evict'; uri: string; sizeBytes: number };

export interface FetchOptions {
  /** Fetches only the keys (relative to the URI) for which this returns true. Default: all. */
  include?: (key: string) => boolean;
}

/** The result of a fetch: where the data is and what it cost. */
export interface CachedDataset {
  uri: string;
  /** Local directory that mirrors the URI, with archives unpacked. */
  localDir: string;
  downloadedObjects: number;
  downloadedBytes: number;
  reusedObjects: number;
  /** Bytes the entry takes on disk. */
  sizeBytes: number;
}

interface CachedObject {
  sizeBytes: number;
  etag?: string;
  lastModified?: string;
  /** Files below the entry's data directory that this object produced. */
  files: string[];
  diskBytes: number;
}

interface EntryManifest {
  version: 1;
  uri: string;
  lastUsedAt: number;
  sizeBytes: number;
  objects: Record<string, CachedObject>;
}

const MANIFEST_FILE = 'manifest.json';
const DATA_DIR = 'data';
/** The manifest is rewritten after this many downloads, so a crash loses little tracking. */
const MANIFEST_FLUSH_INTERVAL = 500;

export class DatasetCache {
  private readonly entriesDir: string;
  private readonly now: () => number;

  constructor(private readonly options: DatasetCacheOptions) {
    if (!Number.isFinite(options.maxBytes) || options.maxBytes <= 0) {
      throw new RangeError(`maxBytes is ${options.maxBytes}; expected a positive number of bytes`);
    }
    this.entriesDir = path.join(path.resolve(options.cacheDir), 'entries');
    this.now = options.now ?? Date.now;
  }

  /**
   * Makes the data under uri available locally and returns its directory.
   * Local URIs are returned as they are, without copying. Rejects with a
   * StorageConfigError when the listed objects alone exceed maxBytes.
   */
  async fetch(uri: string, fetchOptions: FetchOptions = {}): Promise<CachedDataset> {
    const location = parseStorageUri(uri, this.options.storeOptions?.field);
    if (location.scheme === 'file') {
      return { uri, localDir: location.path, downloadedObjects: 0, downloadedBytes: 0, reusedObjects: 0, sizeBytes: 0 };
    }

    const store = await openStore(uri, this.options.storeOptions);
    const include = fetchOptions.include ?? (() => true);
    const remote = await store.list('');
    const listed = remote.filter((object) => include(object.key));
    const listedBytes = listed.reduce((sum, object) => sum + object.sizeBytes, 0);
    if (listedBytes > this.options.maxBytes) {
      throw new StorageConfigError(
        `The data at ${store.uri} is ${listedBytes} bytes, more than the cache bound of ${this.options.maxBytes} bytes; raise the cache size or fetch fewer objects`,
      );
    }

    const entryDir = path.join(this.entriesDir, entryId(store.uri));
    const dataDir = path.join(entryDir, DATA_DIR);
    const manifest = (await readManifest(entryDir)) ?? emptyManifest(store.uri);
    manifest.lastUsedAt = this.now();
    await writeManifest(entryDir, manifest);

    const result: CachedDataset = {
      uri: store.uri,
      localDir: dataDir,
      downloadedObjects: 0,
      downloadedBytes: 0,
      reusedObjects: 0,
      sizeBytes: 0,
    };
    await this.removeVanishedObjects(store.uri, dataDir, manifest, new Set(remote.map((object) => object.key)));

    for (const object of listed) {
      const cached = manifest.objects[object.key];
      if (cached !== undefined && isSameVersion(cached, object) && (await filesPresent(dataDir, cached))) {
        result.reusedObjects++;
        this.options.onEvent?.({ type: 'reuse', uri: store.uri, key: object.key, sizeBytes: object.sizeBytes });
        continue;
      }
      if (cached !== undefined) {
        await removeFiles(dataDir, cached.files);
        delete manifest.objects[object.key];
      }
      manifest.objects[object.key] = await this.download(store, dataDir, object);
      result.downloadedObjects++;
      result.downloadedBytes += object.sizeBytes;
      if (result.downloadedObjects % MANIFEST_FLUSH_INTERVAL === 0) {
        await writeManifest(entryDir, withSize(manifest));
      }
    }

    await writeManifest(entryDir, withSize(manifest));
    result.sizeBytes = manifest.sizeBytes;
    await this.evictExcept(entryDir);
    return result;
  }

  /** Lists the cache's entries, least recently used first, with the total bytes. */
  async usage(): Promise<{ entries: Array<{ uri: string; sizeBytes: number; lastUsedAt: number }>; totalBytes: number }> {
    const entries = await this.readEntries();
    return {
      entries: entries.map(({ uri, sizeBytes, lastUsedAt }) => ({ uri, sizeBytes, lastUsedAt })),
      totalBytes: entries.reduce((sum, entry) => sum + entry.sizeBytes, 0),
    };
  }

  private async download(store: FileObjectStore, dataDir: string, object: ObjectInfo): Promise<CachedObject> {
    const target = path.join(dataDir, ...object.key.split('/'));
    const fetched = await store.getToFile(object.key, target);
    if (fetched.sizeBytes !== object.sizeBytes || (object.etag !== undefined && fetched.etag !== object.etag)) {
      await fs.rm(target, { force: true });
      throw new StorageRequestError({
        message: `${store.uriOf(object.key)} changed while it was downloaded (listed ${object.sizeBytes} bytes, ETag ${object.etag}; received ${fetched.sizeBytes} bytes, ETag ${fetched.etag}); fetch again once writers have finished`,
        code: 'ObjectChanged',
        uri: store.uriOf(object.key),
        transient: true,
        attempts: 1,
      });
    }
    this.options.onEvent?.({ type: 'download', uri: store.uri, key: object.key, sizeBytes: object.sizeBytes });

    const version = {
      sizeBytes: object.sizeBytes,
      etag: object.etag,
      lastModified: object.lastModified?.toISOString(),
    };
    if ((this.options.unpackArchives ?? true) && object.key.toLowerCase().endsWith('.zip')) {
      const unpacked = await unpackZip(target, path.dirname(target), dataDir);
      await fs.rm(target, { force: true });
      this.options.onEvent?.({
        type: 'unpack',
        uri: store.uri,
        key: object.key,
        files: unpacked.files.length,
        sizeBytes: unpacked.sizeBytes,
      });
      return { ...version, files: unpacked.files, diskBytes: unpacked.sizeBytes };
    }
    return { ...version, files: [object.key], diskBytes: object.sizeBytes };
  }

  private async removeVanishedObjects(
    uri: string,
    dataDir: string,
    manifest: EntryManifest,
    remoteKeys: ReadonlySet<string>,
  ): Promise<void> {
    for (const [key, cached] of Object.entries(manifest.objects)) {
      if (!remoteKeys.has(key)) {
        await removeFiles(dataDir, cached.files);
        delete manifest.objects[key];
        this.options.onEvent?.({ type: 'remove', uri, key });
      }
    }
  }

  /** Deletes the least recently used entries, never keepDir, until the total fits maxBytes. */
  private async evictExcept(keepDir: string): Promise<void> {
    const entries = await this.readEntries();
    let total = entries.reduce((sum, entry) => sum + entry.sizeBytes, 0);
    for (const entry of entries) {
      if (total <= this.options.maxBytes) {
        return;
      }
      if (entry.dir === keepDir) {
        continue;
      }
      await fs.rm(entry.dir, { recursive: true, force: true });
      total -= entry.sizeBytes;
      this.options.onEvent?.({ type: 'evict', uri: entry.uri, sizeBytes: entry.sizeBytes });
    }
  }

  /** Reads every entry, least recently used first. An entry without a manifest sorts first. */
  private async readEntries(): Promise<Array<{ dir: string; uri: string; sizeBytes: number; lastUsedAt: number }>> {
    let names: string[];
    try {
      names = await fs.readdir(this.entriesDir);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') {
        return [];
      }
      throw error;
    }
    const entries = [];
    for (const name of names) {
      const dir = path.join(this.entriesDir, name);
      const manifest = await readManifest(dir);
      entries.push(
        manifest !== undefined
          ? { dir, uri: manifest.uri, sizeBytes: manifest.sizeBytes, lastUsedAt: manifest.lastUsedAt }
          : { dir, uri: `(unreadable entry ${name})`, sizeBytes: await directoryBytes(dir), lastUsedAt: 0 },
      );
    }
    return entries.sort((a, b) => a.lastUsedAt - b.lastUsedAt);
  }
}

function entryId(uri: string): string {
  return createHash('sha256').update(uri).digest('hex').slice(0, 24);
}

function emptyManifest(uri: string): EntryManifest {
  return { version: 1, uri, lastUsedAt: 0, sizeBytes: 0, objects: {} };
}

function withSize(manifest: EntryManifest): EntryManifest {
  manifest.sizeBytes = Object.values(manifest.objects).reduce((sum, object) => sum + object.diskBytes, 0);
  return manifest;
}

function isSameVersion(cached: CachedObject, listed: ObjectInfo): boolean {
  if (cached.sizeBytes !== listed.sizeBytes) {
    return false;
  }
  if (listed.etag !== undefined || cached.etag !== undefined) {
    return cached.etag === listed.etag;
  }
  return cached.lastModified === listed.lastModified?.toISOString();
}

async function filesPresent(dataDir: string, cached: CachedObject): Promise<boolean> {
  for (const file of cached.files) {
    try {
      await fs.access(path.join(dataDir, ...file.split('/')));
    } catch {
      return false;
    }
  }
  return true;
}

async function removeFiles(dataDir: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    await fs.rm(path.join(dataDir, ...file.split('/')), { force: true });
  }
}

async function readManifest(entryDir: string): Promise<EntryManifest | undefined> {
  try {
    const manifest = JSON.parse(await fs.readFile(path.join(entryDir, MANIFEST_FILE), 'utf8')) as EntryManifest;
    return manifest.version === 1 && typeof manifest.uri === 'string' ? manifest : undefined;
  } catch {
    return undefined; // missing or corrupt: the entry is rebuilt
  }
}

async function writeManifest(entryDir: string, manifest: EntryManifest): Promise<void> {
  await writeFileAtomically(path.join(entryDir, MANIFEST_FILE), async (handle) => {
    await handle.writeFile(JSON.stringify(manifest));
  });
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const entryPath = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      total += await directoryBytes(entryPath);
    } else if (entry.isFile()) {
      total += (await fs.stat(entryPath)).size;
    }
  }
  return total;
}

/**
 * Unpacks the zip file into targetDir and returns the files it wrote, as
 * paths relative to dataDir. Entries whose path is absolute or leaves
 * targetDir are rejected.
 */
export async function unpackZip(
  zipPath: string,
  targetDir: string,
  dataDir: string,
): Promise<{ files: string[]; sizeBytes: number }> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true, autoClose: true }, (error, opened) =>
      error ? reject(error) : resolve(opened),
    );
  });

  const files: string[] = [];
  let sizeBytes = 0;
  const root = path.resolve(targetDir);
  await new Promise<void>((resolve, reject) => {
    const fail = (error: unknown): void => {
      zip.close();
      reject(error);
    };
    zip.on('error', fail);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      const destination = path.resolve(root, ...entry.fileName.split('/'));
      if (destination !== root && !destination.startsWith(root + path.sep)) {
        fail(new StorageConfigError(`Zip archive ${zipPath} has the entry "${entry.fileName}" outside its folder`));
        return;
      }
      if (entry.fileName.endsWith('/')) {
        zip.readEntry(); // a directory entry; directories are created with their files
        return;
      }
      zip.openReadStream(entry, (error, stream) => {
        if (error) {
          fail(error);
          return;
        }
        writeFileAtomically(destination, async (handle) => {
          await writeStreamToHandle(stream, handle);
        }).then(() => {
          files.push(path.relative(dataDir, destination).split(path.sep).join('/'));
          sizeBytes += entry.uncompressedSize;
          zip.readEntry();
        }, fail);
      });
    });
    zip.readEntry();
  });
  return { files, sizeBytes };
}
