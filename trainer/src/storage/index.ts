export { DatasetCache, unpackZip } from './cache';
export type { CacheEvent, CachedDataset, DatasetCacheOptions, FetchOptions } from './cache';
export { redactSecrets, StorageConfigError, StorageRequestError } from './errors';
export { GCS_EMULATOR_HOST_VARIABLE, GCS_KEY_FILE_VARIABLE, openGcsStore, resolveGcsClientSettings, usesGcsHmacKeys } from './gcs';
export { BUCKET_NOT_FOUND_CODE, classifyGcsError } from './gcs-errors';
export { GCS_DEFAULT_ENDPOINT, GcsObjectStore, RESUMABLE_CHUNK_GRANULARITY_BYTES } from './gcs-store';
export type { GcsClientSettings, GcsStoreArgs } from './gcs-store';
export { compareKeys, validateListPrefix, validateObjectKey } from './keys';
export { LocalObjectStore, PARTIAL_FILE_MARKER, writeFileAtomically } from './local';
export { ObjectNotFoundError } from './object-store';
export type { FileObjectStore, ObjectInfo, ObjectStore } from './object-store';
export {
  backoffDelayMs,
  classifyStorageError,
  DEFAULT_RETRY_POLICY,
  OperationFailedError,
  resolveRetryPolicy,
  withRetry,
} from './retry';
export type { ErrorClassification, RetryEvent, RetryOptions, RetryPolicy } from './retry';
export { MIN_PART_SIZE_BYTES, S3ObjectStore } from './s3';
export type { S3StoreArgs, StorageRetryEvent } from './s3';
export {
  CREDENTIAL_FILE_NAMES,
  GCS_INTEROPERABILITY_ENDPOINT,
  GCS_SETTING_NAMES,
  resolveGcsSettings,
  resolveS3Settings,
  S3_SETTING_NAMES,
  validateEndpoint,
} from './s3-settings';
export type { S3ConnectionSettings, S3Credentials, S3SettingNames } from './s3-settings';
export { formatStorageUri, isLocalUri, openStore, parseStorageUri, SUPPORTED_URI_FORMS } from './uri';
export type { OpenStoreOptions, StorageLocation } from './uri';
