import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { redactSecrets, StorageRequestError } from './errors';
import { validateListPrefix, validateObjectKey } from './keys';
import { writeFileAtomically, writeStreamToHandle } from './local';
import { FileObjectStore, ObjectInfo, ObjectNotFoundError } from './object-store';
import { OperationFailedError, RetryEvent, RetryOptions, withRetry } from './retry';
import { S3ConnectionSettings } from './s3-settings';

const MIB = 1024 * 1024;
/** The smallest part S3 accepts, except for the last part of an upload. */
export const MIN_PART_SIZE_BYTES = 5 * MIB;

/** A retry of one storage request, with the URI and the S3 operation it was for. */
export interface StorageRetryEvent extends RetryEvent {
  uri: string;
  operation: string;
}

export interface S3StoreArgs {
  /** Retry policy and test seams. The store-level `onRetry` below takes the place of `retry.onRetry`. */
  retry?: Omit<RetryOptions, 'onRetry'>;
  /** Called before every retry, of single requests and of each part of a multipart upload. */
  onRetry?: (event: StorageRetryEvent) => void;
  /** Size of each multipart upload part in bytes. Default 8 MiB, at least 5 MiB. */
  partSizeBytes?: number;
  /** Bodies of at least this many bytes are uploaded in parts. Default: partSizeBytes. */
  multipartThresholdBytes?: number;
  /** Parts uploaded at the same time. Default 4. */
  uploadConcurrency?: number;
  /** Keys requested per ListObjectsV2 page, 1 to 1000. Default 1000. */
  listPageSize?: number;
  /** Milliseconds to wait for a TCP connection before the attempt fails. Default 5000. */
  connectionTimeoutMs?: number;
  /** Milliseconds a socket may stay idle during a request before the attempt fails. Default 60000. */
  socketTimeoutMs?: number;
}

/**
 * An object store over a bucket prefix on AWS S3 or an S3-compatible server.
 * Single requests are retried here with the retry policy. Multipart uploads
 * go through @aws-sdk/lib-storage, and a client middleware retries each of
 * its requests (each part included) with the same policy.
 */
export class S3ObjectStore implements FileObjectStore {
  readonly uri: string;
  readonly bucket: string;
  readonly prefix: string;

  private readonly client: S3Client;
  private readonly uploadClient: S3Client;
  private readonly partSizeBytes: number;
  private readonly multipartThresholdBytes: number;
  private readonly uploadConcurrency: number;
  private readonly listPageSize: number;
  private bucketVerified = false;

  /**
   * @param scheme the URI scheme shown in URIs and messages ("s3" or "gs").
   * @param prefix key prefix inside the bucket: empty or ending with "/".
   */
  constructor(
    readonly scheme: 's3' | 'gs',
    bucket: string,
    prefix: string,
    private readonly settings: S3ConnectionSettings,
    private readonly args: S3StoreArgs = {},
  ) {
    this.bucket = bucket;
    this.prefix = prefix;
    this.uri = `${scheme}://${bucket}/${prefix}`;
    this.partSizeBytes = args.partSizeBytes ?? 8 * MIB;
    if (!Number.isInteger(this.partSizeBytes) || this.partSizeBytes < MIN_PART_SIZE_BYTES) {
      throw new RangeError(`partSizeBytes is ${this.partSizeBytes}; expected an integer of at least ${MIN_PART_SIZE_BYTES} (5 MiB)`);
    }
    this.multipartThresholdBytes = args.multipartThresholdBytes ?? this.partSizeBytes;
    this.uploadConcurrency = args.uploadConcurrency ?? 4;
    this.listPageSize = args.listPageSize ?? 1000;
    if (!Number.isInteger(this.listPageSize) || this.listPageSize < 1 || this.listPageSize > 1000) {
      throw new RangeError(`listPageSize is ${this.listPageSize}; expected an integer from 1 to 1000`);
    }

    this.client = new S3Client(this.clientConfig());
    this.uploadClient = new S3Client(this.clientConfig());
    this.addRetryMiddleware(this.uploadClient);
  }

  uriOf(key: string): string {
    return `${this.uri}${key}`;
  }

