import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { resolveGcsSettings, resolveS3Settings } from '../../src/storage/s3-settings';

describe('resolveS3Settings', () => {
  let secretDir: string;

  beforeEach(async () => {
    secretDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-secret-'));
  });

  afterEach(async () => {
    await fs.rm(secretDir, { recursive: true, force: true });
  });

  it('defaults to AWS in us-east-1 with the SDK credential chain', async () => {
    const settings = await resolveS3Settings({});

    expect(settings.endpoint).toBeUndefined();
    expect(settings.region).toBe('us-east-1');
    expect(settings.forcePathStyle).toBe(false);
    expect(settings.credentials).toBeUndefined();
  });

  it('reads endpoint, region, path style and keys from the environment', async () => {
    const settings = await resolveS3Settings({
      AWS_ENDPOINT_URL: 'http://ignored:1',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000/',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'key-id',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
    });

    expect(settings.endpoint).toBe('http://127.0.0.1:9000');
    expect(settings.region).toBe('eu-west-1');
    expect(settings.forcePathStyle).toBe(true);
    expect(settings.credentials).toEqual({ accessKeyId: 'key-id', secretAccessKey: 'secret', sessionToken: 'token' });
  });

  it('lets AWS_S3_FORCE_PATH_STYLE turn path style off', async () => {
    const settings = await resolveS3Settings({ AWS_ENDPOINT_URL: 'https://s3.example.test', AWS_S3_FORCE_PATH_STYLE: 'false' });

    expect(settings.endpoint).toBe('https://s3.example.test');
    expect(settings.forcePathStyle).toBe(false);
    await expect(resolveS3Settings({ AWS_S3_FORCE_PATH_STYLE: 'yes' })).rejects.toThrow('expected true or false');
  });

  it('prefers the mounted Secret directory and trims newlines', async () => {
    await fs.writeFile(path.join(secretDir, 'access-key-id'), 'dir-key\n');
    await fs.writeFile(path.join(secretDir, 'secret-access-key'), 'dir-secret\n');

    const settings = await resolveS3Settings({
      MILDNET_S3_CREDENTIALS_DIR: secretDir,
      AWS_ACCESS_KEY_ID: 'env-key',
      AWS_SECRET_ACCESS_KEY: 'env-secret',
    });

    expect(settings.credentials).toEqual({ accessKeyId: 'dir-key', secretAccessKey: 'dir-secret' });
    expect(settings.credentialSource).toBe('files in MILDNET_S3_CREDENTIALS_DIR');
  });

  it('names the missing Secret file without its contents', async () => {
    await fs.writeFile(path.join(secretDir, 'access-key-id'), 'dir-key-value');

    const failure = resolveS3Settings({ MILDNET_S3_CREDENTIALS_DIR: secretDir });

    await expect(failure).rejects.toThrow(`"${path.join(secretDir, 'secret-access-key')}" is missing`);
    await expect(resolveS3Settings({ MILDNET_S3_CREDENTIALS_DIR: secretDir })).rejects.not.toThrow('dir-key-value');
  });

  it('rejects half-set key variables', async () => {
    await expect(resolveS3Settings({ AWS_ACCESS_KEY_ID: 'key' })).rejects.toThrow(
      'AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is missing',
    );
  });

  it('rejects an endpoint with credentials without echoing them', async () => {
    const failure = resolveS3Settings({ AWS_ENDPOINT_URL_S3: 'http://user:hunter2-secret@127.0.0.1:9000' });

    await expect(failure).rejects.toThrow('contains credentials');
    await expect(resolveS3Settings({ AWS_ENDPOINT_URL_S3: 'http://user:hunter2-secret@127.0.0.1:9000' })).rejects.not.toThrow(
      'hunter2',
    );
  });
});

describe('resolveGcsSettings', () => {
  it('defaults to the interoperability endpoint with path style', async () => {
    const settings = await resolveGcsSettings({ MILDNET_GCS_HMAC_ACCESS_ID: 'GOOG1', MILDNET_GCS_HMAC_SECRET: 's' });

    expect(settings.endpoint).toBe('https://storage.googleapis.com');
    expect(settings.region).toBe('auto');
    expect(settings.forcePathStyle).toBe(true);
    expect(settings.credentials).toEqual({ accessKeyId: 'GOOG1', secretAccessKey: 's' });
  });
});
