import {
  backoffDelayMs,
  classifyStorageError,
  OperationFailedError,
  resolveRetryPolicy,
  RetryEvent,
  withRetry,
} from '../../src/storage/retry';

/** Creates a clock that advances only when the code under test sleeps. */
function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; sleeps: number[] } {
  let time = 0;
  const sleeps: number[] = [];
  return {
    now: () => time,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      time += ms;
    },
    sleeps,
  };
}

function serverError(code: string, status: number): Error {
  return Object.assign(new Error(`${code} from server`), { name: code, Code: code, $metadata: { httpStatusCode: status } });
}

function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code });
}

describe('classifyStorageError', () => {
  it.each([
    ['SlowDown', 503],
    ['ServiceUnavailable', 503],
    ['InternalError', 500],
    ['Throttling', 400],
    ['RequestTimeout', 400],
  ])('treats %s (HTTP %d) as transient', (code, status) => {
    expect(classifyStorageError(serverError(code, status))).toEqual({ transient: true, code, httpStatus: status });
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN'])('treats network error %s as transient', (code) => {
    expect(classifyStorageError(networkError(code))).toEqual({ transient: true, code });
  });

  it('treats SDK timeouts as transient', () => {
    const timeout = Object.assign(new Error('socket did not connect'), { name: 'TimeoutError' });

    expect(classifyStorageError(timeout)).toEqual({ transient: true, code: 'Timeout', httpStatus: undefined });
  });

  it('keeps the code of a reset that the SDK names TimeoutError', () => {
    const reset = Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' });

    expect(classifyStorageError(reset).code).toBe('ECONNRESET');
  });

  it('reads the code back from the SDK error wrapper', () => {
    const refused = new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:1234');
    const hangUp = new Error('AWS SDK error wrapper for TimeoutError: socket hang up');

    expect(classifyStorageError(refused)).toEqual({ transient: true, code: 'ECONNREFUSED' });
    expect(classifyStorageError(hangUp)).toEqual({ transient: true, code: 'ECONNRESET' });
  });

  it.each([
    ['NoSuchBucket', 404],
    ['AccessDenied', 403],
    ['InvalidAccessKeyId', 403],
    ['SignatureDoesNotMatch', 403],
    ['NoSuchKey', 404],
  ])('treats %s (HTTP %d) as permanent', (code, status) => {
    expect(classifyStorageError(serverError(code, status))).toEqual({ transient: false, code, httpStatus: status });
  });

  it('names a body-less status by its number', () => {
    const headForbidden = Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 403 } });
    const headUnavailable = Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 503 } });

    expect(classifyStorageError(headForbidden)).toEqual({ transient: false, code: 'HttpStatus403', httpStatus: 403 });
    expect(classifyStorageError(headUnavailable)).toEqual({ transient: true, code: 'HttpStatus503', httpStatus: 503 });
  });

  it('treats 501 Not Implemented and unresolvable hosts as permanent', () => {
    expect(classifyStorageError(serverError('NotImplemented', 501)).transient).toBe(false);
    expect(classifyStorageError(networkError('ENOTFOUND'))).toEqual({ transient: false, code: 'ENOTFOUND' });
  });

  it('treats unknown errors without a status as permanent', () => {
    expect(classifyStorageError(new TypeError('x is not a function'))).toEqual({ transient: false, code: 'TypeError' });
    expect(classifyStorageError('a string')).toEqual({ transient: false, code: 'UnknownError' });
  });
});

describe('backoffDelayMs', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };

  it('doubles the ceiling per retry up to the cap', () => {
    const almostOne = () => 0.999_999;

    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(retry, policy, almostOne))).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it('draws uniformly below the ceiling', () => {
    expect(backoffDelayMs(3, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(200);
  });
});

