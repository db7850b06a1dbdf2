/**
 * Turns a pod's container spec into a local process: argv, environment and
 * the mapping of container paths to host paths. Pure functions (apart from
 * ConfigMap and Secret reads through ClusterData) so that they can be tested
 * without a cluster.
 */
import type { V1Container, V1EnvVar, V1Pod, V1ResourceFieldSelector } from '@kubernetes/client-node';

/**
 * Local stand-in for a container image: the command a container of this image
 * runs on this machine.
 */
export interface LocalImage {
  /** Image ENTRYPOINT. A container's `command` replaces it. */
  entrypoint: string[];
  /** Image CMD, the default arguments. A container's `args` replace it, and a container `command` drops it. */
  cmd?: string[];
  /** Image ENV, overridden by the container's env. */
  env?: Record<string, string>;
  /** Host directory to run in when the container sets no workingDir. Default: the container's root directory. */
  workingDir?: string;
}

/** Maps a container's `image` field to a LocalImage, or undefined for an unknown image. */
export type ImageResolver = (image: string) => LocalImage | undefined;

/** A container spec that the node agent cannot run; the kubelet reports these as CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

/** ConfigMap and Secret contents as the node agent reads them from the API; undefined when the object does not exist. */
export interface ClusterData {
  configMap(namespace: string, name: string): Promise<Record<string, Buffer> | undefined>;
  secret(namespace: string, name: string): Promise<Record<string, Buffer> | undefined>;
}

/** A container path (a volume's mountPath) and the host path that replaces it. */
export interface PathMapping {
  containerPath: string;
  hostPath: string;
}

/**
 * Builds an ImageResolver from a table keyed by image reference. A reference
 * with a tag or digest also matches a table entry for the bare repository.
 */
export function imageResolver(images: Record<string, LocalImage> | ImageResolver): ImageResolver {
  if (typeof images === 'function') {
    return images;
  }
  return (image) => images[image] ?? images[stripTagAndDigest(image)];
}

function stripTagAndDigest(image: string): string {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  return lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest;
}

/**
 * Expands $(VAR) references as the kubelet does in env values, command and
 * args: a defined variable is replaced, an undefined one is left as written,
 * and $$ is an escaped $.
 */
export function expandReferences(text: string, env: Readonly<Record<string, string>>): string {
  let output = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char !== '$' || i + 1 >= text.length) {
      output += char;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      output += '$';
      i++;
      continue;
    }
    if (next !== '(') {
      output += char;
      continue;
    }
    const close = text.indexOf(')', i + 2);
    if (close < 0) {
      output += text.slice(i);
      break;
    }
    const name = text.slice(i + 2, close);
    output += Object.prototype.hasOwnProperty.call(env, name) ? env[name] : `$(${name})`;
    i = close;
  }
  return output;
}

/**
 * Returns the process argv with Docker's rules: `command` replaces the
 * entrypoint and drops the image's CMD, and `args` replace CMD. Parts from
 * the container spec get their $(VAR) references expanded and then pass
 * through `rewrite` (the mount-path rewrite). The image's own parts are
 * used as they are.
 */
export function containerArgv(
  container: V1Container,
  image: LocalImage,
  env: Readonly<Record<string, string>>,
  rewrite: (text: string) => string = (text) => text,
): string[] {
  const fromSpec = (parts: string[]): string[] => parts.map((part) => rewrite(expandReferences(part, env)));
  const command = container.command ? fromSpec(container.command) : image.entrypoint;
  let args = image.cmd ?? [];
  if (container.args) {
    args = fromSpec(container.args);
  } else if (container.command) {
    args = [];
  }
  const argv = [...command, ...args];
  if (argv.length === 0) {
    throw new ContainerConfigError(
      `container "${container.name}" has no command: set spec.containers[].command, or an entrypoint for image "${container.image}"`,
    );
  }
  return argv;
}

/**
 * Resolves a container's environment in the kubelet's order: `base`
 * (image env and service variables), then envFrom sources in order, then
 * env entries in order, each able to reference the variables before it.
 */
