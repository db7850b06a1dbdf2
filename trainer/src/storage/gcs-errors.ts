/**
 * Classification and messages for errors from @google-cloud/storage 7.x.
 * The client raises ApiError (numeric `code` = HTTP status, `errors[].reason`
 * from the JSON API), GaxiosError (resumable uploads), node-fetch's
 * FetchError (network failures, string `code` such as ECONNREFUSED) and
 * google-auth-library errors without any code.
 */
import { redactSecrets } from './errors';
import { classifyStorageError, ErrorClassification } from './retry';

/** Code of the error that the GCS store raises for a bucket that does not exist. The S3 store uses the same code. */
export const BUCKET_NOT_FOUND_CODE = 'NoSuchBucket';

/**
 * Code of a download whose object was replaced between reading its metadata
 * and its body. It is transient because the next attempt reads the new generation.
 */
export const OBJECT_REPLACED_CODE = 'ObjectReplaced';

/** Code given to google-auth-library's "Could not load the default credentials" error. */
export const CREDENTIALS_NOT_FOUND_CODE = 'CredentialsNotFound';

// The client's codes for a body whose CRC32C or MD5 does not match the
// server's, and the store's code for a replaced object. A retry can succeed.
const TRANSIENT_CLIENT_CODES = new Set(['CONTENT_DOWNLOAD_MISMATCH', 'FILE_NO_UPLOAD', 'FILE_NO_UPLOAD_DELETE', OBJECT_REPLACED_CODE]);

// JSON API reasons that mean "try again later" whatever the status.
const TRANSIENT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'backendError', 'internalError']);

interface ClientErrorFields {
  name?: unknown;
  code?: unknown;
  status?: unknown;
  type?: unknown;
  message?: unknown;
  errors?: unknown;
  response?: { status?: unknown };
}

/**
 * Classifies an error from the Cloud Storage client for the retry policy.
 * HTTP 408, 429 and 5xx other than 501, throttling reasons, connection
 * resets and refusals, timeouts and checksum mismatches are transient.
 * Other statuses, unresolvable hosts, missing credentials and unknown
 * errors are permanent.
 */
export function classifyGcsError(error: unknown): ErrorClassification {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as ClientErrorFields;
  const message = typeof fields.message === 'string' ? fields.message : '';

  if (typeof fields.code === 'string' && TRANSIENT_CLIENT_CODES.has(fields.code)) {
    return { transient: true, code: fields.code };
  }
  if (message.startsWith('Could not load the default credentials')) {
    return { transient: false, code: CREDENTIALS_NOT_FOUND_CODE };
  }

  const status = httpStatusOf(fields);
  if (status !== undefined) {
    const reason = firstReason(fields.errors);
    const transient =
      status === 408 || status === 429 || (status >= 500 && status !== 501) || (reason !== undefined && TRANSIENT_REASONS.has(reason));
    return { transient, code: reason ?? `HttpStatus${status}`, httpStatus: status };
  }

  // node-fetch reports its own timeout with a type and no code. A request
  // that gaxios aborts on its timeout is named AbortError.
  if (fields.type === 'request-timeout' || fields.name === 'AbortError' || /network timeout at/.test(message)) {
    return { transient: true, code: 'Timeout' };
  }
  // Network errors carry the Node.js code (ECONNREFUSED, ECONNRESET,
  // ENOTFOUND), which the shared classifier handles.
  return classifyStorageError(error);
}

function httpStatusOf(fields: ClientErrorFields): number | undefined {
  for (const candidate of [fields.code, fields.status, fields.response?.status]) {
    if (typeof candidate === 'number' && Number.isInteger(candidate) && candidate >= 100 && candidate <= 599) {
      return candidate;
    }
  }
  return undefined;
}

function firstReason(errors: unknown): string | undefined {
  if (!Array.isArray(errors)) {
    return undefined;
  }
  for (const entry of errors) {
    const reason = (entry as { reason?: unknown } | null)?.reason;
    if (typeof reason === 'string' && reason !== '') {
      return reason;
    }
  }
  return undefined;
}

/** Store details that failure messages name. */
export interface GcsFailureContext {
  bucket: string;
  /** Endpoint that requests go to. */
  endpoint: string;
  /** Source of the credentials, named in messages. */
  credentialSource: string;
  /** True when the endpoint came from STORAGE_EMULATOR_HOST. */
  emulator: boolean;
}

/** Returns the likely cause and fix for a failure, or undefined when there is no known one. */
export function gcsFailureHint(code: string, httpStatus: number | undefined, context: GcsFailureContext): string | undefined {
  const { bucket, endpoint, credentialSource } = context;
  const endpointSetting = context.emulator ? 'check STORAGE_EMULATOR_HOST' : `check that the network allows HTTPS to ${endpoint}`;
  if (code === BUCKET_NOT_FOUND_CODE) {
    return `the bucket "${bucket}" does not exist at ${endpoint}; check the bucket name in the URI, or create the bucket`;
  }
  if (code === CREDENTIALS_NOT_FOUND_CODE) {
    return (
      'no Google credentials were found. On GKE, run the pod as a Kubernetes service account that Workload Identity links ' +
      'to a Google service account. Elsewhere, set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, ' +
      'or set STORAGE_EMULATOR_HOST for an emulator'
    );
  }
  if (httpStatus === 401) {
    return `the request was not authenticated; check the credentials from ${credentialSource}`;
  }
  if (httpStatus === 403) {
    return `access was denied; grant the identity from ${credentialSource} the role roles/storage.objectAdmin on bucket "${bucket}", because the trainer reads, writes, lists and deletes objects`;
  }
  if (httpStatus === 429) {
    return 'Cloud Storage kept rejecting the request rate; reduce concurrent writers to the same objects or retry later';
  }
  switch (code) {
    case 'ENOTFOUND':
      return `the host of ${endpoint} could not be resolved; ${endpointSetting}`;
    case 'ECONNREFUSED':
      return `nothing accepted a connection at ${endpoint}; ${endpointSetting} and that the server is running`;
    case 'Timeout':
      return `${endpoint} did not respond in time; ${endpointSetting}, the network path and the server's health`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection to ${endpoint} was reset; check the server's health and retry`;
    case 'CONTENT_DOWNLOAD_MISMATCH':
    case 'FILE_NO_UPLOAD':
    case 'FILE_NO_UPLOAD_DELETE':
      return 'the checksum of the transferred bytes did not match the one Cloud Storage reported; check the network path for corruption and retry';
    default:
      return undefined;
  }
}

/**
 * Returns the error's own message without secrets. It removes bearer and
 * OAuth tokens, each string in secrets, and the values of the access_token,
 * refresh_token, id_token and upload_id query parameters. An upload_id is
 * removed because it grants write access to its resumable upload session.
 * Returns undefined for errors without a message.
 */
export function redactedClientMessage(cause: unknown, secrets: ReadonlyArray<string | undefined> = []): string | undefined {
  let message: string | undefined;
  if (cause instanceof Error) {
    message = cause.message;
  } else if (typeof cause === 'string') {
    message = cause;
  }
  if (message === undefined || message.trim() === '') {
    return undefined;
  }
  const redacted = message
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]')
    .replace(/\bya29\.[A-Za-z0-9._-]+/g, '[redacted]')
    .replace(/((?:access_token|refresh_token|upload_id|id_token)=)[^&\s"']+/gi, '$1[redacted]');
  return redactSecrets(redacted, secrets).trim();
}
