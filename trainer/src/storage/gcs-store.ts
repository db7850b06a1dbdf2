import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { Bucket, File, FileMetadata, Storage, StorageOptions } from '@google-cloud/storage';

import { StorageRequestError } from './errors';
import {
  BUCKET_NOT_FOUND_CODE,
  classifyGcsError,
  gcsFailureHint,
  GcsFailureContext,
  OBJECT_REPLACED_CODE,
  redactedClientMessage,
} from './gcs-errors';
import { compareKeys, validateListPrefix, validateObjectKey } from './keys';
import { writeFileAtomically, writeStreamToHandle } from './local';
import { FileObjectStore, ObjectInfo, ObjectNotFoundError } from './object-store';
import { OperationFailedError, RetryOptions, withRetry } from './retry';
import type { StorageRetryEvent } from './s3';

const KIB = 1024;
const MIB = 1024 * KIB;
/** Cloud Storage requires every chunk of a resumable upload but the last to be a multiple of 256 KiB. */
export const RESUMABLE_CHUNK_GRANULARITY_BYTES = 256 * KIB;
/** The public Cloud Storage endpoint, used when no emulator endpoint is set. */
export const GCS_DEFAULT_ENDPOINT = 'https://storage.googleapis.com';

/** Connection settings of a GCS store, from resolveGcsClientSettings. */
export interface GcsClientSettings {
  /** Emulator endpoint (http(s)://host[:port]), whose requests are not authenticated. Undefined means Cloud Storage. */
  endpoint?: string;
  /** Service account key file for Application Default Credentials. Undefined lets ADC search its usual sources. */
  keyFilename?: string;
  /** Source of the credentials, named in messages. */
  credentialSource: string;
}

/** Options of a GCS store, all optional. */
export interface GcsStoreArgs {
  /** Retry policy and test seams. The store-level `onRetry` below takes the place of `retry.onRetry`. */
  retry?: Omit<RetryOptions, 'onRetry'>;
  /** Called before every retry, with the URI and the JSON API method. */
  onRetry?: (event: StorageRetryEvent) => void;
  /** Bytes per request of a resumable upload, a multiple of 256 KiB. Default 8 MiB. */
  partSizeBytes?: number;
  /** Bodies of at least this many bytes go up in a resumable upload. Default: partSizeBytes. */
  multipartThresholdBytes?: number;
  /** Objects requested per objects.list page, 1 to 1000. Default 1000. */
  listPageSize?: number;
  /**
   * Milliseconds that one HTTP request may take from its start to its
   * response headers, and that a download's body may stall, before the
   * attempt fails. Default 60000.
   */
  socketTimeoutMs?: number;
}

/**
 * An object store over a bucket prefix on Cloud Storage, through the
 * JSON API client @google-cloud/storage. The client's own retries are off
 * because every request runs under the store's retry policy, which reports
 * retries through `onRetry` as for s3://. Bodies of at least
 * multipartThresholdBytes go up in a resumable upload, one chunk of
 * partSizeBytes per request.
 */
export class GcsObjectStore implements FileObjectStore {
  readonly uri: string;
  readonly bucket: string;
  readonly prefix: string;

  private readonly storage: Storage;
  private readonly bucketHandle: Bucket;
  private readonly partSizeBytes: number;
  private readonly multipartThresholdBytes: number;
  private readonly listPageSize: number;
  private readonly socketTimeoutMs: number;
  private readonly failureContext: GcsFailureContext;
  private readonly authenticated: boolean;
  private credentialsFound = false;
  private bucketVerified = false;

