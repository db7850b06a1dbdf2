import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { StorageConfigError } from '../../src/storage/errors';
import { openGcsStore, resolveGcsClientSettings, usesGcsHmacKeys } from '../../src/storage/gcs';
import { classifyGcsError, redactedClientMessage } from '../../src/storage/gcs-errors';
import { GcsObjectStore } from '../../src/storage/gcs-store';
import { withRetry } from '../../src/storage/retry';

describe('resolveGcsClientSettings', () => {
  let workDir: string;

  beforeAll(async () => {
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-gcs-settings-'));
  });

  afterAll(async () => {
    await fs.rm(workDir, { recursive: true, force: true });
  });

  it('uses Application Default Credentials by default', async () => {
    const settings = await resolveGcsClientSettings({});

    expect(settings.endpoint).toBeUndefined();
    expect(settings.keyFilename).toBeUndefined();
    expect(settings.credentialSource).toContain('Application Default Credentials');
  });

  it('takes the emulator endpoint from STORAGE_EMULATOR_HOST', async () => {
    const settings = await resolveGcsClientSettings({ STORAGE_EMULATOR_HOST: 'http://127.0.0.1:4443/' });

    expect(settings.endpoint).toBe('http://127.0.0.1:4443');
    expect(settings.credentialSource).toContain('not authenticated');
  });

  it.each([
    ['127.0.0.1:4443', 'has no scheme; write it as http://127.0.0.1:4443'],
    ['http://127.0.0.1:4443/storage/v1', 'has a path; set only the scheme, host and port'],
    ['ftp://127.0.0.1:4443', 'uses "ftp:"; expected http(s)://host[:port]'],
    ['http://user:pw@127.0.0.1:4443', 'contains credentials before "@"'],
  ])('rejects STORAGE_EMULATOR_HOST %s', async (value, message) => {
    const settings = resolveGcsClientSettings({ STORAGE_EMULATOR_HOST: value });

    await expect(settings).rejects.toBeInstanceOf(StorageConfigError);
    await expect(settings).rejects.toThrow(message);
  });

  it('passes a readable key file on to the client', async () => {
    const keyFile = path.join(workDir, 'key.json');
    await fs.writeFile(keyFile, '{}');

    const settings = await resolveGcsClientSettings({ GOOGLE_APPLICATION_CREDENTIALS: keyFile });

    expect(settings.keyFilename).toBe(keyFile);
    expect(settings.credentialSource).toBe('the service account key file in GOOGLE_APPLICATION_CREDENTIALS');
  });

  it('rejects a missing key file', async () => {
    const missing = path.join(workDir, 'missing.json');

    await expect(resolveGcsClientSettings({ GOOGLE_APPLICATION_CREDENTIALS: missing })).rejects.toThrow(
      `GOOGLE_APPLICATION_CREDENTIALS is "${missing}" but that file is missing or unreadable`,
    );
  });
});

describe('usesGcsHmacKeys', () => {
  it.each([
    [{}, false],
    [{ MILDNET_GCS_HMAC_ACCESS_ID: 'GOOG1' }, true],
    [{ MILDNET_GCS_HMAC_SECRET: 's' }, true],
    [{ MILDNET_GCS_CREDENTIALS_DIR: '/var/run/secrets/gcs' }, true],
    [{ MILDNET_GCS_HMAC_ACCESS_ID: ' ' }, false],
    [{ MILDNET_GCS_ENDPOINT: 'http://127.0.0.1:9000' }, false],
  ])('%j selects HMAC keys: %s', (env, expected) => {
    expect(usesGcsHmacKeys(env)).toBe(expected);
  });
});

describe('openGcsStore', () => {
  it.each(['MILDNET_GCS_ENDPOINT', 'MILDNET_GCS_REGION'])('rejects %s without HMAC keys', async (name) => {
    const opened = openGcsStore('bucket', '', {}, { [name]: 'http://127.0.0.1:4443' });

    await expect(opened).rejects.toBeInstanceOf(StorageConfigError);
    await expect(opened).rejects.toThrow(`${name} is set, but it applies only to the XML API with HMAC keys`);
    await expect(opened).rejects.toThrow('for an emulator set STORAGE_EMULATOR_HOST instead');
  });
});

