import * as os from 'node:os';

import * as tf from '@tensorflow/tfjs';

import { registerWasmTrainingKernels, type WasmKernelRegistration } from './wasm/register';

/** Compute backends in the order `selectBackend` tries them. */
export const BACKEND_NAMES = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;

export type BackendName = (typeof BACKEND_NAMES)[number];

/** Environment variable that names the backend to use, like `SelectBackendArgs.preferred`. */
export const BACKEND_ENV_VAR = 'MILDNET_BACKEND';

/** The backend in use and why, for the caller to log. */
export interface BackendInfo {
  name: BackendName;
  /** Name under which tfjs registered it (`tensorflow` for both native packages). */
  tfjsBackend: string;
  reason: string;
  /** Whether the kernels use SIMD instructions (true for native TensorFlow, whose prebuilt libraries use AVX). */
  simd: boolean;
  /**
   * Threads the backend computes on. For native TensorFlow this is an
   * estimate: the cores Node reports, from which TensorFlow sizes its
   * default thread pools.
   */
  threads: number;
  /** Candidates tried before this one and the error each raised. */
  skipped: Array<{ name: BackendName; error: string }>;
  /** Kernels registered on wasm for training, present only when the wasm backend was chosen. */
  wasmKernels?: WasmKernelRegistration;
}

/** The part of a pino logger that `selectBackend` uses. */
export interface BackendLogger {
  debug(fields: object, message: string): void;
}

export interface SelectBackendArgs {
  /**
   * Backend to use instead of trying them in order, one of `BACKEND_NAMES`.
   * Defaults to the `MILDNET_BACKEND` environment variable, then to none.
   * When the preferred backend fails to load, `selectBackend` rejects rather
   * than falling back, so a job never runs on a slower backend than asked.
   */
  preferred?: string;
  /**
   * Logs each skipped candidate at debug level. The choice itself is left to
   * the caller to log from the returned info. Defaults to no logging.
   */
  logger?: BackendLogger;
  /** Environment to read `MILDNET_BACKEND` from. Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Loads a package by name. Defaults to `require`. Tests pass a loader that fails. */
  loadModule?: (packageName: string) => unknown;
}

interface Candidate {
  tfjsBackend: string;
  simd: boolean;
  threads: number;
  wasmKernels?: WasmKernelRegistration;
}

/**
 * Picks the compute backend: @tensorflow/tfjs-node-gpu, then
 * @tensorflow/tfjs-node, then wasm (XNNPACK, with this project's training
 * kernels registered first), then tfjs's pure-JavaScript cpu backend.
 *
 * Native packages are optional dependencies whose install downloads
 * libtensorflow, so their absence is expected and only moves on to the next
 * candidate.
 *
 * NOTE: tf.enableProdMode() is left to the caller. In tfjs 4.22 it only
 * silences tfjs's own warnings (debug checks are already off by default), and
 * those warnings report overridden kernels and backend failures.
 */
export async function selectBackend(args: SelectBackendArgs = {}): Promise<BackendInfo> {
  const env = args.env ?? process.env;
  const loadModule = args.loadModule ?? ((packageName: string) => require(packageName) as unknown);
  const preferred = args.preferred ?? nonEmpty(env[BACKEND_ENV_VAR]);

  if (preferred !== undefined) {
    const name = parseBackendName(preferred, args.preferred !== undefined ? 'preferred' : BACKEND_ENV_VAR);
    return selectPreferred(name, loadModule);
  }

  const skipped: BackendInfo['skipped'] = [];
  for (const name of BACKEND_NAMES) {
    try {
      const candidate = await activate(name, loadModule);
      const reason =
        skipped.length === 0
          ? `${name} is the first backend that loaded`
          : `${skipped.map((entry) => entry.name).join(' and ')} did not load`;
      return { name, reason, skipped, ...candidate };
    } catch (error) {
      const message = errorMessage(error);
      skipped.push({ name, error: message });
      args.logger?.debug({ backend: name, err: message }, 'compute backend unavailable');
    }
  }
  throw new Error(
    `No compute backend could be initialised (${skipped.map((entry) => `${entry.name}: ${entry.error}`).join('; ')}). ` +
      'Reinstall the dependencies with npm ci.',
  );
}

async function selectPreferred(name: BackendName, loadModule: (packageName: string) => unknown): Promise<BackendInfo> {
  try {
    const candidate = await activate(name, loadModule);
    return { name, reason: 'requested', skipped: [], ...candidate };
  } catch (error) {
    throw new Error(
      `Requested compute backend '${name}' could not be initialised: ${errorMessage(error)}. ` +
        `Install its package, or unset ${BACKEND_ENV_VAR} to pick the first backend that loads.`,
      { cause: error },
    );
  }
}

/** Loads, registers and activates one backend, throwing when it is unavailable. */
async function activate(name: BackendName, loadModule: (packageName: string) => unknown): Promise<Candidate> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node': {
      loadModule(`@tensorflow/${name}`);
      await setTfjsBackend('tensorflow');
      return { tfjsBackend: 'tensorflow', simd: true, threads: os.availableParallelism() };
    }
    case 'wasm': {
      const wasm = loadModule('@tensorflow/tfjs-backend-wasm') as { getThreadsCount?: () => number };
      const wasmKernels = registerWasmTrainingKernels();
      await setTfjsBackend('wasm');
      const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
      const multithreaded = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
      const threads = multithreaded && wasm.getThreadsCount !== undefined ? wasm.getThreadsCount() : 1;
      return { tfjsBackend: 'wasm', simd, threads, wasmKernels };
    }
    case 'cpu': {
      await setTfjsBackend('cpu');
      return { tfjsBackend: 'cpu', simd: false, threads: 1 };
    }
  }
}

async function setTfjsBackend(tfjsName: string): Promise<void> {
  if (tf.findBackendFactory(tfjsName) === null) {
    throw new Error(`tfjs has no backend named '${tfjsName}' registered`);
  }
  const ok = await tf.setBackend(tfjsName);
  if (!ok) {
    throw new Error(`tfjs backend '${tfjsName}' failed to initialise`);
  }
}

function parseBackendName(value: string, source: string): BackendName {
  const name = value.trim();
  if ((BACKEND_NAMES as readonly string[]).includes(name)) {
    return name as BackendName;
  }
  throw new TypeError(`${source} is '${value}', expected one of ${BACKEND_NAMES.join(', ')}.`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Module-not-found messages list the whole require stack, and the first line names the package.
  return message.split('\n')[0];
}
