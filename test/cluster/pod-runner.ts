/**
 * Runs one pod bound to the node agent's node as local processes and reports
 * its status the way a kubelet does. The node agent creates one PodRunner per
 * pod UID and feeds it the pod's updates.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  ContainerConfigError,
  LOCAL_POD_IP,
  containerArgv,
  resolveContainerEnv,
  rewriteContainerPaths,
  type ImageResolver,
  type LocalImage,
} from './container-spec';
import { VolumeSetupError, mountVolumes, prepareVolumes, type VolumeSources } from './pod-volumes';

/** The API calls a PodRunner makes. */
export interface PodApi {
  /** Applies the pod's status; resolves false when the pod no longer exists. */
  applyStatus(namespace: string, name: string, status: object): Promise<boolean>;
  /** Deletes the pod with grace period 0, only if it still has this UID. */
  deletePod(namespace: string, name: string, uid: string): Promise<void>;
}

export interface PodRunnerTiming {
  /** Wait before retrying a pod whose volumes or container config cannot be set up yet. */
  retryMs: number;
  /** First restart back-off of a crashed container; doubles per restart up to maxRestartBackoffMs. */
  restartBackoffMs: number;
  maxRestartBackoffMs: number;
}

export interface PodRunnerContext {
  podsDir: string;
  images: ImageResolver;
  sources: VolumeSources;
  api: PodApi;
  /** Environment every container starts from: host variables passed through and the service variables. */
  baseEnv: Readonly<Record<string, string>>;
  nodeAllocatable: Readonly<Record<string, string>>;
  gpus: GpuAllocator;
  logger: Logger;
  timing: PodRunnerTiming;
}

/** Environment variable with the host directory that stands for the container's "/". */
export const CONTAINER_ROOT_ENV = 'MILDNET_CONTAINER_ROOT';
const GPU_RESOURCE = 'nvidia.com/gpu';

type Terminated = {
  kind: 'terminated';
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: Date;
  finishedAt: Date;
  containerId: string;
};
type ContainerState = { kind: 'waiting'; reason: string; message?: string } | { kind: 'running'; startedAt: Date; containerId: string } | Terminated;

interface ContainerRecord {
  readonly spec: V1Container;
  readonly init: boolean;
  state: ContainerState;
  lastState?: Terminated;
  restartCount: number;
  child?: ChildProcess;
  exited?: Promise<Terminated>;
}

interface Launch {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** Hands out nvidia.com/gpu device indexes, as a device plugin would. No GPU is touched. */
export class GpuAllocator {
  private readonly owners: (string | undefined)[];

  constructor(count: number) {
    this.owners = new Array<string | undefined>(count).fill(undefined);
  }

  allocate(owner: string, count: number): number[] {
    const free = this.owners.flatMap((current, index) => (current === undefined ? [index] : []));
    if (free.length < count) {
      throw new ContainerConfigError(`${count} ${GPU_RESOURCE} requested but only ${free.length} free on this node`);
    }
    const chosen = free.slice(0, count);
    chosen.forEach((index) => (this.owners[index] = owner));
    return chosen;
  }

  release(ownerPrefix: string): void {
    this.owners.forEach((owner, index) => {
      if (owner?.startsWith(ownerPrefix)) this.owners[index] = undefined;
    });
  }
}

export class PodRunner {
  private pod: V1Pod;
  private readonly records: ContainerRecord[];
  private readonly podDir: string;
  private readonly abort = new AbortController();
  private readonly conditionTimes = new Map<string, { status: string; time: string }>();
  private readonly gpuDevices = new Map<string, number[]>();
  private readonly logger: Logger;
  private volumePaths: Map<string, string> | undefined;
  private startTime: Date | undefined;
  private finalPhase: PodPhase | undefined;
  private deleting = false;
  private disposed = false;
  private statusDirty = false;
  private publishing: Promise<void> | undefined;

  constructor(
    pod: V1Pod,
    private readonly context: PodRunnerContext,
  ) {
    this.pod = pod;
    const spec = pod.spec;
    const init = (spec?.initContainers ?? []).map((container) => newRecord(container, true, 'PodInitializing'));
    const main = (spec?.containers ?? []).map((container) => newRecord(container, false, 'ContainerCreating'));
    this.records = [...init, ...main];
    this.podDir = path.join(context.podsDir, `${this.namespace}_${this.name}_${this.uid}`);
    this.logger = context.logger.child({ pod: `${this.namespace}/${this.name}`, uid: this.uid });
  }

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  private get namespace(): string {
    return this.pod.metadata?.namespace ?? 'default';
  }