describe('GcsObjectStore options', () => {
  const settings = { endpoint: 'http://127.0.0.1:4443', credentialSource: 'none' };

  it.each([100, 5 * 1024 * 1024 + 1, 0])('rejects partSizeBytes %d', (partSizeBytes) => {
    expect(() => new GcsObjectStore('bucket', '', settings, { partSizeBytes })).toThrow('a positive multiple of 262144 (256 KiB)');
  });

  it('rejects listPageSize above 1000', () => {
    expect(() => new GcsObjectStore('bucket', '', settings, { listPageSize: 1001 })).toThrow('expected an integer from 1 to 1000');
  });
});

/** Builds an error shaped like the client's ApiError. */
function apiError(status: number, reason?: string): Error {
  return Object.assign(new Error('request failed'), { code: status, errors: reason === undefined ? [] : [{ reason, message: 'x' }] });
}

describe('classifyGcsError', () => {
  it.each([
    [apiError(503), true, 'HttpStatus503', 503],
    [apiError(500, 'backendError'), true, 'backendError', 500],
    [apiError(429, 'rateLimitExceeded'), true, 'rateLimitExceeded', 429],
    [apiError(403, 'rateLimitExceeded'), true, 'rateLimitExceeded', 403],
    [apiError(408), true, 'HttpStatus408', 408],
    [apiError(501), false, 'HttpStatus501', 501],
    [apiError(401, 'required'), false, 'required', 401],
    [apiError(403, 'forbidden'), false, 'forbidden', 403],
    [apiError(404, 'notFound'), false, 'notFound', 404],
    [Object.assign(new Error('Upload failed'), { code: 502, name: 'Upload failed' }), true, 'HttpStatus502', 502],
    [Object.assign(new Error('x'), { status: 503 }), true, 'HttpStatus503', 503],
    [Object.assign(new Error('x'), { response: { status: 400 } }), false, 'HttpStatus400', 400],
  ])('classifies HTTP errors (%#)', (error, transient, code, httpStatus) => {
    expect(classifyGcsError(error)).toEqual({ transient, code, httpStatus });
  });

  it.each([
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), true, 'ECONNREFUSED'],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true, 'ECONNRESET'],
    [Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }), false, 'ENOTFOUND'],
    [Object.assign(new Error('network timeout at: http://127.0.0.1/x'), { type: 'request-timeout' }), true, 'Timeout'],
    [Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }), true, 'Timeout'],
    [Object.assign(new Error('mismatch'), { code: 'CONTENT_DOWNLOAD_MISMATCH' }), true, 'CONTENT_DOWNLOAD_MISMATCH'],
    [new Error('Could not load the default credentials. Browse to https://example.invalid'), false, 'CredentialsNotFound'],
    [new Error('something unexpected'), false, 'UnknownError'],
  ])('classifies client and network errors (%#)', (error, transient, code) => {
    const classification = classifyGcsError(error);

    expect(classification.transient).toBe(transient);
    expect(classification.code).toBe(code);
  });

  it('withRetry retries 503, stops at 403', async () => {
    const sleeps: number[] = [];
    const failures = [apiError(503), apiError(503), apiError(403, 'forbidden')];
    let attempts = 0;

    const outcome = withRetry(
      async () => {
        attempts++;
        throw failures[attempts - 1];
      },
      { classify: classifyGcsError, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
    );

    await expect(outcome).rejects.toMatchObject({ code: 'forbidden', attempts: 3, transient: false });
    expect(sleeps).toEqual([100, 200]);
  });
});

describe('redactedClientMessage', () => {
  it('removes tokens and upload session IDs', () => {
    const message = redactedClientMessage(
      new Error(
        'request to http://h/upload/storage/v1/b/b/o?uploadType=resumable&upload_id=ABCDEF123456 failed with Authorization: Bearer ya29.a0AfH6SMB-secret and access_token=tok123456',
      ),
    );

    expect(message).not.toContain('ABCDEF123456');
    expect(message).not.toContain('ya29.a0AfH6SMB-secret');
    expect(message).not.toContain('tok123456');
    expect(message).toContain('upload_id=[redacted]');
    expect(message).toContain('Bearer [redacted]');
  });

  it('returns undefined for errors without a message', () => {
    expect(redactedClientMessage(new Error(''))).toBeUndefined();
    expect(redactedClientMessage(undefined)).toBeUndefined();
  });
});
