import * as path from 'node:path';

import { StorageConfigError } from '../../src/storage/errors';
import { GcsObjectStore } from '../../src/storage/gcs-store';
import { LocalObjectStore } from '../../src/storage/local';
import { S3ObjectStore } from '../../src/storage/s3';
import { formatStorageUri, openStore, parseStorageUri } from '../../src/storage/uri';

describe('parseStorageUri', () => {
  it('resolves plain paths against the working directory', () => {
    expect(parseStorageUri('jobs/run-1')).toEqual({ scheme: 'file', path: path.resolve('jobs/run-1') });
    expect(parseStorageUri('/data/mildnet')).toEqual({ scheme: 'file', path: '/data/mildnet' });
  });

  it('parses file URIs', () => {
    expect(parseStorageUri('file:///data/mild%20net')).toEqual({ scheme: 'file', path: '/data/mild net' });
    expect(parseStorageUri('file://localhost/data')).toEqual({ scheme: 'file', path: '/data' });
  });

  it('parses bucket URIs and normalizes the prefix', () => {
    expect(parseStorageUri('s3://my-bucket')).toEqual({ scheme: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseStorageUri('s3://my-bucket/')).toEqual({ scheme: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseStorageUri('s3://my-bucket/jobs/run-1')).toEqual({ scheme: 's3', bucket: 'my-bucket', prefix: 'jobs/run-1/' });
    expect(parseStorageUri('S3://my.bucket/a/')).toEqual({ scheme: 's3', bucket: 'my.bucket', prefix: 'a/' });
    expect(parseStorageUri('gs://fynd_open-source/research/MILDNet/')).toEqual({
      scheme: 'gs',
      bucket: 'fynd_open-source',
      prefix: 'research/MILDNet/',
    });
  });

  it.each([
    ['', 'data.uri is empty'],
    ['hdfs://cluster/data', 'unsupported scheme "hdfs://"'],
    ['s3://', 'has no bucket name'],
    ['s3://My_Bucket/x', 'invalid bucket name "My_Bucket"'],
    ['s3://ab/x', 'invalid bucket name "ab"'],
    ['s3://bucket//x', 'empty, "." or ".." path segment'],
    ['s3://bucket/a/../b', 'empty, "." or ".." path segment'],
    ['s3://bucket/x?versionId=1', 'query or fragment'],
    ['file://server/share', 'file URIs must be local'],
  ])('rejects %j', (uri, message) => {
    expect(() => parseStorageUri(uri, 'data.uri')).toThrow(StorageConfigError);
    expect(() => parseStorageUri(uri, 'data.uri')).toThrow(message);
  });

  it('names the config field in errors', () => {
    expect(() => parseStorageUri('ftp://x/y', 'train.jobDir')).toThrow(/^train\.jobDir "ftp:\/\/x\/y"/);
  });

  it('rejects credentials in a URI without echoing them', () => {
    let message = '';
    try {
      parseStorageUri('s3://AKIAEXAMPLE:topsecretvalue@bucket/x', 'data.uri');
    } catch (error) {
      message = (error as Error).message;
    }

    expect(message).toContain('contains credentials');
    expect(message).toContain('AWS_ACCESS_KEY_ID');
    expect(message).not.toContain('topsecretvalue');
    expect(message).not.toContain('AKIAEXAMPLE');
  });

  it('points gs:// URIs with credentials at Workload Identity', () => {
    expect(() => parseStorageUri('gs://key:secret@bucket/x', 'data.uri')).toThrow(
      'remove them from the URI and use Workload Identity or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file',
    );
  });
});

describe('formatStorageUri', () => {
  it('joins keys to bucket and file locations', () => {
    expect(formatStorageUri({ scheme: 's3', bucket: 'b-1', prefix: 'p/' }, 'k/v.json')).toBe('s3://b-1/p/k/v.json');
    expect(formatStorageUri({ scheme: 'file', path: '/data' }, 'k/v.json')).toBe('/data/k/v.json');
  });
});

describe('openStore', () => {
  it('opens a local store for paths', async () => {
    const store = await openStore('/tmp/mildnet-open-store', { env: {} });

    expect(store).toBeInstanceOf(LocalObjectStore);
    expect(store.uri).toBe('/tmp/mildnet-open-store');
  });

  it('rejects a malformed endpoint before any request', async () => {
    await expect(openStore('s3://bucket/x', { env: { AWS_ENDPOINT_URL_S3: 'localhost:9000' } })).rejects.toThrow(
      'AWS_ENDPOINT_URL_S3 "localhost:9000" uses "localhost:"',
    );
    await expect(openStore('s3://bucket/x', { env: { AWS_ENDPOINT_URL_S3: 'http//nohost' } })).rejects.toThrow(
      'is not a valid URL',
    );
  });

  it('opens the JSON API store for gs:// URIs', async () => {
    const store = await openStore('gs://bucket/x', { env: { STORAGE_EMULATOR_HOST: 'http://127.0.0.1:4443' } });

    expect(store).toBeInstanceOf(GcsObjectStore);
    expect(store.uri).toBe('gs://bucket/x/');
  });

  it('opens the S3 store for gs:// URIs when HMAC keys are set', async () => {
    const store = await openStore('gs://bucket/x', {
      env: { MILDNET_GCS_HMAC_ACCESS_ID: 'GOOG1EXAMPLE', MILDNET_GCS_HMAC_SECRET: 'secret-value' },
    });

    expect(store).toBeInstanceOf(S3ObjectStore);
    expect(store.uri).toBe('gs://bucket/x/');
    (store as S3ObjectStore).destroy();
  });
});