  private get name(): string {
    return this.pod.metadata?.name ?? '';
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  /** Starts the pod in the background; an unexpected error is logged and the pod keeps its last reported status. */
  start(): void {
    this.logger.info('starting pod');
    this.run().catch((error: unknown) => this.logger.error({ err: error }, 'pod run failed'));
  }

  /** Takes a newer version of the pod; a deletionTimestamp starts graceful termination. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp && !this.deleting) {
      this.deleting = true;
      const graceSeconds = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      this.terminateAndDelete(graceSeconds * 1000).catch((error: unknown) =>
        this.logger.error({ err: error }, 'graceful pod termination failed'),
      );
    }
  }

  /** Kills the pod's processes at once and stops reporting status; called when the pod object is gone from the API. */
  forget(): void {
    this.disposed = true;
    this.abort.abort();
    this.signalAll('SIGKILL');
    this.context.gpus.release(`${this.uid}/`);
  }

  /** Stops the pod's processes (SIGTERM, SIGKILL after graceMs) without API calls; used when the agent stops. */
  async shutdown(graceMs: number): Promise<void> {
    this.disposed = true;
    this.abort.abort();
    await this.stopProcesses(graceMs);
    this.context.gpus.release(`${this.uid}/`);
  }

  private async run(): Promise<void> {
    this.startTime = new Date();
    this.publish();

    const volumesDir = path.join(this.podDir, 'volumes');
    this.volumePaths = await this.retryUntilReady(
      () => prepareVolumes(this.pod, volumesDir, this.context.sources, this.context.nodeAllocatable),
      (message) => this.setWaiting(() => true, 'ContainerCreating', message),
    );
    if (!this.volumePaths) return;
    this.publish();

    for (const record of this.records.filter((candidate) => candidate.init)) {
      const succeeded = await this.runInitContainer(record);
      if (this.stopping) return;
      if (!succeeded) {
        this.finish();
        return;
      }
    }

    await Promise.all(this.records.filter((record) => !record.init).map((record) => this.superviseContainer(record)));
    if (!this.stopping) {
      this.finish();
    }
  }

  /** Runs an init container until it succeeds; returns false when it failed and the restart policy is Never. */
  private async runInitContainer(record: ContainerRecord): Promise<boolean> {
    for (;;) {
      const result = await this.runContainer(record);
      if (!result || this.stopping) return false;
      if (result.exitCode === 0) return true;
      if (this.restartPolicy === 'Never') return false;
      await this.backOff(record, result);
      if (this.stopping) return false;
    }
  }

  /** Runs a main container, restarting it as the pod's restartPolicy requires. */
  private async superviseContainer(record: ContainerRecord): Promise<void> {
    for (;;) {
      const result = await this.runContainer(record);
      if (!result || this.stopping) return;
      const restart = this.restartPolicy === 'Always' || (this.restartPolicy === 'OnFailure' && result.exitCode !== 0);
      if (!restart) return;
      await this.backOff(record, result);
      if (this.stopping) return;
    }
  }

  private get restartPolicy(): string {
    return this.pod.spec?.restartPolicy ?? 'Always';
  }

  private async backOff(record: ContainerRecord, result: Terminated): Promise<void> {
    const { restartBackoffMs, maxRestartBackoffMs } = this.context.timing;
    const delay = Math.min(restartBackoffMs * 2 ** record.restartCount, maxRestartBackoffMs);
    record.lastState = result;
    record.state = { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${delay} ms restarting failed container` };
    record.restartCount += 1;
    this.publish();
    await this.sleep(delay);
  }

  /** Starts the container's process and resolves when it exits; undefined when the pod stops before it starts. */
  private async runContainer(record: ContainerRecord): Promise<Terminated | undefined> {
    const launch = await this.retryUntilReady(
      () => this.prepareLaunch(record),
      (message, reason) => this.setWaiting((candidate) => candidate === record, reason, message),
    );
    if (!launch) return undefined;

    const logPath = path.join(this.podDir, 'logs', `${record.spec.name}.log`);
    await fs.mkdir(path.dirname(logPath), { recursive: true });
    const log = await fs.open(logPath, 'a');
    if (this.stopping) {
      // Deletion began while the launch was prepared, so stopProcesses() has already run without this container.
      await log.close();
      return undefined;
    }
    const startedAt = new Date();
    let child: ChildProcess;
    try {
      // detached: the process leads its own group, so signals reach everything it started.
      child = spawn(launch.argv[0], launch.argv.slice(1), {
        cwd: launch.cwd,
        env: launch.env,
        stdio: ['ignore', log.fd, log.fd],
        detached: true,
      });
    } catch (error) {
      // spawn() throws at once on arguments it rejects, such as a NUL byte in an env value from a Secret.
      await log.close();
      record.state = startError(error, startedAt);
      this.publish();
      return record.state;
    }

    // The exit listener goes on before any await: a short command can exit within one turn of the event loop.
    const containerId = `mildnet-agent://${child.pid ?? 'none'}`;
    record.child = child;
    record.exited = waitForExit(child, startedAt, containerId);
    await log.close();
    if (child.pid !== undefined) {
      record.state = { kind: 'running', startedAt, containerId };
      this.logger.info({ container: record.spec.name, pid: child.pid, argv: launch.argv }, 'container started');
      this.publish();
    }

    const result = await record.exited;
    record.child = undefined;
    record.state = result;
    this.logger.info({ container: record.spec.name, exitCode: result.exitCode, reason: result.reason }, 'container exited');
    this.publish();
    return result;
  }

  /** Resolves the image, environment, mounts and working directory of one container start. */
  private async prepareLaunch(record: ContainerRecord): Promise<Launch> {
    const spec = record.spec;
    const image = this.context.images(spec.image ?? '');
    if (!image) {
      throw new UnknownImageError(
        `image "${spec.image}" has no local command; add it to the node agent's images option (container "${spec.name}")`,
      );
    }

    const rootDir = path.join(this.podDir, 'containers', spec.name, 'root');
    const base: Record<string, string> = {
      ...this.context.baseEnv,
      ...(image.env ?? {}),
      HOSTNAME: this.name,
      [CONTAINER_ROOT_ENV]: rootDir,
    };
    const gpus = this.allocateGpus(spec);
    if (gpus !== undefined) {
      base.NVIDIA_VISIBLE_DEVICES = gpus.join(',');
    }

    const env = await resolveContainerEnv(this.pod, spec, base, this.context.sources, this.context.nodeAllocatable);
    const mappings = await mountVolumes(spec, this.volumePaths ?? new Map(), rootDir, env);
    const rewrite = (text: string): string => rewriteContainerPaths(text, mappings);
    for (const [key, value] of Object.entries(env)) {
      // Only values from the pod spec name container paths; host values stay as they are.
      if (base[key] !== value) env[key] = rewrite(value);
    }
    const argv = containerArgv(spec, image, env, rewrite);
    const cwd = await this.workingDir(spec, image, rootDir, rewrite);
    return { argv, env, cwd };
  }

  private allocateGpus(spec: V1Container): number[] | undefined {
    const requested = Number(spec.resources?.limits?.[GPU_RESOURCE] ?? 0);
    if (!requested) return undefined;
    const owner = `${this.uid}/${spec.name}`;
    const existing = this.gpuDevices.get(owner);
    if (existing) return existing;
    const devices = this.context.gpus.allocate(owner, requested);
    this.gpuDevices.set(owner, devices);
    return devices;
  }

  private async workingDir(spec: V1Container, image: LocalImage, rootDir: string, rewrite: (text: string) => string): Promise<string> {
    if (!spec.workingDir) {
      return image.workingDir ?? rootDir;
    }
    const mapped = rewrite(spec.workingDir);
    const dir = mapped !== spec.workingDir ? mapped : path.join(rootDir, spec.workingDir);
    await fs.mkdir(dir, { recursive: true });
    return dir;
  }

  /**
   * Calls setup() until it succeeds, reporting each failure through
   * onFailure (message, kubelet reason) and waiting timing.retryMs in between.
   * Resolves undefined when the pod stops first.
   */
  private async retryUntilReady<T>(setup: () => Promise<T>, onFailure: (message: string, reason: string) => void): Promise<T | undefined> {
    while (!this.stopping) {
      try {
        return await setup();
      } catch (error) {
        const reason = failureReason(error);
        const message = error instanceof Error ? error.message : String(error);
        this.logger.info({ reason, message }, 'pod not ready to start; retrying');
        onFailure(message, reason);
        this.publish();
        await this.sleep(this.context.timing.retryMs);
      }
    }
    return undefined;
  }

  private setWaiting(select: (record: ContainerRecord) => boolean, reason: string, message: string): void {
    for (const record of this.records.filter(select)) {
      if (record.state.kind === 'waiting') {
        record.state = { kind: 'waiting', reason, message };
      }
    }
  }

  /** Sets the terminal phase once every main container has stopped for good (or an init container failed). */
  private finish(): void {
    const main = this.records.filter((record) => !record.init);
    const succeeded = main.every((record) => record.state.kind === 'terminated' && record.state.exitCode === 0);
    this.finalPhase = succeeded ? 'Succeeded' : 'Failed';
    this.context.gpus.release(`${this.uid}/`);
    this.logger.info({ phase: this.finalPhase }, 'pod finished');
    this.publish();
  }

  /** Graceful deletion: SIGTERM, SIGKILL after the grace period, a terminal status, then delete the object. */
  private async terminateAndDelete(graceMs: number): Promise<void> {
    const alreadyFinished = this.finalPhase !== undefined;
    this.abort.abort();
    this.logger.info({ graceMs }, 'terminating pod');
    await this.stopProcesses(graceMs);
    if (!alreadyFinished) {
      this.finish();
    }
    await this.flushStatus();
    await this.context.api.deletePod(this.namespace, this.name, this.uid);
    this.logger.info('pod deleted');
  }

  private async stopProcesses(graceMs: number): Promise<void> {
    const running = this.records.filter((record) => record.child);
    const exits = running.map((record) => record.exited);
    this.signalAll('SIGTERM');
    const killTimer = setTimeout(() => this.signalAll('SIGKILL'), graceMs);
    await Promise.all(exits);
    clearTimeout(killTimer);
  }

  private signalAll(signal: NodeJS.Signals): void {
    for (const record of this.records) {
      const pid = record.child?.pid;
      if (pid === undefined) continue;
      try {
        process.kill(-pid, signal);
      } catch {
        // ESRCH: the process group has already exited.
      }
    }
  }

  private async sleep(ms: number): Promise<void> {
    await sleepFor(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  /** Schedules a status update; updates coalesce, and only one request is in flight at a time. */
  private publish(): void {
    if (this.disposed) return;
    this.statusDirty = true;
    if (this.publishing) return;
    this.publishing = this.drainStatus().finally(() => {
      this.publishing = undefined;
      // A publish() between the drain's last check and this callback found
      // a drain still running and started none: send that status now.
      if (this.statusDirty) this.publish();
    });
  }

  private async flushStatus(): Promise<void> {
    this.publish();
    while (this.publishing) {
      await this.publishing;
    }
  }

  private async drainStatus(): Promise<void> {
    while (this.statusDirty && !this.disposed) {
      this.statusDirty = false;
      try {
        const exists = await this.context.api.applyStatus(this.namespace, this.name, this.statusBody());
        if (!exists) {
          this.disposed = true;
        }
      } catch (error) {
        this.logger.warn({ err: error }, 'pod status update failed; retrying');
        this.statusDirty = true;
        await sleepFor(this.context.timing.retryMs);
      }
    }
  }

  private phase(): PodPhase {
    if (this.finalPhase) return this.finalPhase;
    const main = this.records.filter((record) => !record.init);
    const started = main.some((record) => record.state.kind !== 'waiting' || record.restartCount > 0);
    return started ? 'Running' : 'Pending';
  }

  private statusBody(): object {
    const phase = this.phase();
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const init = this.records.filter((record) => record.init);
    const main = this.records.filter((record) => !record.init);
    const initialized = init.every((record) => record.state.kind === 'terminated' && record.state.exitCode === 0);
    const unready = main.filter((record) => record.state.kind !== 'running').map((record) => record.spec.name);
    const ready = !terminal && !this.deleting && unready.length === 0;
    const notReadyReason = terminal ? 'PodCompleted' : 'ContainersNotReady';
    const notReadyMessage = terminal ? undefined : `containers with unready status: [${unready.join(' ')}]`;

    return {
      phase,
      conditions: [
        this.condition('PodReadyToStartContainers', this.volumePaths !== undefined && !terminal),
        this.condition('Initialized', initialized, 'ContainersNotInitialized'),
        this.condition('Ready', ready, notReadyReason, notReadyMessage),
        this.condition('ContainersReady', ready, notReadyReason, notReadyMessage),
        this.condition('PodScheduled', true),
      ],
      hostIP: LOCAL_POD_IP,
      hostIPs: [{ ip: LOCAL_POD_IP }],
      podIP: LOCAL_POD_IP,
      podIPs: [{ ip: LOCAL_POD_IP }],
      startTime: this.startTime ? formatTime(this.startTime) : undefined,
      initContainerStatuses: init.length > 0 ? init.map(containerStatus) : undefined,
      containerStatuses: main.map(containerStatus),
    };
  }

  /** Builds a pod condition; lastTransitionTime changes only when the status flips. */
  private condition(type: string, value: boolean, reason?: string, message?: string): object {
    const status = value ? 'True' : 'False';
    const previous = this.conditionTimes.get(type);
    const time = previous?.status === status ? previous.time : formatTime(new Date());
    this.conditionTimes.set(type, { status, time });
    return {
      type,
      status,
      lastTransitionTime: time,
      reason: value ? undefined : reason,
      message: value ? undefined : message,
    };
  }
}

function newRecord(spec: V1Container, init: boolean, waitingReason: string): ContainerRecord {
  return { spec, init, state: { kind: 'waiting', reason: waitingReason }, restartCount: 0 };
}

/** An image without a local command; the kubelet reports a failed pull as ErrImagePull. */
class UnknownImageError extends Error {
  override name = 'UnknownImageError';
}

function failureReason(error: unknown): string {
  if (error instanceof UnknownImageError) return 'ErrImagePull';
  if (error instanceof ContainerConfigError) return 'CreateContainerConfigError';
  if (error instanceof VolumeSetupError) return 'ContainerCreating';
  return 'CreateContainerError';
}

/** Resolves with the terminated state of a process; a process that fails to start ends with exit code 128, as containerd reports. */
function waitForExit(child: ChildProcess, startedAt: Date, containerId: string): Promise<Terminated> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      const signalNumber = signal ? os.constants.signals[signal] : undefined;
      const exitCode = code ?? 128 + (signalNumber ?? 0);
      resolve({
        kind: 'terminated',
        exitCode,
        signal: signalNumber,
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt,
        finishedAt: new Date(),
        containerId,
      });
    });
    child.once('error', (error) => resolve({ ...startError(error, startedAt), containerId }));
  });
}