  /** @param prefix key prefix inside the bucket: empty or ending with "/". */
  constructor(
    bucket: string,
    prefix: string,
    settings: GcsClientSettings,
    private readonly args: GcsStoreArgs = {},
  ) {
    this.bucket = bucket;
    this.prefix = prefix;
    this.uri = `gs://${bucket}/${prefix}`;
    this.partSizeBytes = args.partSizeBytes ?? 8 * MIB;
    if (
      !Number.isInteger(this.partSizeBytes) ||
      this.partSizeBytes < RESUMABLE_CHUNK_GRANULARITY_BYTES ||
      this.partSizeBytes % RESUMABLE_CHUNK_GRANULARITY_BYTES !== 0
    ) {
      throw new RangeError(
        `partSizeBytes is ${this.partSizeBytes}; gs:// uploads need a positive multiple of ${RESUMABLE_CHUNK_GRANULARITY_BYTES} (256 KiB)`,
      );
    }
    this.multipartThresholdBytes = args.multipartThresholdBytes ?? this.partSizeBytes;
    this.listPageSize = args.listPageSize ?? 1000;
    if (!Number.isInteger(this.listPageSize) || this.listPageSize < 1 || this.listPageSize > 1000) {
      throw new RangeError(`listPageSize is ${this.listPageSize}; expected an integer from 1 to 1000`);
    }

    this.socketTimeoutMs = args.socketTimeoutMs ?? 60_000;

    this.authenticated = settings.endpoint === undefined;
    this.storage = createClient(settings, this.socketTimeoutMs);
    this.bucketHandle = this.storage.bucket(bucket);
    this.failureContext = {
      bucket,
      endpoint: settings.endpoint ?? GCS_DEFAULT_ENDPOINT,
      credentialSource: settings.credentialSource,
      emulator: settings.endpoint !== undefined,
    };
  }

  uriOf(key: string): string {
    return `${this.uri}${key}`;
  }

  async put(key: string, body: Buffer | Uint8Array | string): Promise<ObjectInfo> {
    const file = this.file(key);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (bytes.byteLength >= this.multipartThresholdBytes) {
      return this.resumableUpload(key, file, () => Readable.from([bytes]), bytes.byteLength);
    }
    const metadata = await this.bucketRequest('objects.insert', key, async () => {
      // A single-request (multipart) upload. The client checks the CRC32C
      // that the server returns against the body's.
      await file.save(bytes, { resumable: false, contentType: 'application/octet-stream' });
      return file.metadata;
    });
    return this.objectInfo(key, metadata, bytes.byteLength);
  }

  async putFile(key: string, localPath: string): Promise<ObjectInfo> {
    const file = this.file(key);
    const { size } = await fs.stat(localPath);
    if (size < this.multipartThresholdBytes) {
      return this.put(key, await fs.readFile(localPath));
    }
    return this.resumableUpload(key, file, () => createReadStream(localPath), size);
  }

  async get(key: string): Promise<Buffer> {
    const file = this.file(key);
    try {
      return await this.request('objects.get', key, async () => {
        // The client checks the body's CRC32C or MD5 once the stream ends.
        const chunks: Buffer[] = [];
        for await (const chunk of this.readObject(file)) {
          chunks.push(chunk);
        }
        return Buffer.concat(chunks);
      });
    } catch (error) {
      throw await this.missingObjectOrBucket(error);
    }
  }