  async put(key: string, body: Buffer | Uint8Array | string): Promise<ObjectInfo> {
    const objectKey = this.objectKey(key);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (bytes.byteLength >= this.multipartThresholdBytes) {
      return this.upload(key, objectKey, bytes, bytes.byteLength);
    }
    const output = await this.request('PutObject', key, () =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: bytes })),
    );
    return { key, sizeBytes: bytes.byteLength, etag: unquote(output.ETag) };
  }

  async putFile(key: string, localPath: string): Promise<ObjectInfo> {
    const objectKey = this.objectKey(key);
    const { size } = await fs.stat(localPath);
    if (size < this.multipartThresholdBytes) {
      return this.put(key, await fs.readFile(localPath));
    }
    return this.upload(key, objectKey, createReadStream(localPath), size);
  }

  async get(key: string): Promise<Buffer> {
    const objectKey = this.objectKey(key);
    return this.request('GetObject', key, async () => {
      const output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      const bytes = Buffer.from(await requireBody(output).transformToByteArray());
      checkLength(bytes.byteLength, output.ContentLength);
      return bytes;
    });
  }

  async getToFile(key: string, localPath: string): Promise<ObjectInfo> {
    const objectKey = this.objectKey(key);
    const target = path.resolve(localPath);
    return this.request('GetObject', key, async () => {
      const output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      let received = 0;
      await writeFileAtomically(target, async (handle) => {
        received = await writeStreamToHandle(requireBody(output) as Readable, handle);
        checkLength(received, output.ContentLength);
      });
      return { key, sizeBytes: received, etag: unquote(output.ETag), lastModified: output.LastModified };
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const objectKey = this.objectKey(key);
    try {
      const output = await this.request('HeadObject', key, () =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey })),
      );
      return { key, sizeBytes: output.ContentLength ?? 0, etag: unquote(output.ETag), lastModified: output.LastModified };
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) {
        throw error;
      }
    }
    // A HEAD response has no body, so a missing bucket also reads as a plain
    // 404; ask the bucket once so that a wrong bucket name is not mistaken for
    // a missing object.
    await this.verifyBucket();
    return undefined;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    validateListPrefix(prefix);
    const found: ObjectInfo[] = [];
    let continuationToken: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.request('ListObjectsV2', prefix, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: `${this.prefix}${prefix}`,
            MaxKeys: this.listPageSize,
            ContinuationToken: continuationToken,
          }),
        ),
      );
      for (const entry of page.Contents ?? []) {
        if (entry.Key === undefined || entry.Key.endsWith('/')) {
          continue; // folder placeholders that some tools create
        }
        found.push({
          key: entry.Key.slice(this.prefix.length),
          sizeBytes: entry.Size ?? 0,
          etag: unquote(entry.ETag),
          lastModified: entry.LastModified,
        });
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
    return found;
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    await this.request('DeleteObject', key, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey })),
    );
  }

  /** Closes the HTTP connections; the store cannot be used afterwards. */
  destroy(): void {
    this.client.destroy();
    this.uploadClient.destroy();
  }

  private async upload(key: string, objectKey: string, body: Uint8Array | Readable, sizeBytes: number): Promise<ObjectInfo> {
    const upload = new Upload({
      client: this.uploadClient,
      params: { Bucket: this.bucket, Key: objectKey, Body: body },
      partSize: this.partSizeBytes,
      queueSize: this.uploadConcurrency,
      leavePartsOnError: false,
    });
    try {
      const output = await upload.done();
      return { key, sizeBytes, etag: unquote((output as { ETag?: string }).ETag) };
    } catch (error) {
      throw this.translateError(error, 'Upload', key);
    }
  }

  /**
   * Checks once that the bucket can be listed. ListObjectsV2 is used rather
   * than HeadBucket because its error responses carry a code, which
   * distinguishes a missing bucket from unknown credentials.
   */
  private async verifyBucket(): Promise<void> {
    if (this.bucketVerified) {
      return;
    }
    await this.request('ListObjectsV2', '', () =>
      this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 })),
    );
    this.bucketVerified = true;
  }

  /** Runs one request under the retry policy and translates its failure. */
  private async request<T>(operation: string, key: string, send: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(send, {
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
      if (error.code === 'NoSuchKey' || error.code === 'NotFound' || error.code === 'HttpStatus404') {
        return new ObjectNotFoundError(uri);
      }
      const code = error.code;
      return new StorageRequestError({
        message: this.describeFailure(operation, uri, code, error),
        code,
        uri,
        httpStatus: error.httpStatus,
        transient: error.transient,
        attempts: error.attempts,
      });
    }
    if (error instanceof ObjectNotFoundError || error instanceof StorageRequestError) {
      return error;
    }
    // Errors raised outside a request (a local file that cannot be read).
    return error instanceof Error ? error : new Error(String(error));
  }

  private describeFailure(operation: string, uri: string, code: string, error: OperationFailedError): string {
    const status = error.httpStatus !== undefined ? `, HTTP ${error.httpStatus}` : '';
    const attempts = error.attempts === 1 ? '1 attempt' : `${error.attempts} attempts`;
    const hint = failureHint(code, this.bucket, this.settings, this.endpointLabel());
    const detail = hint ?? this.serverMessage(error.cause) ?? 'see the server logs for details';
    return `S3 ${operation} failed for ${uri} (${code}${status}, after ${attempts}): ${detail}`;
  }

  /** Returns the server's own message with any credential removed, for codes that have no hint. */
  private serverMessage(cause: unknown): string | undefined {
    const message = cause instanceof Error ? cause.message : undefined;
    if (message === undefined || message === '' || message === 'UnknownError') {
      return undefined;
    }
    const credentials = this.settings.credentials;
    return redactSecrets(message, [credentials?.accessKeyId, credentials?.secretAccessKey, credentials?.sessionToken]);
  }

  private endpointLabel(): string {
    return this.settings.endpoint ?? `the AWS S3 endpoint of region ${this.settings.region}`;
  }

  private objectKey(key: string): string {
    validateObjectKey(key);
    return `${this.prefix}${key}`;
  }

  private clientConfig(): S3ClientConfig {
    const customEndpoint = this.settings.endpoint !== undefined;
    return {
      region: this.settings.region,
      endpoint: this.settings.endpoint,
      forcePathStyle: this.settings.forcePathStyle,
      credentials: this.settings.credentials,
      // Retries are ours (see request() and the upload middleware).
      maxAttempts: 1,
      requestHandler: {
        connectionTimeout: this.args.connectionTimeoutMs ?? 5_000,
        socketTimeout: this.args.socketTimeoutMs ?? 60_000,
      },
      // Many S3-compatible servers, Cloud Storage among them, reject the
      // CRC32 checksum headers that the SDK adds by default since 3.729.
      ...(customEndpoint
        ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
        : {}),
    };
  }

  /** Retries every request that lib-storage sends (each part of an upload) under the store's policy. */
  private addRetryMiddleware(client: S3Client): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: unknown };
        const key = typeof input.Key === 'string' ? input.Key.slice(this.prefix.length) : '';
        const operation = (context.commandName ?? 'Request').replace(/Command$/, '');
        return withRetry(() => next(args), {
          ...this.args.retry,
          onRetry: (event) => this.args.onRetry?.({ ...event, uri: this.uriOf(key), operation }),
        });
      },
      { step: 'initialize', name: 'mildnetRetryMiddleware' },
    );
  }
}

