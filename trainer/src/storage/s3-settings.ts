import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { StorageConfigError } from './errors';

/** Static credentials for an S3-compatible endpoint. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Names of the environment variables that configure one kind of store. They
 * appear in error messages so that a message names the setting to fix.
 */
export interface S3SettingNames {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  credentialsDir: string;
}

/** Connection and signing settings of a store; never printed whole because they can contain a secret. */
export interface S3ConnectionSettings {
  /** Custom endpoint URL; undefined means AWS S3 in `region`. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** undefined lets the AWS SDK's default credential chain find credentials. */
  credentials?: S3Credentials;
  /** Source of the credentials, for error messages. */
  credentialSource: string;
  names: S3SettingNames;
}

export const S3_SETTING_NAMES: Readonly<S3SettingNames> = Object.freeze({
  endpoint: 'AWS_ENDPOINT_URL_S3',
  region: 'AWS_REGION',
  accessKeyId: 'AWS_ACCESS_KEY_ID',
  secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  credentialsDir: 'MILDNET_S3_CREDENTIALS_DIR',
});

export const GCS_SETTING_NAMES: Readonly<S3SettingNames> = Object.freeze({
  endpoint: 'MILDNET_GCS_ENDPOINT',
  region: 'MILDNET_GCS_REGION',
  accessKeyId: 'MILDNET_GCS_HMAC_ACCESS_ID',
  secretAccessKey: 'MILDNET_GCS_HMAC_SECRET',
  credentialsDir: 'MILDNET_GCS_CREDENTIALS_DIR',
});

/** File names inside a mounted credentials Secret directory. */
export const CREDENTIAL_FILE_NAMES = Object.freeze({
  accessKeyId: 'access-key-id',
  secretAccessKey: 'secret-access-key',
  sessionToken: 'session-token',
});

/** Cloud Storage's XML API, which accepts S3 requests signed with HMAC keys. */
export const GCS_INTEROPERABILITY_ENDPOINT = 'https://storage.googleapis.com';

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Resolves the settings for s3:// URIs from the environment:
 * endpoint from AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; region from
 * AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1; path-style addressing
 * from AWS_S3_FORCE_PATH_STYLE (default: on when an endpoint is set);
 * credentials from the files in MILDNET_S3_CREDENTIALS_DIR when it is set,
 * else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN),
 * else the AWS SDK's default chain (web identity, profiles, instance roles).
 */
export async function resolveS3Settings(env: Environment = process.env): Promise<S3ConnectionSettings> {
  const names = S3_SETTING_NAMES;
  const endpointVariable = nonEmpty(env.AWS_ENDPOINT_URL_S3) !== undefined ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
  const endpoint = validateEndpoint(nonEmpty(env[endpointVariable]), endpointVariable);
  const region = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1';
  const forcePathStyle = parseBoolean(env.AWS_S3_FORCE_PATH_STYLE, 'AWS_S3_FORCE_PATH_STYLE') ?? endpoint !== undefined;

  const fromDir = await readCredentialsDir(nonEmpty(env[names.credentialsDir]), names.credentialsDir);
  if (fromDir !== undefined) {
    return { endpoint, region, forcePathStyle, credentials: fromDir, credentialSource: `files in ${names.credentialsDir}`, names };
  }
  const fromEnv = readCredentialVariables(env, names, 'AWS_SESSION_TOKEN');
  if (fromEnv !== undefined) {
    return {
      endpoint,
      region,
      forcePathStyle,
      credentials: fromEnv,
      credentialSource: `${names.accessKeyId} and ${names.secretAccessKey}`,
      names,
    };
  }
  return { endpoint, region, forcePathStyle, credentialSource: "the AWS SDK's default credential chain", names };
}

/**
 * Resolves the settings for gs:// URIs that opt in to Cloud Storage's S3
 * interoperability (XML) API with HMAC keys: endpoint from MILDNET_GCS_ENDPOINT
 * (default https://storage.googleapis.com), region from MILDNET_GCS_REGION
 * (default "auto"), keys from the files in MILDNET_GCS_CREDENTIALS_DIR or
 * from MILDNET_GCS_HMAC_ACCESS_ID and MILDNET_GCS_HMAC_SECRET. Path-style
 * addressing is always on.
 */
