import { randomBytes } from 'node:crypto';
import { createReadStream, Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { StorageConfigError } from './errors';
import { compareKeys, validateListPrefix, validateObjectKey } from './keys';
import { FileObjectStore, ObjectInfo, ObjectNotFoundError } from './object-store';

/**
 * Marks the temporary files that atomic writes create next to their target.
 * list() skips them and keys may not contain it.
 */
export const PARTIAL_FILE_MARKER = '.mildnet-partial-';

/**
 * An object store over a local directory, with one file below the root per
 * key. Writes go to a temporary file in the target's directory, which is
 * synced and then renamed over the target. Readers therefore see the old or
 * the new body, and a crash leaves at most a stray temporary file.
 */
export class LocalObjectStore implements FileObjectStore {
  readonly uri: string;

  /** @param rootDir absolute directory; created on the first write. */
  constructor(readonly rootDir: string) {
    if (!path.isAbsolute(rootDir)) {
      throw new StorageConfigError(`Local store root "${rootDir}" is not an absolute path; resolve it first`);
    }
    this.uri = rootDir;
  }

  uriOf(key: string): string {
    return path.join(this.rootDir, ...key.split('/'));
  }

  async put(key: string, body: Buffer | Uint8Array | string): Promise<ObjectInfo> {
    const target = this.pathOf(key);
    await writeFileAtomically(target, async (handle) => {
      await handle.writeFile(body);
    });
    return this.infoOf(key, target);
  }

  async putFile(key: string, localPath: string): Promise<ObjectInfo> {
    const target = this.pathOf(key);
    await writeFileAtomically(target, async (handle) => {
      await writeStreamToHandle(createReadStream(localPath), handle);
    });
    return this.infoOf(key, target);
  }

  async get(key: string): Promise<Buffer> {
    const source = this.pathOf(key);
    try {
      return await fs.readFile(source);
    } catch (error) {
      throw this.translateReadError(error, key);
    }
  }

  async getToFile(key: string, localPath: string): Promise<ObjectInfo> {
    const source = this.pathOf(key);
    try {
      await writeFileAtomically(path.resolve(localPath), async (handle) => {
        await writeStreamToHandle(createReadStream(source), handle);
      });
    } catch (error) {
      throw this.translateReadError(error, key);
    }
    return this.infoOf(key, source);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const target = this.pathOf(key);
    try {
      return await this.infoOf(key, target);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    validateListPrefix(prefix);
    // Only the directory that contains every match is walked.
    const lastSlash = prefix.lastIndexOf('/');
    const baseKey = lastSlash === -1 ? '' : prefix.slice(0, lastSlash);
    const baseDir = baseKey === '' ? this.rootDir : path.join(this.rootDir, ...baseKey.split('/'));

    const found: ObjectInfo[] = [];
    await walk(baseDir, baseKey, async (key, stats) => {
      if (key.startsWith(prefix)) {
        found.push({ key, sizeBytes: stats.size, lastModified: stats.mtime });
      }
    });
    return found.sort((a, b) => compareKeys(a.key, b.key));
  }

  async delete(key: string): Promise<void> {
    const target = this.pathOf(key);
    try {
      await fs.unlink(target);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        return;
      }
      throw error;
    }
    await this.removeEmptyParents(path.dirname(target));
  }

  /** Removes empty directories from dir up to (not including) the root, as a bucket has no directories. */
  private async removeEmptyParents(dir: string): Promise<void> {
    let current = dir;
    while (current.startsWith(this.rootDir + path.sep)) {
      try {
        await fs.rmdir(current);
      } catch {
        return; // not empty, or removed by someone else
      }
      current = path.dirname(current);
    }
  }

  private pathOf(key: string): string {
    validateObjectKey(key);
    if (key.includes(PARTIAL_FILE_MARKER)) {
      throw new StorageConfigError(`Object key "${key}" contains "${PARTIAL_FILE_MARKER}", which marks temporary files`);
    }
    return path.join(this.rootDir, ...key.split('/'));
  }

  private async infoOf(key: string, filePath: string): Promise<ObjectInfo> {
    let stats;
    try {
      stats = await fs.stat(filePath);
    } catch (error) {
      throw this.translateReadError(error, key);
    }
    if (!stats.isFile()) {
      throw new ObjectNotFoundError(this.uriOf(key));
    }
    return { key, sizeBytes: stats.size, lastModified: stats.mtime };
  }

  private translateReadError(error: unknown, key: string): unknown {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'EISDIR') || isErrno(error, 'ENOTDIR')) {
      return new ObjectNotFoundError(this.uriOf(key), { cause: error });
    }
    return error;
  }
}

/**
 * Writes target through a temporary file in the same directory: write, fsync,
 * rename, then fsync the directory so that the rename survives a power loss.
 * The temporary file is removed when writing fails.
 */
export async function writeFileAtomically(
  target: string,
  write: (handle: fs.FileHandle) => Promise<void>,
): Promise<void> {
  const dir = path.dirname(target);
  await fs.mkdir(dir, { recursive: true });
  const temporary = path.join(dir, `${path.basename(target)}${PARTIAL_FILE_MARKER}${randomBytes(6).toString('hex')}`);

  const handle = await fs.open(temporary, 'wx');
  try {
    await write(handle);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await handle.close();

  try {
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/**
 * Writes every chunk of source to handle and returns the number of bytes.
 * The handle stays open, so that the caller can sync and close it.
 */
export async function writeStreamToHandle(source: AsyncIterable<Uint8Array | string>, handle: fs.FileHandle): Promise<number> {
  let written = 0;
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    await handle.write(bytes);
    written += bytes.byteLength;
  }
  return written;
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems do not allow syncing a directory; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}

async function walk(
  dir: string,
  keyOfDir: string,
  visit: (key: string, stats: Stats) => Promise<void>,
): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) {
      return;
    }
    throw error;
  }
  for (const entry of entries) {
    if (entry.name.includes(PARTIAL_FILE_MARKER)) {
      continue;
    }
    const key = keyOfDir === '' ? entry.name : `${keyOfDir}/${entry.name}`;
    const fullPath = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await walk(fullPath, key, visit);
    } else if (entry.isFile()) {
      const stats = await fs.stat(fullPath).catch((error: unknown) => {
        if (isErrno(error, 'ENOENT')) {
          return undefined; // deleted since readdir
        }
        throw error;
      });
      if (stats !== undefined) {
        await visit(key, stats);
      }
    }
  }
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