/** Returns the likely cause and fix for well-known error codes, or undefined for the others. */
function failureHint(code: string, bucket: string, settings: S3ConnectionSettings, endpoint: string): string | undefined {
  const names = settings.names;
  switch (code) {
    case 'NoSuchBucket':
      return `the bucket "${bucket}" does not exist at ${endpoint}; create it or correct the bucket in the URI`;
    case 'AccessDenied':
    case 'AllAccessDisabled':
    case 'HttpStatus403':
      return `access was denied; check that the credentials from ${settings.credentialSource} are valid and may read, write, list and delete in bucket "${bucket}"`;
    case 'InvalidAccessKeyId':
    case 'XAdminUserNotFound':
      return `the server does not know the access key ID; check ${names.accessKeyId} or the file ${names.credentialsDir}/access-key-id (credentials from ${settings.credentialSource})`;
    case 'SignatureDoesNotMatch':
      return `the request signature does not match; check ${names.secretAccessKey} or the file ${names.credentialsDir}/secret-access-key (credentials from ${settings.credentialSource}), and ${names.region}`;
    case 'ExpiredToken':
    case 'InvalidToken':
    case 'TokenRefreshRequired':
      return `the session token is invalid or expired; refresh the credentials from ${settings.credentialSource}`;
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
      return `bucket "${bucket}" is in another region than "${settings.region}"; set ${names.region} to the bucket's region`;
    case 'InvalidBucketName':
      return `the server rejected the bucket name "${bucket}"; correct the bucket in the URI`;
    case 'ENOTFOUND':
      return `the host of ${endpoint} could not be resolved; check ${names.endpoint}`;
    case 'ECONNREFUSED':
      return `nothing accepted a connection at ${endpoint}; check ${names.endpoint} and that the server is running`;
    case 'Timeout':
      return `${endpoint} did not respond in time; check ${names.endpoint}, the network path and the server's health`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection to ${endpoint} was reset; check the server's health and retry`;
    default:
      return undefined;
  }
}

function requireBody(output: GetObjectCommandOutput): NonNullable<GetObjectCommandOutput['Body']> {
  if (output.Body === undefined) {
    throw Object.assign(new Error('GetObject response has no body'), { code: 'IncompleteBody' });
  }
  return output.Body;
}

function checkLength(received: number, expected: number | undefined): void {
  if (expected !== undefined && received !== expected) {
    throw Object.assign(new Error(`Response body has ${received} bytes but Content-Length is ${expected}`), {
      code: 'IncompleteBody',
    });
  }
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"(.*)"$/, '$1');
}