export async function resolveContainerEnv(
  pod: V1Pod,
  container: V1Container,
  base: Readonly<Record<string, string>>,
  data: ClusterData,
  nodeAllocatable: Readonly<Record<string, string>>,
): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = { ...base };

  for (const [index, source] of (container.envFrom ?? []).entries()) {
    const field = `spec.containers[${container.name}].envFrom[${index}]`;
    const prefix = source.prefix ?? '';
    const reference = source.configMapRef ?? source.secretRef;
    if (!reference?.name) {
      throw new ContainerConfigError(`${field} names neither a configMapRef nor a secretRef`);
    }
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    const values = source.configMapRef
      ? await data.configMap(namespace, reference.name)
      : await data.secret(namespace, reference.name);
    if (!values) {
      if (reference.optional) continue;
      throw new ContainerConfigError(`${field}: ${kind} ${namespace}/${reference.name} not found; create it or mark the reference optional`);
    }
    for (const [key, value] of Object.entries(values)) {
      // The API allows any printable key without "=" as a variable name.
      if (!key.includes('=')) env[prefix + key] = value.toString('utf8');
    }
  }

  for (const variable of container.env ?? []) {
    const value = await resolveEnvVar(pod, container, variable, env, data, nodeAllocatable);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

async function resolveEnvVar(
  pod: V1Pod,
  container: V1Container,
  variable: V1EnvVar,
  env: Readonly<Record<string, string>>,
  data: ClusterData,
  nodeAllocatable: Readonly<Record<string, string>>,
): Promise<string | undefined> {
  const field = `spec.containers[${container.name}].env[${variable.name}].valueFrom`;
  const source = variable.valueFrom;
  if (!source) {
    return expandReferences(variable.value ?? '', env);
  }
  if (source.fieldRef) {
    return fieldRefValue(pod, source.fieldRef.fieldPath, `${field}.fieldRef`);
  }
  if (source.resourceFieldRef) {
    return resourceFieldValue(pod, container, source.resourceFieldRef, nodeAllocatable, `${field}.resourceFieldRef`);
  }
  const namespace = pod.metadata?.namespace ?? 'default';
  const keyRef = source.configMapKeyRef ?? source.secretKeyRef;
  if (keyRef) {
    const kind = source.configMapKeyRef ? 'ConfigMap' : 'Secret';
    const values = source.configMapKeyRef ? await data.configMap(namespace, keyRef.name ?? '') : await data.secret(namespace, keyRef.name ?? '');
    const value = values?.[keyRef.key];
    if (value === undefined) {
      if (keyRef.optional) return undefined;
      const missing = values ? `has no key "${keyRef.key}"` : 'not found';
      throw new ContainerConfigError(`${field}: ${kind} ${namespace}/${keyRef.name} ${missing}; create it or mark the reference optional`);
    }
    return value.toString('utf8');
  }
  // NOTE: fileKeyRef (env from a file in an emptyDir, alpha in 1.34) is not supported.
  throw new ContainerConfigError(`${field} uses a source that the node agent does not support (supported: fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef)`);
}

/** Returns the value of a downward-API field path, as the kubelet does for env and downwardAPI volumes. */
export function fieldRefValue(pod: V1Pod, fieldPath: string, field = 'fieldRef'): string {
  const metadata = pod.metadata ?? {};
  const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (subscript) {
    const map = subscript[1] === 'labels' ? metadata.labels : metadata.annotations;
    return map?.[subscript[2]] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return metadata.name ?? '';
    case 'metadata.namespace':
      return metadata.namespace ?? '';
    case 'metadata.uid':
      return metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(metadata.labels);
    case 'metadata.annotations':
      return formatMap(metadata.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
    case 'status.podIP':
    case 'status.podIPs':
      return LOCAL_POD_IP;
    default:
      throw new ContainerConfigError(`${field}.fieldPath "${fieldPath}" is not supported by the node agent`);
  }
}

/** Every pod runs on the host network of this machine. */
export const LOCAL_POD_IP = '127.0.0.1';

function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((key) => `${key}="${map?.[key]}"`)
    .join('\n');
}

/**
 * Returns a resourceFieldRef value: the container's request or limit divided
 * by the divisor and rounded up, as the kubelet does. A missing limit
 * falls back to the node's allocatable amount, and a missing request to 0.
 */
export function resourceFieldValue(
  pod: V1Pod,
  container: V1Container,
  selector: V1ResourceFieldSelector,
  nodeAllocatable: Readonly<Record<string, string>>,
  field = 'resourceFieldRef',
): string {
  const target = selector.containerName
    ? pod.spec?.containers.find((candidate) => candidate.name === selector.containerName)
    : container;
  if (!target) {
    throw new ContainerConfigError(`${field}.containerName "${selector.containerName}" is not a container of the pod`);
  }
  const match = /^(limits|requests)\.(.+)$/.exec(selector.resource);
  if (!match) {
    throw new ContainerConfigError(`${field}.resource "${selector.resource}" is invalid; expected limits.NAME or requests.NAME`);
  }
  const [, kind, resource] = match;
  const resources = kind === 'limits' ? target.resources?.limits : target.resources?.requests;
  const fallback = kind === 'limits' ? nodeAllocatable[resource] : '0';
  const amount = parseQuantity(resources?.[resource] ?? fallback ?? '0', `${field}.resource`);
  const divisor = parseQuantity(selector.divisor ?? '1', `${field}.divisor`);
  if (divisor <= 0) {
    throw new ContainerConfigError(`${field}.divisor "${selector.divisor}" must be positive`);
  }
  return String(Math.ceil(amount / divisor - 1e-9));
}

const QUANTITY_SUFFIXES: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Parses a Kubernetes resource quantity ("500m", "2Gi", "1e3") into a number. */
export function parseQuantity(quantity: string, field = 'quantity'): number {
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(quantity.trim());
  if (!match) {
    throw new ContainerConfigError(`${field} "${quantity}" is not a valid quantity (examples: 500m, 2, 4Gi, 1e3)`);
  }
  const [, number, exponent, suffix] = match;
  const scale = exponent !== undefined ? 10 ** Number(exponent) : QUANTITY_SUFFIXES[suffix ?? ''];
  return Number(number) * scale;
}

/**
 * Replaces container paths in a command-line argument or env value by the
 * host paths that stand in for them. A container path matches where it is
 * the whole value, or starts the value or follows "=", ":", "," or
 * whitespace, and ends there or continues with "/". Longer container paths
 * are tried first, so a mount inside another mount wins.
 */
export function rewriteContainerPaths(text: string, mappings: readonly PathMapping[]): string {
  if (mappings.length === 0) {
    return text;
  }
  const hostPaths = new Map(mappings.map((mapping) => [trimTrailingSlash(mapping.containerPath), mapping.hostPath]));
  // One pass over the text, so a host path that was just inserted is never rewritten again.
  const alternatives = [...hostPaths.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = new RegExp(`(^|[=:,\\s])(${alternatives.join('|')})(?=$|[/:,\\s])`, 'g');
  return text.replace(pattern, (_match, lead: string, containerPath: string) => lead + hostPaths.get(containerPath));
}

function trimTrailingSlash(containerPath: string): string {
  return containerPath.replace(/\/+$/, '') || '/';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
