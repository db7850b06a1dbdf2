import type { V1ConfigMap, V1Job, V1OwnerReference, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';

import { Reason } from '../api/conditions';
import { CONFIG_FILE_NAME, MILDNETJOB_LABEL } from '../api/constants';
import { splitKey, type MildnetJob, type MildnetJobStatus } from '../api/types';
import type { PresetCatalog } from '../config/presets';
import type { ChildKind, ClusterClient, Lister } from '../kube/cluster';
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
/** Interval at which a MildnetJob whose child names are taken checks again whether they are free. */
export const NAME_CONFLICT_RETRY_MS = 30_000;

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

    const pods = caches.pods.list(namespace).filter((pod) => pod.metadata?.labels?.[MILDNETJOB_LABEL] === name);
    const progress = this.args.progress.get(key);
    let job = caches.jobs.get(jobName(mj), namespace);

    // A name taken by someone else's object is reported and checked again later; the operator never adopts or deletes it.
    const cachedConflict = this.findNameConflict(mj);
    if (cachedConflict) return this.reportNameConflict(mj, cachedConflict, now, log);

    // A spec that cannot run fails the MildnetJob at once, because retrying would not help. If its Job already
    // runs (the operator's GPU types changed since), the Job is left alone and only the status is kept up to date.
    let resolved: ResolvedSpec;
    try {
      resolved = resolveSpec(mj, this.args.catalog, this.args.settings);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (job) {
        log.info({ message }, 'MildnetJob spec no longer resolves; keeping its existing Job');
        return this.writeStatus(mj, { job, pods, progress, model: mj.status?.model, now }, log);
      }
      log.info({ reason: Reason.InvalidSpec, message }, 'MildnetJob spec is invalid; marking it Failed');
      return this.writeStatus(mj, { job: undefined, pods: [], progress: undefined, model: undefined, invalidSpec: message, now }, log);
    }

    // The config file and the metrics Service exist before the Job, so its pods start with both.
    const conflicts = await Promise.all([this.ensureConfigMap(mj, resolved, log), this.ensureService(mj, log)]);
    const childConflict = conflicts.find((c) => c !== undefined);
    if (childConflict) return this.reportNameConflict(mj, childConflict, now, log);

    // One Job per MildnetJob, named after it, so a restarted operator finds it instead of creating another.
    // AlreadyExists on our own Job means the cache is behind the server: wait for it rather than guess the Job's state.
    if (!job) {
      const render = () => this.args.cluster.createJob(renderJob(mj, resolved, this.args.settings.metricsPort));
      const result = await this.create('jobs', jobName(mj), mj, render, log);
      if (result.conflict) return this.reportNameConflict(mj, result.conflict, now, log);
      if (!result.created) return { requeueAfterMs: CACHE_WAIT_MS };
      job = result.created;
    }

    // spec.runPolicy.suspend is the only field synced into an existing Job.
    const suspend = desiredJobSuspend(mj, job);
    if ((job.spec?.suspend ?? false) !== suspend) {
      await this.args.cluster.setJobSuspend(namespace, jobName(mj), suspend);
      log.info({ suspend }, 'Set Job suspend');
    }

    // Status comes from the Job, its pods and the trainer's progress.
    const observed: ObservedState = {
      job,
      pods,
      progress,
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

  /** Creates the ConfigMap or restores its data; returns a name-conflict message when the name is taken. */
  private async ensureConfigMap(mj: MildnetJob, resolved: ResolvedSpec, log: Logger): Promise<string | undefined> {
    const desired = renderConfigMap(mj, resolved.config);
    const existing = this.args.caches.configMaps.get(configMapName(mj), mj.metadata.namespace);
    if (!existing) {
      return (await this.create('configmaps', configMapName(mj), mj, () => this.args.cluster.createConfigMap(desired), log)).conflict;
    }
    if (existing.data?.[CONFIG_FILE_NAME] === desired.data?.[CONFIG_FILE_NAME]) return undefined;

    await this.args.cluster.replaceConfigMap({
      ...desired,
      metadata: { ...desired.metadata, resourceVersion: existing.metadata?.resourceVersion },
    });
    log.info({ configMap: configMapName(mj) }, 'Restored ConfigMap data');
    return undefined;
  }

  /** Describes the first child name taken by an object that this MildnetJob does not control, if any. */
  private findNameConflict(mj: MildnetJob): string | undefined {
    const { namespace } = mj.metadata;
    const children: Array<[ChildKind, string, { metadata?: { ownerReferences?: V1OwnerReference[] } } | undefined]> = [
      ['jobs', jobName(mj), this.args.caches.jobs.get(jobName(mj), namespace)],
      ['configmaps', configMapName(mj), this.args.caches.configMaps.get(configMapName(mj), namespace)],
      ['services', serviceName(mj), this.args.caches.services.get(serviceName(mj), namespace)],
    ];
    const taken = children.find(([, , obj]) => obj && !isControlledBy(obj.metadata?.ownerReferences, mj));
    return taken ? conflictMessage(taken[0], taken[1], namespace) : undefined;
  }

  private async ensureService(mj: MildnetJob, log: Logger): Promise<string | undefined> {
    if (this.args.caches.services.get(serviceName(mj), mj.metadata.namespace)) return undefined;
    const render = () => this.args.cluster.createService(renderService(mj, this.args.settings.metricsPort));
    return (await this.create('services', serviceName(mj), mj, render, log)).conflict;
  }

  /**
   * Creates a child object. On AlreadyExists it reads the object's owners:
   * an object of this MildnetJob means the cache is behind (nothing is
   * returned), anything else is a name conflict (its message is returned).
   * The caches hold only labelled objects, so this read is what finds a
   * conflicting object without the mildnet.io/mildnetjob label.
   */
  private async create<T>(kind: ChildKind, name: string, mj: MildnetJob, call: () => Promise<T>, log: Logger): Promise<{ created?: T; conflict?: string }> {
    try {
      const created = await call();
      log.info({ kind, name }, 'Created child object');
      return { created };
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    const owners = await this.args.cluster.readOwnerReferences(kind, mj.metadata.namespace, name);
    if (owners !== undefined && !isControlledBy(owners, mj)) return { conflict: conflictMessage(kind, name, mj.metadata.namespace) };
    log.debug({ kind, name }, 'Child object already exists; waiting for the cache');
    return {};
  }

  private async reportNameConflict(mj: MildnetJob, message: string, now: Date, log: Logger): Promise<ReconcileResult> {
    log.info({ reason: Reason.JobNameConflict, message }, 'Child name is taken');
    await this.writeStatus(mj, { job: undefined, pods: [], progress: undefined, model: undefined, nameConflict: message, now }, log);
    return { requeueAfterMs: NAME_CONFLICT_RETRY_MS };
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

const KIND_NAMES: Record<ChildKind, string> = { jobs: 'Job', configmaps: 'ConfigMap', services: 'Service' };

function conflictMessage(kind: ChildKind, name: string, namespace: string): string {
  return `${KIND_NAMES[kind]} ${namespace}/${name} already exists and is not controlled by this MildnetJob; delete it or rename the MildnetJob`;
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
