/**
 * Retry policy for storage requests. Transient errors (5xx, throttling,
 * connection resets and refusals, timeouts) are retried with exponential
 * backoff and full jitter, and every other error fails at once. Time is
 * injected (`sleep`, `now`, `random`) so that tests run without waiting.
 */

export interface RetryPolicy {
  /** Attempts in total, the first one included. Default 6. */
  maxAttempts: number;
  /** Upper bound of the first retry's delay, in milliseconds. Default 200. */
  baseDelayMs: number;
  /** Cap on any single delay, in milliseconds. Default 5000. */
  maxDelayMs: number;
  /**
   * No retry starts once this many milliseconds have passed since the first
   * attempt began (the delay included). Default 60000.
   */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxElapsedMs: 60_000,
});

export interface ErrorClassification {
  transient: boolean;
  /** Server error code, Node.js error code, or a name made up here (`Timeout`, `HttpStatus503`). */
  code: string;
  httpStatus?: number;
}

/** A retry about to happen: attempt `attempt` failed and the next starts after `delayMs`. */
export interface RetryEvent {
  attempt: number;
  delayMs: number;
  code: string;
  httpStatus?: number;
}

export interface RetryOptions extends Partial<RetryPolicy> {
  onRetry?: (event: RetryEvent) => void;
  /** Waits ms milliseconds; defaults to setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds since an arbitrary origin; defaults to performance.now. */
  now?: () => number;
  /** Uniform random number in [0, 1); defaults to Math.random. */
  random?: () => number;
  /** Decides which errors are retried; defaults to classifyStorageError. */
  classify?: (error: unknown) => ErrorClassification;
}

/** The error withRetry throws: the last failure with its classification and attempt count. */
export class OperationFailedError extends Error {
  readonly attempts: number;
  readonly code: string;
  readonly transient: boolean;
  readonly httpStatus?: number;

  constructor(classification: ErrorClassification, attempts: number, cause: unknown) {
    const reason = classification.transient ? `still failing after ${attempts} attempts` : 'not retryable';
    super(`${classification.code} (${reason})`, { cause });
    this.name = 'OperationFailedError';
    this.attempts = attempts;
    this.code = classification.code;
    this.transient = classification.transient;
    this.httpStatus = classification.httpStatus;
  }
}

const THROTTLING_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
]);

const TRANSIENT_SERVER_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'OperationAborted',
]);

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  // Raised by the stores when a response body ends before its Content-Length.
  'IncompleteBody',
]);

/**
 * Classifies an error from the AWS SDK or from Node.js networking. Unknown
 * errors without an HTTP status count as permanent, so that a bug or a
 * misconfiguration fails fast instead of being retried.
 */
export function classifyStorageError(error: unknown): ErrorClassification {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    code?: unknown;
    Code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const wrapped = unwrapSdkWrapper(fields.message);
  const name = wrapped?.name ?? (typeof fields.name === 'string' ? fields.name : undefined);
  const serverCode = typeof fields.Code === 'string' ? fields.Code : undefined;
  const nodeCode = typeof fields.code === 'string' ? fields.code : wrapped?.code;
  const status = typeof fields.$metadata?.httpStatusCode === 'number' ? fields.$metadata.httpStatusCode : undefined;

  // The SDK names ECONNRESET and EPIPE errors "TimeoutError" too, so the
  // Node.js code is checked first.
  if (nodeCode !== undefined && nodeCode !== 'ETIMEDOUT' && TRANSIENT_NETWORK_CODES.has(nodeCode)) {
    return { transient: true, code: nodeCode };
  }
  if (name === 'TimeoutError' || nodeCode === 'ETIMEDOUT') {
    return { transient: true, code: 'Timeout', httpStatus: status };
  }
  if (nodeCode === 'ENOTFOUND') {
    return { transient: false, code: 'ENOTFOUND' };
  }

  const code = serverCode ?? (name !== undefined && name !== 'Error' && name !== 'Unknown' ? name : undefined);
  if (code !== undefined && (THROTTLING_CODES.has(code) || TRANSIENT_SERVER_CODES.has(code))) {
    return { transient: true, code, httpStatus: status };
  }
  if (status !== undefined) {
    const transient = status === 408 || status === 429 || (status >= 500 && status !== 501);
    return { transient, code: code ?? `HttpStatus${status}`, httpStatus: status };
  }
  return { transient: false, code: code ?? nodeCode ?? 'UnknownError' };
}

/**
 * Recovers the name and network code of an error that the AWS SDK replaced
 * with "AWS SDK error wrapper for TimeoutError: socket hang up". The SDK does
 * that to errors that fail its `instanceof Error` check, such as errors from
 * another realm (Node's own errors under Jest), and only the text survives.
 */
function unwrapSdkWrapper(message: unknown): { name: string; code?: string } | undefined {
  const match = typeof message === 'string' ? /^AWS SDK error wrapper for (\w+): (.*)$/s.exec(message) : null;
  if (match === null) {
    return undefined;
  }
  const [, name, inner] = match;
  const code = /\b(E[A-Z]{4,}|ERR_STREAM_PREMATURE_CLOSE|UND_ERR_SOCKET)\b/.exec(inner)?.[1];
  if (code !== undefined) {
    return { name, code };
  }
  // Node's "socket hang up" error carries ECONNRESET, which the text lacks.
  return { name, code: inner.includes('socket hang up') ? 'ECONNRESET' : undefined };
}

/**
 * Returns the delay before retry number `retry` (1 for the first retry):
 * a uniform draw from [0, min(maxDelayMs, baseDelayMs * 2^(retry-1))),
 * which is "full jitter".
 */
export function backoffDelayMs(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/** Merges options over DEFAULT_RETRY_POLICY and validates the result. */
export function resolveRetryPolicy(options: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy: RetryPolicy = {
    maxAttempts: options.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
    baseDelayMs: options.baseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
    maxElapsedMs: options.maxElapsedMs ?? DEFAULT_RETRY_POLICY.maxElapsedMs,
  };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(`retry.maxAttempts is ${policy.maxAttempts}; expected an integer of at least 1`);
  }
  for (const field of ['baseDelayMs', 'maxDelayMs', 'maxElapsedMs'] as const) {
    if (!Number.isFinite(policy[field]) || policy[field] < 0) {
      throw new RangeError(`retry.${field} is ${policy[field]}; expected a finite number of milliseconds >= 0`);
    }
  }
  if (policy.maxDelayMs < policy.baseDelayMs) {
    throw new RangeError(
      `retry.maxDelayMs (${policy.maxDelayMs}) is less than retry.baseDelayMs (${policy.baseDelayMs}); raise maxDelayMs`,
    );
  }
  return policy;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs operation until it succeeds, a permanent error occurs, or the policy
 * runs out of attempts or time. The operation receives the 1-based attempt
 * number. Failures reject with OperationFailedError, whose cause is the last
 * error.
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const policy = resolveRetryPolicy(options);
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  const classify = options.classify ?? classifyStorageError;
  const startedAt = now();

  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const classification = classify(error);
      if (!classification.transient || attempt >= policy.maxAttempts) {
        throw new OperationFailedError(classification, attempt, error);
      }

      const delayMs = backoffDelayMs(attempt, policy, random);
      if (now() - startedAt + delayMs > policy.maxElapsedMs) {
        throw new OperationFailedError(classification, attempt, error);
      }
      options.onRetry?.({ attempt, delayMs, code: classification.code, httpStatus: classification.httpStatus });
      await sleep(delayMs);
    }
  }
}
