/**
 * gs:// URIs. By default they go through the Cloud Storage JSON API client
 * (@google-cloud/storage) with Application Default Credentials, which covers
 * GKE Workload Identity and service account key files. Setting HMAC keys
 * (MILDNET_GCS_HMAC_ACCESS_ID or MILDNET_GCS_CREDENTIALS_DIR) opts in to
 * Cloud Storage's XML API through the S3 store instead.
 */
import * as fs from 'node:fs/promises';

import { StorageConfigError } from './errors';
import { GcsClientSettings, GcsObjectStore, GcsStoreArgs } from './gcs-store';
import { FileObjectStore } from './object-store';
import { S3ObjectStore, S3StoreArgs } from './s3';
import { GCS_SETTING_NAMES, resolveGcsSettings, validateEndpoint } from './s3-settings';

type Environment = Readonly<Record<string, string | undefined>>;

/** The variable that points gs:// stores at an emulator, the name Google's client libraries read. */
export const GCS_EMULATOR_HOST_VARIABLE = 'STORAGE_EMULATOR_HOST';
/** The variable that names a service account key file for Application Default Credentials. */
export const GCS_KEY_FILE_VARIABLE = 'GOOGLE_APPLICATION_CREDENTIALS';

/**
 * Opens a store over gs://bucket/prefix. When HMAC keys are set (see
 * usesGcsHmacKeys), it is the S3 store on the XML API. Otherwise it is the
 * JSON API client with the settings of resolveGcsClientSettings.
 */
export async function openGcsStore(
  bucket: string,
  prefix: string,
  args: S3StoreArgs & GcsStoreArgs = {},
  env: Environment = process.env,
): Promise<FileObjectStore> {
  if (usesGcsHmacKeys(env)) {
    // NOTE: this path is tested only against an S3 server in place of Cloud
    // Storage. The default signing region "auto" is unverified against
    // storage.googleapis.com, so set MILDNET_GCS_REGION if the signature is rejected.
    return new S3ObjectStore('gs', bucket, prefix, await resolveGcsSettings(env), args);
  }
  rejectXmlApiSettings(env);
  return new GcsObjectStore(bucket, prefix, await resolveGcsClientSettings(env), args);
}

/** Throws StorageConfigError when a setting of the XML API path is set without HMAC keys, because it would have no effect. */
function rejectXmlApiSettings(env: Environment): void {
  for (const name of [GCS_SETTING_NAMES.endpoint, GCS_SETTING_NAMES.region]) {
    if (nonEmpty(env[name]) !== undefined) {
      throw new StorageConfigError(
        `${name} is set, but it applies only to the XML API with HMAC keys (${GCS_SETTING_NAMES.accessKeyId} and ${GCS_SETTING_NAMES.secretAccessKey}); unset it, and for an emulator set ${GCS_EMULATOR_HOST_VARIABLE} instead`,
      );
    }
  }
}

/** Returns true when any HMAC key setting is present, which selects the XML API path. */
export function usesGcsHmacKeys(env: Environment = process.env): boolean {
  return [GCS_SETTING_NAMES.accessKeyId, GCS_SETTING_NAMES.secretAccessKey, GCS_SETTING_NAMES.credentialsDir].some(
    (name) => (env[name] ?? '').trim() !== '',
  );
}

/**
 * Resolves the JSON API client's settings from the environment. With
 * STORAGE_EMULATOR_HOST set, requests go to that emulator without
 * authentication. Otherwise they go to Cloud Storage with Application
 * Default Credentials, using the key file in GOOGLE_APPLICATION_CREDENTIALS
 * when it is set. Throws StorageConfigError for a malformed endpoint or a
 * missing or unreadable key file.
 */
export async function resolveGcsClientSettings(env: Environment = process.env): Promise<GcsClientSettings> {
  const emulatorHost = nonEmpty(env[GCS_EMULATOR_HOST_VARIABLE]);
  if (emulatorHost !== undefined) {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(emulatorHost)) {
      throw new StorageConfigError(
        `${GCS_EMULATOR_HOST_VARIABLE} "${emulatorHost}" has no scheme; write it as http://${emulatorHost} (or https:// when the emulator serves TLS)`,
      );
    }
    const endpoint = validateEndpoint(emulatorHost, GCS_EMULATOR_HOST_VARIABLE) as string;
    if (new URL(endpoint).pathname !== '/') {
      throw new StorageConfigError(
        `${GCS_EMULATOR_HOST_VARIABLE} "${emulatorHost}" has a path; set only the scheme, host and port, such as http://127.0.0.1:4443`,
      );
    }
    return { endpoint, credentialSource: `no credentials (requests to the emulator at ${GCS_EMULATOR_HOST_VARIABLE} are not authenticated)` };
  }

  const keyFilename = nonEmpty(env[GCS_KEY_FILE_VARIABLE]);
  if (keyFilename !== undefined) {
    try {
      await fs.access(keyFilename, fs.constants.R_OK);
    } catch {
      throw new StorageConfigError(
        `${GCS_KEY_FILE_VARIABLE} is "${keyFilename}" but that file is missing or unreadable; mount the service account key there, or unset ${GCS_KEY_FILE_VARIABLE} to use Workload Identity or the metadata server`,
      );
    }
    return { keyFilename, credentialSource: `the service account key file in ${GCS_KEY_FILE_VARIABLE}` };
  }
  return {
    credentialSource: 'Application Default Credentials (on GKE, the Google service account that Workload Identity links to the pod)',
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
