/**
 * Materializes a pod's volumes as host directories and links each
 * container's mount paths to them, for the node agent.
 *
 * Layout under the pod directory:
 *   volumes/NAME/          contents of volume NAME (ConfigMap keys as files, ...)
 *   containers/NAME/root/  the container's root: root + mountPath is a
 *                          symlink to the volume (or to the hostPath)
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { V1Container, V1KeyToPath, V1Pod, V1ResourceFieldSelector, V1Volume, V1VolumeProjection } from '@kubernetes/client-node';
import { expandReferences, fieldRefValue, resourceFieldValue, type ClusterData, type PathMapping } from './container-spec';

/** ClusterData plus the TokenRequest API that projected service-account tokens need. */
export interface VolumeSources extends ClusterData {
  serviceAccountToken(pod: V1Pod, audience: string | undefined, expirationSeconds: number): Promise<string>;
}

/** A volume that cannot be set up yet or at all; the pod stays in ContainerCreating and the agent retries. */
export class VolumeSetupError extends Error {
  override name = 'VolumeSetupError';
}

const DEFAULT_FILE_MODE = 0o644;
const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;

/** Writes every volume of the pod under volumesDir and returns each volume's host path by name. */
export async function prepareVolumes(
  pod: V1Pod,
  volumesDir: string,
  sources: VolumeSources,
  nodeAllocatable: Readonly<Record<string, string>>,
): Promise<Map<string, string>> {
  const hostPaths = new Map<string, string>();
  for (const volume of pod.spec?.volumes ?? []) {
    hostPaths.set(volume.name, await prepareVolume(pod, volume, volumesDir, sources, nodeAllocatable));
  }
  return hostPaths;
}

async function prepareVolume(
  pod: V1Pod,
  volume: V1Volume,
  volumesDir: string,
  sources: VolumeSources,
  nodeAllocatable: Readonly<Record<string, string>>,
): Promise<string> {
  const field = `spec.volumes[${volume.name}]`;
  const namespace = pod.metadata?.namespace ?? 'default';
  const dir = path.join(volumesDir, volume.name);

  if (volume.hostPath) {
    return prepareHostPath(volume.hostPath.path, volume.hostPath.type ?? '', field);
  }

  // Content volumes are written afresh on every attempt.
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });

  if (volume.emptyDir) {
    return dir;
  }
  if (volume.configMap) {
    const source = volume.configMap;
    const data = await sources.configMap(namespace, source.name ?? '');
    await writeKeys(dir, data, source.items, source.defaultMode, Boolean(source.optional), `${field}.configMap: ConfigMap ${namespace}/${source.name}`);
    return dir;
  }
  if (volume.secret) {
    const source = volume.secret;
    const data = await sources.secret(namespace, source.secretName ?? '');
    await writeKeys(dir, data, source.items, source.defaultMode, Boolean(source.optional), `${field}.secret: Secret ${namespace}/${source.secretName}`);
    return dir;
  }
  if (volume.downwardAPI) {
    for (const item of volume.downwardAPI.items ?? []) {
      const value = downwardApiValue(pod, item.fieldRef?.fieldPath, item.resourceFieldRef, nodeAllocatable, `${field}.downwardAPI`);
      await writeFile(dir, item.path, value, item.mode ?? volume.downwardAPI.defaultMode);
    }
    return dir;
  }
  if (volume.projected) {
    for (const [index, projection] of (volume.projected.sources ?? []).entries()) {
      await writeProjection(pod, projection, dir, volume.projected.defaultMode, sources, nodeAllocatable, `${field}.projected.sources[${index}]`);
    }
    return dir;
  }
  throw new VolumeSetupError(
    `${field} has a volume type that the node agent does not support (supported: emptyDir, hostPath, configMap, secret, downwardAPI, projected)`,
  );
}

async function prepareHostPath(hostPath: string, type: string, field: string): Promise<string> {
  if (type === 'DirectoryOrCreate') {
    await fs.mkdir(hostPath, { recursive: true });
  } else if (type === 'Directory' || type === 'File') {
    const stat = await fs.stat(hostPath).catch(() => undefined);
    const matches = type === 'Directory' ? stat?.isDirectory() : stat?.isFile();
    if (!matches) {
      throw new VolumeSetupError(`${field}.hostPath: ${hostPath} is not an existing ${type === 'Directory' ? 'directory' : 'file'}`);
    }
  }
  return hostPath;
}

