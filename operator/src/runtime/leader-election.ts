import type { Clock, TimerHandle } from './clock';

/** The fields of a coordination.k8s.io/v1 Lease that leader election reads and writes. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions?: number;
  /** metadata.resourceVersion, for optimistic concurrency. */
  resourceVersion?: string;
}

/** Reads and writes one Lease. update() must fail when resourceVersion is stale. */
export interface LeaseClient {
  /** Returns undefined when the Lease does not exist. */
  get(): Promise<LeaseRecord | undefined>;
  create(record: LeaseRecord): Promise<LeaseRecord>;
  update(record: LeaseRecord): Promise<LeaseRecord>;
}

export interface LeaderElectionArgs {
  identity: string;
  clock: Clock;
  client: LeaseClient;
  /** How long a Lease stays valid without renewal. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying a failed renewal before giving up. Default 10 s. */
  renewDeadlineMs?: number;
  /** Interval between acquire or renew attempts. Default 2 s. */
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  /** Called once when leadership is lost (not on release()). */
  onStoppedLeading: () => void;
  onError?: (err: unknown) => void;
}

/**
 * Leader election on a Lease, in the manner of client-go's leaderelection:
 * a candidate takes the Lease when it is free or when the holder has not
 * renewed it for leaseDuration, as measured on the candidate's own clock
 * from the moment it last saw the record change (so clock skew between
 * replicas does not matter). The leader renews every retryPeriod and gives up
 * leadership when it could not renew for renewDeadline.
 */
export class LeaderElector {
  private readonly args: Required<Omit<LeaderElectionArgs, 'onError'>> & Pick<LeaderElectionArgs, 'onError'>;
  private leading = false;
  private stopped = false;
  private observed: { holder?: string; renewTime?: number } = {};
  private observedAt = 0;
  private lastRenewAt = 0;
  private timer: TimerHandle | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(args: LeaderElectionArgs) {
    this.args = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...args };
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = this.args;
    if (!(leaseDurationMs > renewDeadlineMs)) {
      throw new RangeError(`leaseDurationMs (${leaseDurationMs}) must be greater than renewDeadlineMs (${renewDeadlineMs})`);
    }
    if (!(renewDeadlineMs > retryPeriodMs)) {
      throw new RangeError(`renewDeadlineMs (${renewDeadlineMs}) must be greater than retryPeriodMs (${retryPeriodMs})`);
    }
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Starts trying to acquire the Lease; returns at once. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs one acquire-or-renew attempt; exposed so tests can step it with a fake clock. */
  async tick(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = this.attempt().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Stops the loop and, when leading, frees the Lease so another replica takes over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.args.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    if (!this.leading) return;
    this.leading = false;
    const current = await this.args.client.get();
    if (!current || current.holderIdentity !== this.args.identity) return;
    const now = new Date(this.args.clock.now());
    await this.args.client.update({ ...current, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now });
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.args.clock.setTimeout(() => {
      this.timer = undefined;
      void this.tick().finally(() => this.schedule(this.args.retryPeriodMs));
    }, delayMs);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    let acquired = false;
    try {
      acquired = await this.tryAcquireOrRenew();
    } catch (err) {
      this.args.onError?.(err);
    }
    const now = this.args.clock.now();
    if (acquired) {
      this.lastRenewAt = now;
      if (!this.leading && !this.stopped) {
        this.leading = true;
        this.args.onStartedLeading();
      }
      return;
    }
    if (this.leading && now - this.lastRenewAt >= this.args.renewDeadlineMs) {
      this.leading = false;
      this.stopped = true;
      this.args.onStoppedLeading();
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, identity, clock } = this.args;
    const now = clock.now();
    const leaseDurationSeconds = Math.ceil(this.args.leaseDurationMs / 1000);
    const current = await client.get();
    if (!current) {
      await client.create({
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: new Date(now),
        renewTime: new Date(now),
        leaseTransitions: 0,
      });
      this.observe({ holderIdentity: identity, renewTime: new Date(now) }, now);
      return true;
    }

    this.observe(current, now);
    const holder = current.holderIdentity ?? '';
    const durationMs = (current.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder !== '' && holder !== identity && now < this.observedAt + durationMs) return false;

    const takingOver = holder !== identity;
    const updated = await client.update({
      ...current,
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: new Date(now),
      acquireTime: takingOver ? new Date(now) : current.acquireTime,
      leaseTransitions: (current.leaseTransitions ?? 0) + (takingOver && holder !== '' ? 1 : 0),
    });
    this.observe(updated, now);
    return true;
  }

  /** Remembers when the record last changed, on this replica's clock. */
  private observe(record: LeaseRecord, now: number): void {
    const renewTime = record.renewTime ? new Date(record.renewTime).getTime() : undefined;
    if (record.holderIdentity !== this.observed.holder || renewTime !== this.observed.renewTime) {
      this.observed = { holder: record.holderIdentity, renewTime };
      this.observedAt = now;
    }
  }
}