  async getToFile(key: string, localPath: string): Promise<ObjectInfo> {
    const file = this.file(key);
    const target = path.resolve(localPath);
    try {
      return await this.request('objects.get', key, async () => {
        const [metadata] = await file.getMetadata();
        // Reading the generation that the metadata describes keeps the
        // returned ETag and size true for the bytes written to target.
        const generation = metadata.generation === undefined ? undefined : Number(metadata.generation);
        const pinned = this.bucketHandle.file(file.name, generation === undefined ? {} : { generation });
        const expectedBytes = Number(metadata.size);
        let received = 0;
        await writeFileAtomically(target, async (handle) => {
          try {
            received = await writeStreamToHandle(this.readObject(pinned), handle);
          } catch (error) {
            if (classifyGcsError(error).httpStatus === 404) {
              throw Object.assign(new Error(`generation ${generation} of ${this.uriOf(key)} was replaced or deleted during the download`), {
                code: OBJECT_REPLACED_CODE,
              });
            }
            throw error;
          }
          if (Number.isFinite(expectedBytes) && received !== expectedBytes) {
            throw Object.assign(new Error(`Response body has ${received} bytes but the object has ${expectedBytes}`), {
              code: 'IncompleteBody',
            });
          }
        });
        return this.objectInfo(key, metadata, received);
      });
    } catch (error) {
      throw await this.missingObjectOrBucket(error);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.file(key);
    try {
      const [metadata] = await this.request('objects.get', key, () => file.getMetadata());
      return this.objectInfo(key, metadata);
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) {
        throw error;
      }
    }
    // Cloud Storage returns 404 for a missing bucket too, and an emulator's
    // message may not tell the two apart, so the bucket is checked once.
    await this.verifyBucket();
    return undefined;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    validateListPrefix(prefix);
    const found: ObjectInfo[] = [];
    let pageToken: string | undefined;
    do {
      const [files, nextQuery] = await this.bucketRequest('objects.list', prefix, () =>
        this.bucketHandle.getFiles({
          prefix: `${this.prefix}${prefix}`,
          maxResults: this.listPageSize,
          pageToken,
          autoPaginate: false,
        }),
      );
      for (const file of files) {
        if (file.name.endsWith('/')) {
          continue; // folder placeholders that the console and some tools create
        }
        found.push(this.objectInfo(file.name.slice(this.prefix.length), file.metadata));
      }
      pageToken = (nextQuery as { pageToken?: string } | null | undefined)?.pageToken;
    } while (pageToken !== undefined && pageToken !== '');
    this.bucketVerified = true;
    return found.sort((a, b) => compareKeys(a.key, b.key));
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    try {
      await this.request('objects.delete', key, () => file.delete());
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) {
        throw error;
      }
      // Deleting a missing object succeeds, but a missing bucket is an error.
      await this.verifyBucket();
    }
  }

  /**
   * Uploads the body in a resumable upload session with one chunk of
   * partSizeBytes per request, so that memory use stays at about one chunk.
   * A failed attempt starts a new session from the first byte.
   */
  private async resumableUpload(key: string, file: File, openBody: () => Readable, sizeBytes: number): Promise<ObjectInfo> {
    // NOTE: a retry re-sends the whole body instead of resuming the session
    // at the offset the server has stored. Sessions of the emulator in the
    // tests (fake-gcs-server 1.56) do not survive its restart, and its status
    // query commits the partial object, so the resume path could not be tested.
    const metadata = await this.bucketRequest('objects.insert.resumable', key, async () => {
      const upload = file.createWriteStream({
        resumable: true,
        chunkSize: this.partSizeBytes,
        contentType: 'application/octet-stream',
        metadata: { contentLength: sizeBytes },
      });
      await pipeline(openBody(), upload);
      return file.metadata;
    });
    return this.objectInfo(key, metadata, sizeBytes);
  }

  /**
   * Streams the object's body, failing with ETIMEDOUT when no bytes arrive
   * for socketTimeoutMs. The client's own timeout ends once the response
   * headers arrive, so it does not cover a body that stalls.
   */
  private async *readObject(file: File): AsyncGenerator<Buffer> {
    const idleMs = this.socketTimeoutMs;
    const source = file.createReadStream();
    let timer: NodeJS.Timeout | undefined;
    const restartTimer = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const error = new Error(`no bytes of gs://${this.bucket}/${file.name} arrived for ${idleMs} ms`);
        source.destroy(Object.assign(error, { code: 'ETIMEDOUT' }));
      }, idleMs);
    };
    restartTimer();
    try {
      for await (const chunk of source) {
        restartTimer();
        yield chunk as Buffer;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Checks once that objects in the bucket can be listed, which needs no permission beyond roles/storage.objectAdmin. */
  private async verifyBucket(): Promise<void> {
    if (this.bucketVerified) {
      return;
    }
    await this.bucketRequest('objects.list', '', () =>
      this.bucketHandle.getFiles({ prefix: this.prefix, maxResults: 1, autoPaginate: false }),
    );
    this.bucketVerified = true;
  }

  /** Turns ObjectNotFoundError into a missing-bucket error when the bucket itself is missing. */
  private async missingObjectOrBucket(error: unknown): Promise<unknown> {
    if (error instanceof ObjectNotFoundError) {
      await this.verifyBucket();
    }
    return error;
  }

  /** Runs a request whose 404 means a missing bucket (listing, uploads). */
  private async bucketRequest<T>(operation: string, key: string, send: () => Promise<T>): Promise<T> {
    try {
      return await this.request(operation, key, send);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) {
        throw this.bucketNotFound(operation, key);
      }
      throw error;
    }
  }

  /**
   * Resolves Application Default Credentials once, before the first request.
   * When ADC finds nothing, the client would otherwise send the request
   * without credentials, and only its JSON API calls turn the resulting 401
   * back into the "Could not load the default credentials" error.
   */
  private async findCredentials(): Promise<void> {
    if (!this.authenticated || this.credentialsFound) {
      return;
    }
    await this.storage.authClient.getClient();
    this.credentialsFound = true;
  }

  /** Runs one request under the retry policy and translates its failure. A 404 becomes ObjectNotFoundError. */
  private async request<T>(operation: string, key: string, send: () => Promise<T>): Promise<T> {
    const sendWithCredentials = async (): Promise<T> => {
      await this.findCredentials();
      return send();
    };
    try {
      return await withRetry(sendWithCredentials, {
        classify: classifyGcsError,
        ...this.args.retry,
        onRetry: (event) => this.args.onRetry?.({ ...event, uri: this.uriOf(key), operation }),
      });
    } catch (error) {
      throw this.translateError(error, operation, key);
    }
  }

  private translateError(error: unknown, operation: string, key: string): Error {
    const uri = this.uriOf(key);
    if (error instanceof OperationFailedError) {
      if (error.httpStatus === 404) {
        return new ObjectNotFoundError(uri);
      }
      const status = error.httpStatus !== undefined ? `, HTTP ${error.httpStatus}` : '';
      const attempts = error.attempts === 1 ? '1 attempt' : `${error.attempts} attempts`;
      const detail =
        gcsFailureHint(error.code, error.httpStatus, this.failureContext) ??
        redactedClientMessage(error.cause) ??
        'see the server logs for details';
      return new StorageRequestError({
        message: `GCS ${operation} failed for ${uri} (${error.code}${status}, after ${attempts}): ${detail}`,
        code: error.code,
        uri,
        httpStatus: error.httpStatus,
        transient: error.transient,
        attempts: error.attempts,
      });
    }
    // withRetry wraps every failed attempt, so this is an error raised before
    // the first one, such as a RangeError for an invalid retry policy.
    return error instanceof Error ? error : new Error(String(error));
  }

  private bucketNotFound(operation: string, key: string): StorageRequestError {
    const uri = this.uriOf(key);
    const hint = gcsFailureHint(BUCKET_NOT_FOUND_CODE, 404, this.failureContext);
    return new StorageRequestError({
      message: `GCS ${operation} failed for ${uri} (${BUCKET_NOT_FOUND_CODE}, HTTP 404, after 1 attempt): ${hint}`,
      code: BUCKET_NOT_FOUND_CODE,
      uri,
      httpStatus: 404,
      transient: false,
      attempts: 1,
    });
  }

  private file(key: string): File {
    validateObjectKey(key);
    return this.bucketHandle.file(`${this.prefix}${key}`);
  }

  private objectInfo(key: string, metadata: FileMetadata, knownSize?: number): ObjectInfo {
    const size = metadata.size === undefined ? knownSize : Number(metadata.size);
    return {
      key,
      sizeBytes: size ?? 0,
      etag: metadata.etag,
      lastModified: metadata.updated === undefined ? undefined : new Date(metadata.updated),
    };
  }
}

