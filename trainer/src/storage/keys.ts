import { StorageConfigError } from './errors';

/**
 * Throws a StorageConfigError unless key is a valid object key: non-empty,
 * forward slashes only, no leading slash, and no empty, `.` or `..`
 * segment. The same rule holds for every backend, so a key that works on a
 * local disk also works in a bucket and cannot escape the store's root.
 */
export function validateObjectKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new StorageConfigError('Object key is empty; pass a relative key such as "checkpoints/epoch-1/manifest.json"');
  }
  if (key.includes('\\')) {
    throw new StorageConfigError(`Object key "${key}" contains a backslash; use forward slashes`);
  }
  if (key.includes('\0')) {
    throw new StorageConfigError('Object key contains a NUL character');
  }
  if (key.startsWith('/')) {
    throw new StorageConfigError(`Object key "${key}" starts with "/"; keys are relative to the store's root`);
  }
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new StorageConfigError(
        `Object key "${key}" has an empty, "." or ".." path segment; use a normalized relative key`,
      );
    }
  }
}

/**
 * Throws a StorageConfigError unless prefix is a valid listing prefix: empty,
 * or a key prefix without a leading slash, backslash or `..` segment. A
 * prefix may end with "/" and may stop in the middle of a segment.
 */
export function validateListPrefix(prefix: string): void {
  if (prefix === '') {
    return;
  }
  if (prefix.includes('\\') || prefix.startsWith('/') || prefix.includes('\0')) {
    throw new StorageConfigError(
      `List prefix "${prefix}" is invalid; use a relative prefix with forward slashes and no leading "/"`,
    );
  }
  const segments = prefix.split('/');
  // The last segment may be partial or empty (a trailing slash).
  for (const segment of segments.slice(0, -1)) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new StorageConfigError(`List prefix "${prefix}" has an empty, "." or ".." path segment`);
    }
  }
}

/** Compares keys by their UTF-8 bytes, the order in which S3 lists keys. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