function startError(error: unknown, startedAt: Date): Terminated {
  return {
    kind: 'terminated',
    exitCode: 128,
    reason: 'StartError',
    message: error instanceof Error ? error.message : String(error),
    startedAt,
    finishedAt: new Date(),
    containerId: 'mildnet-agent://none',
  };
}

function containerStatus(record: ContainerRecord): object {
  const state = record.state;
  return {
    name: record.spec.name,
    image: record.spec.image ?? '',
    imageID: record.spec.image ?? '',
    containerID: state.kind === 'waiting' ? undefined : state.containerId,
    ready: state.kind === 'running',
    started: state.kind === 'running',
    restartCount: record.restartCount,
    state: apiState(state),
    lastState: record.lastState ? apiState(record.lastState) : {},
  };
}

function apiState(state: ContainerState): object {
  switch (state.kind) {
    case 'waiting':
      return { waiting: { reason: state.reason, message: state.message } };
    case 'running':
      return { running: { startedAt: formatTime(state.startedAt) } };
    case 'terminated':
      return {
        terminated: {
          exitCode: state.exitCode,
          signal: state.signal,
          reason: state.reason,
          message: state.message,
          startedAt: formatTime(state.startedAt),
          finishedAt: formatTime(state.finishedAt),
          containerID: state.containerId,
        },
      };
  }
}

/** Formats a time as the API stores it: RFC 3339 in whole seconds. */
function formatTime(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}


/**
 * Returns the log file (stdout and stderr, appended across restarts) of a
 * container of the newest pod with this namespace and name under
 * podsDir, or undefined when there is none.
 */
export async function findContainerLog(podsDir: string, namespace: string, podName: string, container: string): Promise<string | undefined> {
  const prefix = `${namespace}_${podName}_`;
  const entries = await fs.readdir(podsDir).catch(() => [] as string[]);
  const candidates = await Promise.all(
    entries
      .filter((entry) => entry.startsWith(prefix))
      .map(async (entry) => {
        const logPath = path.join(podsDir, entry, 'logs', `${container}.log`);
        const stat = await fs.stat(logPath).catch(() => undefined);
        return stat ? { logPath, mtimeMs: stat.mtimeMs } : undefined;
      }),
  );
  const newest = candidates
    .filter((candidate) => candidate !== undefined)
    .sort((a, b) => b.mtimeMs - a.mtimeMs)[0];
  return newest?.logPath;
}