/**
 * Creates the client with its retries off, because the store's retry policy
 * wraps every call. With an emulator endpoint the client sends requests
 * without authentication, and without one it uses Application Default
 * Credentials.
 */
function createClient(settings: GcsClientSettings, timeoutMs: number): Storage {
  const options: StorageOptions = {
    retryOptions: { autoRetry: false, maxRetries: 0, retryableErrorFn: () => false },
    timeout: timeoutMs,
    ...(settings.endpoint !== undefined ? { apiEndpoint: settings.endpoint } : {}),
    ...(settings.keyFilename !== undefined ? { keyFilename: settings.keyFilename } : {}),
  };
  // NOTE: without an endpoint in settings, a STORAGE_EMULATOR_HOST in
  // process.env still turns authentication off inside the client. openStore
  // reads both from the same environment unless a caller passes `env`.
  const storage = new Storage(options);
  // Resumable uploads take their request options from the interceptors and
  // ignore both `timeout` settings, so the limit is added here too.
  type Interceptor = Storage['interceptors'][number];
  const addTimeout: Interceptor['request'] = (requestOptions) =>
    ({ ...requestOptions, timeout: timeoutMs }) as ReturnType<Interceptor['request']>;
  storage.interceptors.push({ request: addTimeout });
  if (settings.endpoint !== undefined) {
    // The client (7.22) takes STORAGE_EMULATOR_HOST from process.env as the
    // JSON API's base URL verbatim, without the /storage/v1 path that uploads
    // and fake-gcs-server use. Setting it here keeps every request under the
    // one endpoint, whichever environment the settings came from.
    storage.baseUrl = `${settings.endpoint}/storage/v1`;
  }
  return storage;
}
