import * as YAML from 'yaml';

import { ConfigError } from './errors';
import type { JobConfig } from './job-config';
import { validateConfig } from './load';

/** Keys of the original .cnf files and the job-config fields they become. */
const CNF_FIELDS: Record<string, keyof JobConfig> = {
  model_id: 'model_id',
  loss: 'loss',
  optimizer: 'optimizer',
  train_csv: 'train_csv',
  val_csv: 'val_csv',
  train_epocs: 'epochs',
  batch_size: 'batch_size',
  lr: 'lr',
};

/** The original's cluster file; the MildnetJob's spec.resources replaces it. */
const CNF_CLUSTER_KEY = 'config';

function unquote(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length >= 2 && (trimmed[0] === '"' || trimmed[0] === "'") && trimmed.at(-1) === trimmed[0]) {
    return trimmed.slice(1, -1);
  }
  return trimmed;
}

/**
 * Converts an original job config (a shell file of KEY=VALUE lines, such as
 * `model_id="mildnet_vgg16"` and `train_epocs=20`) to the YAML job config,
 * validated against the schema. The image archive is named after the CSVs
 * as the original did: tops_cropped.zip for the cropped CSVs, else tops.zip.
 */
export function importCnf(text: string, source: string): { config: JobConfig; yaml: string } {
  const raw: Record<string, unknown> = {};
  let cluster: string | undefined;
  const problems: Array<{ path: string; message: string }> = [];

  text.split(/\r?\n/).forEach((line, index) => {
    const content = line.replace(/^\s*export\s+/, '').trim();
    if (content === '' || content.startsWith('#')) return;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(content);
    if (!match) {
      problems.push({ path: `line ${index + 1}`, message: `expected KEY=VALUE, got ${JSON.stringify(line)}` });
      return;
    }
    const [, key, value] = match;
    if (key === CNF_CLUSTER_KEY) {
      cluster = unquote(value);
      return;
    }
    const field = CNF_FIELDS[key];
    if (!field) {
      problems.push({ path: `line ${index + 1}`, message: `unknown key "${key}"; expected one of: ${Object.keys(CNF_FIELDS).join(', ')}, config` });
      return;
    }
    const text = unquote(value);
    raw[field] = ['epochs', 'batch_size', 'lr'].includes(field) && text !== '' && !Number.isNaN(Number(text)) ? Number(text) : text;
  });
  if (problems.length > 0) throw new ConfigError(source, problems);

  if (typeof raw.train_csv === 'string') raw.images = raw.train_csv.includes('cropped') ? 'tops_cropped.zip' : 'tops.zip';
  if (raw.model_id === 'alexnet') raw.input_size = 227;
  const config = validateConfig(raw, source);

  const header =
    `# Converted from ${source}.\n` +
    (cluster ? `# The original ran on ${cluster}; in a MildnetJob the cluster and GPU spec live in spec.resources.\n` : '');
  return { config, yaml: header + YAML.stringify(raw) };
}
