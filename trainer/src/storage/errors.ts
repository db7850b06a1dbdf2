/**
 * Errors raised by the storage backends. Messages name the URI (never a
 * credential), the error code and the likely fix; the raw SDK error is not
 * attached because its properties can carry the access key ID or the string
 * that was signed.
 */

/** An invalid storage URI, key or setting; raised before any request is sent. */
export class StorageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageConfigError';
  }
}

/** A request that failed permanently or ran out of retries. */
export class StorageRequestError extends Error {
  /** Error code from the server (`NoSuchBucket`) or the network (`ECONNREFUSED`). */
  readonly code: string;
  /** The URI of the object or prefix the request was for. */
  readonly uri: string;
  readonly httpStatus?: number;
  /** Whether the error was transient, in which case `attempts` ran out. */
  readonly transient: boolean;
  readonly attempts: number;

  constructor(fields: {
    message: string;
    code: string;
    uri: string;
    httpStatus?: number;
    transient: boolean;
    attempts: number;
  }) {
    super(fields.message);
    this.name = 'StorageRequestError';
    this.code = fields.code;
    this.uri = fields.uri;
    this.httpStatus = fields.httpStatus;
    this.transient = fields.transient;
    this.attempts = fields.attempts;
  }
}

/**
 * Replaces every occurrence of each secret in text with `[redacted]`.
 * Secrets shorter than 4 characters are skipped so that the redaction
 * cannot mangle ordinary words.
 */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let result = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4) {
      result = result.split(secret).join('[redacted]');
    }
  }
  return result;
}
