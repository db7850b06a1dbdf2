export interface ExponentialBackoffArgs {
  /** Delay after the first failure. Default 200 ms. */
  baseDelayMs?: number;
  /** Upper bound of the delay. Default 5 minutes. */
  maxDelayMs?: number;
  /** Growth per failure. Default 2. */
  factor?: number;
}

/** Per-key exponential backoff: base · factor^(failures − 1), capped at the maximum. */
export class ExponentialBackoff {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  private readonly failures = new Map<string, number>();

  constructor(args: ExponentialBackoffArgs = {}) {
    this.baseDelayMs = args.baseDelayMs ?? 200;
    this.maxDelayMs = args.maxDelayMs ?? 5 * 60_000;
    this.factor = args.factor ?? 2;
    if (!(this.baseDelayMs > 0)) throw new RangeError(`baseDelayMs must be > 0, got ${this.baseDelayMs}`);
    if (!(this.maxDelayMs >= this.baseDelayMs)) {
      throw new RangeError(`maxDelayMs must be >= baseDelayMs (${this.baseDelayMs}), got ${this.maxDelayMs}`);
    }
    if (!(this.factor >= 1)) throw new RangeError(`factor must be >= 1, got ${this.factor}`);
  }

  /** Records a failure of key and returns how long to wait before the next try. */
  next(key: string): number {
    const count = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, count);
    return Math.min(this.maxDelayMs, this.baseDelayMs * this.factor ** (count - 1));
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Forgets the failures of key after a success. */
  reset(key: string): void {
    this.failures.delete(key);
  }
}