describe('resolveRetryPolicy', () => {
  it('fills defaults', () => {
    expect(resolveRetryPolicy({ maxAttempts: 3 })).toEqual({
      maxAttempts: 3,
      baseDelayMs: 200,
      maxDelayMs: 5_000,
      maxElapsedMs: 60_000,
    });
  });

  it('rejects invalid values with the field name', () => {
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow('retry.maxAttempts is 0');
    expect(() => resolveRetryPolicy({ maxAttempts: 1.5 })).toThrow(RangeError);
    expect(() => resolveRetryPolicy({ baseDelayMs: -1 })).toThrow('retry.baseDelayMs is -1');
    expect(() => resolveRetryPolicy({ baseDelayMs: 500, maxDelayMs: 100 })).toThrow('raise maxDelayMs');
  });
});

describe('withRetry', () => {
  it('returns the first success without sleeping', async () => {
    const clock = fakeClock();

    const result = await withRetry(async (attempt) => `attempt ${attempt}`, clock);

    expect(result).toBe('attempt 1');
    expect(clock.sleeps).toEqual([]);
  });

  it('retries transient errors and reports each retry', async () => {
    const clock = fakeClock();
    const events: RetryEvent[] = [];
    const failures = [networkError('ECONNRESET'), serverError('SlowDown', 503)];

    const result = await withRetry(
      async (attempt) => {
        const failure = failures.shift();
        if (failure !== undefined) {
          throw failure;
        }
        return attempt;
      },
      { ...clock, random: () => 0.5, baseDelayMs: 100, maxDelayMs: 1_000, onRetry: (event) => events.push(event) },
    );

    expect(result).toBe(3);
    expect(events).toEqual([
      { attempt: 1, delayMs: 50, code: 'ECONNRESET', httpStatus: undefined },
      { attempt: 2, delayMs: 100, code: 'SlowDown', httpStatus: 503 },
    ]);
    expect(clock.sleeps).toEqual([50, 100]);
  });

  it('fails at once on a permanent error', async () => {
    const clock = fakeClock();
    const onRetry = jest.fn();
    let calls = 0;

    const failure = withRetry(
      async () => {
        calls++;
        throw serverError('AccessDenied', 403);
      },
      { ...clock, onRetry },
    );

    await expect(failure).rejects.toMatchObject({ code: 'AccessDenied', attempts: 1, transient: false });
    expect(calls).toBe(1);
    expect(onRetry).not.toHaveBeenCalled();
    expect(clock.sleeps).toEqual([]);
  });

  it('gives up after maxAttempts with the last error as cause', async () => {
    const clock = fakeClock();
    const last = networkError('ECONNREFUSED');

    const failure = withRetry(
      async () => {
        throw last;
      },
      { ...clock, maxAttempts: 4, random: () => 0.999 },
    );

    await expect(failure).rejects.toBeInstanceOf(OperationFailedError);
    await failure.catch((error: OperationFailedError) => {
      expect(error.attempts).toBe(4);
      expect(error.code).toBe('ECONNREFUSED');
      expect(error.transient).toBe(true);
      expect(error.cause).toBe(last);
      expect(error.message).toBe('ECONNREFUSED (still failing after 4 attempts)');
    });
    expect(clock.sleeps).toEqual([199, 399, 799]);
  });

  it('stops before a retry would pass maxElapsedMs', async () => {
    const clock = fakeClock();
    let calls = 0;

    const failure = withRetry(
      async () => {
        calls++;
        throw networkError('ECONNRESET');
      },
      { ...clock, maxAttempts: 100, baseDelayMs: 1_000, maxDelayMs: 1_000, maxElapsedMs: 3_500, random: () => 0.999 },
    );

    await expect(failure).rejects.toMatchObject({ code: 'ECONNRESET', attempts: 4 });
    expect(calls).toBe(4);
    expect(clock.now()).toBe(2_997);
  });

  it('uses a custom classifier', async () => {
    const clock = fakeClock();
    let calls = 0;

    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) {
          throw new Error('flaky');
        }
        return 'done';
      },
      { ...clock, classify: () => ({ transient: true, code: 'Flaky' }) },
    );

    expect(result).toBe('done');
    expect(calls).toBe(3);
  });
});
