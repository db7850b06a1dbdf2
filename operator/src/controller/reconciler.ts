import type { V1ConfigMap, V1Job, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';

import { Reason } from '../api/conditions';
import { CONFIG_FILE_NAME, MILDNETJOB_LABEL } from '../api/constants';
import { splitKey, type MildnetJob, type MildnetJobStatus } from '../api/types';
import type { PresetCatalog } from '../config/presets';
import type { ClusterClient, Lister } from '../kube/cluster';
import { describeApiError, isAlreadyExists, isNotFound } from '../kube/errors';
import { computeStatus, isTerminal, type ObservedState, type Transition } from '../policies/status-policy';
import { desiredJobSuspend } from '../policies/suspend-policy';
import { ttlDecision } from '../policies/ttl-policy';
import { renderConfigMap } from '../render/configmap';
import { renderJob } from '../render/job';
import { configMapName, isControlledBy, jobName, serviceName } from '../render/names';
import { resolveSpec, type RenderSettings, type ResolvedSpec } from '../render/resolve';
import { renderService } from '../render/service';
import type { Clock } from '../runtime/clock';
import type { ReconcileResult } from '../runtime/controller';
import { renderEvent, type EventSpec } from './events';
import type { ProgressStore } from './progress';

/** How long to wait for the informer cache to show an object that already exists on the server. */
export const CACHE_WAIT_MS = 1000;

export interface Caches {
  mildnetJobs: Lister<MildnetJob>;
  jobs: Lister<V1Job>;
  pods: Lister<V1Pod>;
  configMaps: Lister<V1ConfigMap>;
  services: Lister<V1Service>;
}

export interface ReconcilerArgs {
  cluster: ClusterClient;
  caches: Caches;
  catalog: PresetCatalog;
  settings: RenderSettings;
  progress: ProgressStore;
  clock: Clock;
}

/**
 * Brings one MildnetJob's children and status in line with its spec. Level
 * based: every call compares the desired state with the informer caches and
 * acts on the difference, whatever event caused the call.
 */
export class Reconciler {
  constructor(private readonly args: ReconcilerArgs) {}

  async reconcile(key: string, log: Logger): Promise<ReconcileResult> {
    const { caches, clock } = this.args;
    const { namespace, name } = splitKey(key);
    const now = new Date(clock.now());

    // A MildnetJob that is gone or being deleted needs nothing: garbage collection removes its children.
    const mj = caches.mildnetJobs.get(name, namespace);
    if (!mj || mj.metadata.deletionTimestamp) {
      this.args.progress.delete(key);
      return {};
    }

    // A finished MildnetJob keeps its status; only its TTL is handled, and no child is recreated.
    if (isTerminal(mj.status)) return this.handleTTL(mj, now, log);

    // A spec that cannot run fails the MildnetJob at once; retrying would not help.
    let resolved: ResolvedSpec;
    try {
      resolved = resolveSpec(mj, this.args.catalog, this.args.settings);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log.info({ reason: Reason.InvalidSpec, message }, 'MildnetJob spec is invalid; marking it Failed');
      return this.writeStatus(mj, { job: undefined, pods: [], progress: undefined, model: undefined, invalidSpec: message, now }, log);
    }

    // The config file and the metrics Service exist before the Job, so its pods start with both.
    await Promise.all([this.ensureConfigMap(mj, resolved, log), this.ensureService(mj, log)]);

    // One Job per MildnetJob, named after it, so a restarted operator finds it instead of creating another.
    // AlreadyExists means the cache is behind the server: wait for it rather than guess the Job's state.
    let job = caches.jobs.get(jobName(mj), namespace);
    if (!job) {
      job = await this.create('Job', () => this.args.cluster.createJob(renderJob(mj, resolved, this.args.settings.metricsPort)), log);
      if (!job) return { requeueAfterMs: CACHE_WAIT_MS };
    }
    if (!isControlledBy(job.metadata?.ownerReferences, mj)) {
      throw new Error(
        `Job ${namespace}/${job.metadata?.name} exists but is not controlled by MildnetJob ${key}; delete the Job or rename the MildnetJob`,
      );
    }

    // spec.runPolicy.suspend is the only field synced into an existing Job.
    const suspend = desiredJobSuspend(mj, job);
    if ((job.spec?.suspend ?? false) !== suspend) {
      await this.args.cluster.setJobSuspend(namespace, jobName(mj), suspend);
      log.info({ suspend }, 'Set Job suspend');
    }

    // Status comes from the Job, its pods and the trainer's progress.
    const pods = caches.pods.list(namespace).filter((pod) => pod.metadata?.labels?.[MILDNETJOB_LABEL] === name);
    const observed: ObservedState = {
      job,
      pods,
      progress: this.args.progress.get(key),
      model: typeof resolved.config.model_id === 'string' ? resolved.config.model_id : undefined,
      now,
    };
    return this.writeStatus(mj, observed, log);
  }

  /** Writes the computed status once, then emits events for conditions that flipped, then handles TTL. */
  private async writeStatus(mj: MildnetJob, observed: ObservedState, log: Logger): Promise<ReconcileResult> {
    const { status, transitions } = computeStatus(mj, observed);
    let current: MildnetJob = mj;
    if (!sameStatus(mj.status, status)) {
      current = await this.args.cluster.replaceMildnetJobStatus({ ...mj, status });
      log.debug({ phase: status.phase }, 'Updated MildnetJob status');
    }
    await this.emit(current, transitions.map(toEvent), log);
    return isTerminal(status) ? this.handleTTL({ ...current, status }, observed.now, log) : {};
  }

  private async handleTTL(mj: MildnetJob, now: Date, log: Logger): Promise<ReconcileResult> {
    const decision = ttlDecision(mj, now);
    if (decision.action === 'requeue') return { requeueAfterMs: decision.afterMs };
    if (decision.action === 'none') return {};

    try {
      await this.args.cluster.deleteMildnetJob(mj.metadata.namespace, mj.metadata.name, mj.metadata.uid);
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
    log.info({ ttlSecondsAfterFinished: mj.spec.runPolicy?.ttlSecondsAfterFinished }, 'Deleted finished MildnetJob after its TTL');
    const message = `Deleted ${ttlMessage(mj)}`;
    await this.emit(mj, [{ type: 'Normal', reason: Reason.TTLExpired, message }], log);
    return {};
  }

  /** Creates the ConfigMap or restores its data. */
  private async ensureConfigMap(mj: MildnetJob, resolved: ResolvedSpec, log: Logger): Promise<void> {
    const desired = renderConfigMap(mj, resolved.config);
    const existing = this.args.caches.configMaps.get(configMapName(mj), mj.metadata.namespace);
    if (!existing) {
      await this.create('ConfigMap', () => this.args.cluster.createConfigMap(desired), log);
      return;
    }
    if (!isControlledBy(existing.metadata?.ownerReferences, mj)) {
      throw new Error(`ConfigMap ${mj.metadata.namespace}/${configMapName(mj)} exists but is not controlled by this MildnetJob; delete it`);
    }
    if (existing.data?.[CONFIG_FILE_NAME] === desired.data?.[CONFIG_FILE_NAME]) return;

    await this.args.cluster.replaceConfigMap({
      ...desired,
      metadata: { ...desired.metadata, resourceVersion: existing.metadata?.resourceVersion },
    });
    log.info({ configMap: configMapName(mj) }, 'Restored ConfigMap data');
  }

  private async ensureService(mj: MildnetJob, log: Logger): Promise<void> {
    if (this.args.caches.services.get(serviceName(mj), mj.metadata.namespace)) return;
    await this.create('Service', () => this.args.cluster.createService(renderService(mj, this.args.settings.metricsPort)), log);
  }

  /** Creates an object and returns it, or undefined when it already exists (the cache is behind the server). */
  private async create<T>(kind: string, call: () => Promise<T>, log: Logger): Promise<T | undefined> {
    try {
      const created = await call();
      log.info({ kind }, 'Created child object');
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      log.debug({ kind, message: describeApiError(err) }, 'Child object already exists; waiting for the cache');
      return undefined;
    }
  }

  /** Emits events after the status write; a failed event is logged, not retried. */
  private async emit(mj: MildnetJob, events: EventSpec[], log: Logger): Promise<void> {
    const now = new Date(this.args.clock.now());
    const create = async (event: EventSpec) => {
      try {
        await this.args.cluster.createEvent(renderEvent(mj, event, now));
      } catch (err) {
        log.info({ err: describeApiError(err), reason: event.reason }, 'Failed to create event');
      }
    };
    await Promise.all(events.map(create));
  }
}

function toEvent(transition: Transition): EventSpec {
  return { type: transition.warning ? 'Warning' : 'Normal', reason: transition.reason, message: transition.message };
}

function ttlMessage(mj: MildnetJob): string {
  const ttl = mj.spec.runPolicy?.ttlSecondsAfterFinished ?? 0;
  return `MildnetJob ${mj.metadata.name}: it finished at ${mj.status?.completionTime} and its ttlSecondsAfterFinished is ${ttl} s`;
}

/** Compares statuses as the API server stores them (JSON, keys in any order). */
export function sameStatus(a: MildnetJobStatus | undefined, b: MildnetJobStatus | undefined): boolean {
  return stableJson(a ?? {}) === stableJson(b ?? {});
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
