/**
 * Finds the file that a job config's `weights` field names and makes it
 * available on the local disk. `imagenet` names the Keras applications file
 * of the model's base in $MILDNET_WEIGHTS_DIR. Any other value is a path or
 * URI of an .h5 file. Remote files go through the data cache, so a restarted
 * trainer downloads them once.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import type { DatasetCache } from '../storage/cache';
import { parseStorageUri } from '../storage/uri';
import { imagenetWeightsFile, type ImagenetWeightsFile } from './imagenet-bases';
import { PretrainedWeightsError } from './pretrained-errors';

/** Environment variable with the folder (path or URI) of the keras.applications weights files. */
export const WEIGHTS_DIR_ENV = 'MILDNET_WEIGHTS_DIR';

/** Returns the folder where Keras caches the files it downloads: ~/.keras/models. */
export function defaultWeightsDir(): string {
  return path.join(os.homedir(), '.keras', 'models');
}

/** The job-config fields that locating the weights reads. */
export interface WeightsSourceFields {
  model_id: string;
  weights?: string;
  input_size: number;
  width_multiplier: number;
}

/** Location of a job's weights file. */
export interface WeightsLocation {
  /** Local path or storage URI of the .h5 file. */
  uri: string;
  /** The ImageNet file and its folder, when the config sets `imagenet`. */
  imagenet?: ImagenetWeightsFile & { dir: string };
}

function hasScheme(location: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(location);
}

/** Expands a leading `~/`, which YAML passes through unexpanded. */
function expandHome(location: string): string {
  return location === '~' || location.startsWith('~/') ? path.join(os.homedir(), location.slice(1)) : location;
}

function joinLocation(dir: string, fileName: string): string {
  return hasScheme(dir) ? `${dir.replace(/\/+$/, '')}/${fileName}` : path.join(dir, fileName);
}

/**
 * Returns where the `weights` of a config point to, or undefined when the
 * config has no `weights` (random initialisation). `env` supplies
 * MILDNET_WEIGHTS_DIR.
 */
export function locateWeights(config: WeightsSourceFields, env: NodeJS.ProcessEnv = process.env): WeightsLocation | undefined {
  if (config.weights === undefined) return undefined;
  if (config.weights !== 'imagenet') return { uri: expandHome(config.weights) };

  const file = imagenetWeightsFile(config.model_id, { inputSize: config.input_size, width: config.width_multiplier });
  const dir = expandHome(env[WEIGHTS_DIR_ENV] || defaultWeightsDir());
  return { uri: joinLocation(dir, file.fileName), imagenet: { ...file, dir } };
}

function notFoundError(location: WeightsLocation, modelId: string): PretrainedWeightsError {
  const { imagenet } = location;
  if (imagenet === undefined) {
    return new PretrainedWeightsError(
      `the weights file ${location.uri} was not found; set weights to the path or URI (file://, s3://, gs://) of a Keras ` +
        '.h5 weights file, or remove the field to start from random weights',
    );
  }
  return new PretrainedWeightsError(
    `"imagenet" reads ${imagenet.fileName}, the ImageNet weights of the ${imagenet.base} base of ${modelId}, ` +
      `but ${location.uri} was not found. Put the file in ${imagenet.dir}, or set ${WEIGHTS_DIR_ENV} to the folder ` +
      `(path or URI) that has it. To get it, run ${imagenet.downloadCommand} on a machine with internet access, ` +
      `then copy ~/.keras/models/${imagenet.fileName}`,
  );
}

export interface FetchWeightsArgs {
  modelId: string;
  /** Cache that remote files are downloaded to. */
  cache: DatasetCache;
}

/**
 * Makes the weights file available locally and returns its path. Local
 * files are used in place. A remote file is fetched through the cache,
 * which lists the file's folder and downloads only the file. Throws a
 * PretrainedWeightsError when the file does not exist, when a local path is a
 * folder, or when a URI names no file.
 */
export async function fetchWeightsFile(location: WeightsLocation, args: FetchWeightsArgs): Promise<string> {
  const parsed = parseStorageUri(location.uri, 'weights');
  if (parsed.scheme === 'file') {
    const stats = await fs.stat(parsed.path).catch(() => undefined);
    if (stats === undefined) throw notFoundError(location, args.modelId);
    if (!stats.isFile()) {
      throw new PretrainedWeightsError(`the weights path ${parsed.path} is a folder; set weights to the .h5 file in it`);
    }
    return parsed.path;
  }

  const slash = location.uri.lastIndexOf('/');
  const folder = location.uri.slice(0, slash + 1);
  const key = location.uri.slice(slash + 1);
  if (key === '' || slash < `${parsed.scheme}://`.length) {
    throw new PretrainedWeightsError(`the weights URI ${location.uri} names no file; set weights to the URI of the .h5 file, such as ${parsed.scheme}://bucket/models/weights.h5`);
  }
  const cached = await args.cache.fetch(folder, { include: (candidate) => candidate === key });
  const file = path.join(cached.localDir, key);
  const stats = await fs.stat(file).catch(() => undefined);
  if (stats === undefined) throw notFoundError(location, args.modelId);
  return file;
}
