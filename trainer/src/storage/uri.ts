import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { StorageConfigError } from './errors';
import { openGcsStore } from './gcs';
import { GcsStoreArgs } from './gcs-store';
import { LocalObjectStore } from './local';
import { FileObjectStore } from './object-store';
import { S3ObjectStore, S3StoreArgs } from './s3';
import { resolveS3Settings } from './s3-settings';

/** A parsed storage URI. `prefix` is empty or ends with "/"; `path` is absolute. */
export type StorageLocation =
  | { scheme: 'file'; path: string }
  | { scheme: 's3' | 'gs'; bucket: string; prefix: string };

export const SUPPORTED_URI_FORMS =
  'a local path, file:///absolute/path, s3://bucket/prefix or gs://bucket/prefix';

// S3 bucket names: 3 to 63 lowercase letters, digits, dots and hyphens,
// starting and ending with a letter or digit.
const S3_BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// Cloud Storage also allows underscores, and up to 222 characters when the
// name contains dots.
const GCS_BUCKET_PATTERN = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * Parses a storage URI: a plain path (resolved against the working
 * directory), `file://`, `s3://bucket/prefix` or `gs://bucket/prefix`.
 * Throws a StorageConfigError that names `field` (the config field the URI
 * came from) and the accepted forms. Credentials inside the URI are rejected
 * and never echoed.
 */
export function parseStorageUri(uri: string, field = 'uri'): StorageLocation {
  if (typeof uri !== 'string' || uri.trim() === '') {
    throw new StorageConfigError(`${field} is empty; expected ${SUPPORTED_URI_FORMS}`);
  }

  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri);
  if (!schemeMatch) {
    return { scheme: 'file', path: path.resolve(uri) };
  }

  const scheme = schemeMatch[1].toLowerCase();
  if (scheme === 'file') {
    return { scheme: 'file', path: parseFileUri(uri, field) };
  }
  if (scheme === 's3' || scheme === 'gs') {
    return parseBucketUri(scheme, uri.slice(schemeMatch[0].length), field);
  }
  throw new StorageConfigError(
    `${field} "${redactUserInfo(uri)}" has the unsupported scheme "${scheme}://"; expected ${SUPPORTED_URI_FORMS}`,
  );
}

function parseFileUri(uri: string, field: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new StorageConfigError(`${field} "${uri}" is not a valid file URI; expected file:///absolute/path`);
  }
  if (url.host !== '' && url.host !== 'localhost') {
    throw new StorageConfigError(
      `${field} "${uri}" names the host "${url.host}"; file URIs must be local: file:///absolute/path`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new StorageConfigError(`${field} "${uri}" has a query or fragment; remove the part after "?" or "#"`);
  }
  return fileURLToPath(url);
}

function parseBucketUri(scheme: 's3' | 'gs', rest: string, field: string): StorageLocation {
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const pathPart = slash === -1 ? '' : rest.slice(slash + 1);
  const shown = `${scheme}://${rest.includes('@') ? '[redacted]@' + rest.slice(rest.lastIndexOf('@') + 1) : rest}`;

  if (authority.includes('@')) {
    const fix =
      scheme === 's3'
        ? 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or mount a credentials Secret'
        : 'use Workload Identity or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file';
    throw new StorageConfigError(`${field} "${shown}" contains credentials before "@"; remove them from the URI and ${fix}`);
  }
  if (rest.includes('?') || rest.includes('#')) {
    throw new StorageConfigError(`${field} "${shown}" has a query or fragment; remove the part after "?" or "#"`);
  }

  const pattern = scheme === 's3' ? S3_BUCKET_PATTERN : GCS_BUCKET_PATTERN;
  if (!pattern.test(authority)) {
    const rule =
      scheme === 's3'
        ? '3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit'
        : '3 to 222 lowercase letters, digits, dots, hyphens or underscores, starting and ending with a letter or digit';
    const reason = authority === '' ? 'has no bucket name' : `has the invalid bucket name "${authority}"`;
    throw new StorageConfigError(`${field} "${shown}" ${reason}; a bucket name is ${rule}`);
  }

  const trimmed = pathPart.replace(/\/+$/, '');
  if (trimmed !== '') {
    for (const segment of trimmed.split('/')) {
      if (segment === '' || segment === '.' || segment === '..') {
        throw new StorageConfigError(
          `${field} "${shown}" has an empty, "." or ".." path segment; write the prefix as ${scheme}://${authority}/a/b`,
        );
      }
    }
  }
  return { scheme, bucket: authority, prefix: trimmed === '' ? '' : `${trimmed}/` };
}

function redactUserInfo(uri: string): string {
  return uri.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@]*@/, '$1[redacted]@');
}

/** Formats a location, and optionally a key inside it, back into a URI. */
export function formatStorageUri(location: StorageLocation, key = ''): string {
  if (location.scheme === 'file') {
    return key === '' ? location.path : path.join(location.path, ...key.split('/'));
  }
  return `${location.scheme}://${location.bucket}/${location.prefix}${key}`;
}

/** Returns true when the URI points at the local file system. */
export function isLocalUri(uri: string): boolean {
  return parseStorageUri(uri).scheme === 'file';
}

/** Options of every backend. Each backend reads the ones it supports (see S3StoreArgs and GcsStoreArgs). */
export interface OpenStoreOptions extends S3StoreArgs, GcsStoreArgs {
  /** Config field path that the URI came from, named in errors. Default "uri". */
  field?: string;
  /** Environment to read settings and credentials from. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Opens the object store at uri: a LocalObjectStore for plain paths and
 * file:// URIs, an S3ObjectStore for s3:// (settings from the AWS_*
 * variables), and for gs:// a GcsObjectStore (Application Default
 * Credentials, or the emulator at STORAGE_EMULATOR_HOST) unless HMAC keys
 * select the S3 store (see openGcsStore). Nothing is sent to the server until
 * the first operation.
 */
export async function openStore(uri: string, options: OpenStoreOptions = {}): Promise<FileObjectStore> {
  const { field, env = process.env, ...storeArgs } = options;
  const location = parseStorageUri(uri, field);
  switch (location.scheme) {
    case 'file':
      return new LocalObjectStore(location.path);
    case 's3':
      return new S3ObjectStore('s3', location.bucket, location.prefix, await resolveS3Settings(env), storeArgs);
    case 'gs':
      return openGcsStore(location.bucket, location.prefix, storeArgs, env);
  }
}