export async function resolveGcsSettings(env: Environment = process.env): Promise<S3ConnectionSettings> {
  const names = GCS_SETTING_NAMES;
  const endpoint = validateEndpoint(nonEmpty(env[names.endpoint]), names.endpoint) ?? GCS_INTEROPERABILITY_ENDPOINT;
  const region = nonEmpty(env[names.region]) ?? 'auto';

  const fromDir = await readCredentialsDir(nonEmpty(env[names.credentialsDir]), names.credentialsDir);
  const fromEnv = fromDir === undefined ? readCredentialVariables(env, names) : undefined;
  const credentials = fromDir ?? fromEnv;
  if (credentials === undefined) {
    throw new StorageConfigError(
      `gs:// storage needs HMAC keys for Cloud Storage's interoperability API, and none are set; set ${names.accessKeyId} and ${names.secretAccessKey}, or mount a Secret with the files ${CREDENTIAL_FILE_NAMES.accessKeyId} and ${CREDENTIAL_FILE_NAMES.secretAccessKey} and set ${names.credentialsDir} to its directory`,
    );
  }
  const credentialSource = fromDir !== undefined ? `files in ${names.credentialsDir}` : `${names.accessKeyId} and ${names.secretAccessKey}`;
  return { endpoint, region, forcePathStyle: true, credentials, credentialSource, names };
}

function readCredentialVariables(env: Environment, names: S3SettingNames, sessionTokenVariable?: string): S3Credentials | undefined {
  const accessKeyId = nonEmpty(env[names.accessKeyId]);
  const secretAccessKey = nonEmpty(env[names.secretAccessKey]);
  if (accessKeyId === undefined && secretAccessKey === undefined) {
    return undefined;
  }
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const missing = accessKeyId === undefined ? names.accessKeyId : names.secretAccessKey;
    const present = accessKeyId === undefined ? names.secretAccessKey : names.accessKeyId;
    throw new StorageConfigError(`${present} is set but ${missing} is missing; set both or neither`);
  }
  const sessionToken = sessionTokenVariable === undefined ? undefined : nonEmpty(env[sessionTokenVariable]);
  return { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) };
}

/**
 * Reads access-key-id, secret-access-key and the optional session-token from
 * a mounted Secret directory. Surrounding whitespace, such as a trailing
 * newline, is removed. Contents never appear in errors.
 */
async function readCredentialsDir(dir: string | undefined, variable: string): Promise<S3Credentials | undefined> {
  if (dir === undefined) {
    return undefined;
  }
  const read = async (fileName: string, required: boolean): Promise<string | undefined> => {
    const filePath = path.join(dir, fileName);
    let text: string;
    try {
      text = await fs.readFile(filePath, 'utf8');
    } catch (error) {
      if (!required && (error as { code?: unknown }).code === 'ENOENT') {
        return undefined;
      }
      const reason = (error as { code?: unknown }).code === 'ENOENT' ? 'is missing' : 'cannot be read';
      throw new StorageConfigError(
        `${variable} is "${dir}" but the file "${filePath}" ${reason}; the directory must contain the files ${CREDENTIAL_FILE_NAMES.accessKeyId} and ${CREDENTIAL_FILE_NAMES.secretAccessKey}`,
      );
    }
    const value = text.trim();
    if (value === '' && required) {
      throw new StorageConfigError(`The credentials file "${filePath}" (from ${variable}) is empty`);
    }
    return value === '' ? undefined : value;
  };

  const accessKeyId = (await read(CREDENTIAL_FILE_NAMES.accessKeyId, true)) as string;
  const secretAccessKey = (await read(CREDENTIAL_FILE_NAMES.secretAccessKey, true)) as string;
  const sessionToken = await read(CREDENTIAL_FILE_NAMES.sessionToken, false);
  return { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) };
}

/** Returns the endpoint without a trailing slash, or throws when it is not a plain http(s) URL. */
export function validateEndpoint(value: string | undefined, variable: string): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new StorageConfigError(`${variable} "${value}" is not a valid URL; expected http(s)://host[:port]`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new StorageConfigError(
      `${variable} contains credentials before "@"; remove them and set the access key variables or a credentials Secret instead`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StorageConfigError(`${variable} "${value}" uses "${url.protocol}"; expected http(s)://host[:port]`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new StorageConfigError(`${variable} "${value}" has a query or fragment; expected http(s)://host[:port]`);
  }
  return value.replace(/\/+$/, '');
}

function parseBoolean(value: string | undefined, variable: string): boolean | undefined {
  const normalized = nonEmpty(value)?.toLowerCase();
  if (normalized === undefined) {
    return undefined;
  }
  if (normalized === 'true' || normalized === '1') {
    return true;
  }
  if (normalized === 'false' || normalized === '0') {
    return false;
  }
  throw new StorageConfigError(`${variable} is "${value}"; expected true or false`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