async function writeProjection(
  pod: V1Pod,
  projection: V1VolumeProjection,
  dir: string,
  defaultMode: number | undefined,
  sources: VolumeSources,
  nodeAllocatable: Readonly<Record<string, string>>,
  field: string,
): Promise<void> {
  const namespace = pod.metadata?.namespace ?? 'default';
  if (projection.configMap) {
    const source = projection.configMap;
    const data = await sources.configMap(namespace, source.name ?? '');
    await writeKeys(dir, data, source.items, defaultMode, Boolean(source.optional), `${field}.configMap: ConfigMap ${namespace}/${source.name}`);
  } else if (projection.secret) {
    const source = projection.secret;
    const data = await sources.secret(namespace, source.name ?? '');
    await writeKeys(dir, data, source.items, defaultMode, Boolean(source.optional), `${field}.secret: Secret ${namespace}/${source.name}`);
  } else if (projection.downwardAPI) {
    for (const item of projection.downwardAPI.items ?? []) {
      const value = downwardApiValue(pod, item.fieldRef?.fieldPath, item.resourceFieldRef, nodeAllocatable, `${field}.downwardAPI`);
      await writeFile(dir, item.path, value, item.mode ?? defaultMode);
    }
  } else if (projection.serviceAccountToken) {
    const source = projection.serviceAccountToken;
    // NOTE: the token is requested once; unlike the kubelet, the agent does not refresh it before it expires.
    const token = await sources.serviceAccountToken(pod, source.audience, source.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS);
    await writeFile(dir, source.path, token, defaultMode);
  } else {
    throw new VolumeSetupError(`${field} has a projection that the node agent does not support (supported: configMap, secret, downwardAPI, serviceAccountToken)`);
  }
}

function downwardApiValue(
  pod: V1Pod,
  fieldPath: string | undefined,
  resourceFieldRef: V1ResourceFieldSelector | undefined,
  nodeAllocatable: Readonly<Record<string, string>>,
  field: string,
): string {
  if (fieldPath) {
    return fieldRefValue(pod, fieldPath, `${field}.fieldRef`);
  }
  if (resourceFieldRef) {
    const container = pod.spec?.containers.find((candidate) => candidate.name === resourceFieldRef.containerName);
    if (!container) {
      throw new VolumeSetupError(`${field}.resourceFieldRef.containerName "${resourceFieldRef.containerName}" is not a container of the pod`);
    }
    return resourceFieldValue(pod, container, resourceFieldRef, nodeAllocatable, `${field}.resourceFieldRef`);
  }
  throw new VolumeSetupError(`${field} item sets neither fieldRef nor resourceFieldRef`);
}

/** Writes ConfigMap or Secret keys as files: all keys, or only `items` (key → path, mode). */
async function writeKeys(
  dir: string,
  data: Record<string, Buffer> | undefined,
  items: V1KeyToPath[] | undefined,
  defaultMode: number | undefined,
  optional: boolean,
  sourceName: string,
): Promise<void> {
  if (!data) {
    if (optional) return;
    throw new VolumeSetupError(`${sourceName} not found; create it or mark the volume optional`);
  }
  const selected = items ?? Object.keys(data).map((key) => ({ key, path: key }) as V1KeyToPath);
  for (const item of selected) {
    const value = data[item.key];
    if (value === undefined) {
      if (optional) continue;
      throw new VolumeSetupError(`${sourceName} has no key "${item.key}"; add it or remove it from items`);
    }
    await writeFile(dir, item.path, value, item.mode ?? defaultMode);
  }
}

async function writeFile(dir: string, relativePath: string, content: string | Buffer, mode: number | undefined): Promise<void> {
  const target = path.resolve(dir, relativePath);
  if (!target.startsWith(dir + path.sep)) {
    throw new VolumeSetupError(`volume path "${relativePath}" leaves the volume directory; use a relative path without ".."`);
  }
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.writeFile(target, content, { mode: mode ?? DEFAULT_FILE_MODE });
  // writeFile applies the mode only when it creates the file, and through the umask.
  await fs.chmod(target, mode ?? DEFAULT_FILE_MODE);
}

/**
 * Links each volumeMount of the container under rootDir and returns the
 * container path → host path mappings used to rewrite its command and env.
 * subPathExpr is expanded with the container's environment.
 */
export async function mountVolumes(
  container: V1Container,
  volumePaths: ReadonlyMap<string, string>,
  rootDir: string,
  env: Readonly<Record<string, string>>,
): Promise<PathMapping[]> {
  const mappings: PathMapping[] = [];
  await fs.mkdir(rootDir, { recursive: true });
  for (const mount of container.volumeMounts ?? []) {
    const field = `spec.containers[${container.name}].volumeMounts[${mount.name}]`;
    const volumePath = volumePaths.get(mount.name);
    if (volumePath === undefined) {
      throw new VolumeSetupError(`${field} names no volume of the pod; add it to spec.volumes`);
    }
    const subPath = mount.subPathExpr ? expandReferences(mount.subPathExpr, env) : (mount.subPath ?? '');
    const hostPath = subPath ? path.join(volumePath, subPath) : volumePath;
    if (subPath && !(await exists(hostPath))) {
      await fs.mkdir(hostPath, { recursive: true });
    }

    // NOTE: a mount nested in another mount's path gets its link inside that volume, unlike a real container.
    const link = path.join(rootDir, mount.mountPath);
    await fs.mkdir(path.dirname(link), { recursive: true });
    if (!(await exists(link))) {
      await fs.symlink(hostPath, link);
    }
    mappings.push({ containerPath: mount.mountPath, hostPath });
  }
  return mappings;
}

async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}
