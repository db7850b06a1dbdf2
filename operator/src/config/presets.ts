import * as fs from 'node:fs';
import * as path from 'node:path';

import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';

import type { JobConfig } from '../api/types';

/** job_configs/ of this repository, which the operator image copies next to the operator. */
export function defaultJobConfigsDir(): string {
  return path.resolve(__dirname, '../../../job_configs');
}

/** The bundled job configs and the schema they follow. */
export interface PresetCatalog {
  /** Preset name (file name without .yaml) → parsed config. */
  presets: ReadonlyMap<string, JobConfig>;
  schema: Record<string, unknown>;
  validate: ValidateFunction;
}

/**
 * Loads job_configs/schema.json and every `*.yaml` under the folder. Throws
 * when two files share a name, because preset names must be unique.
 */
export function loadPresetCatalog(dir: string = defaultJobConfigsDir()): PresetCatalog {
  const schemaPath = path.join(dir, 'schema.json');
  const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);

  const presets = new Map<string, JobConfig>();
  const sources = new Map<string, string>();
  for (const file of listYamlFiles(dir)) {
    const name = path.basename(file, '.yaml');
    const earlier = sources.get(name);
    if (earlier) {
      throw new Error(`Preset name "${name}" is used by both ${earlier} and ${file}; rename one of the files`);
    }
    sources.set(name, file);
    presets.set(name, parseYaml(fs.readFileSync(file, 'utf8')) as JobConfig);
  }
  return { presets: new Map([...presets].sort(([a], [b]) => a.localeCompare(b))), schema, validate };
}

function listYamlFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listYamlFiles(full));
    else if (entry.name.endsWith('.yaml')) files.push(full);
  }
  return files.sort();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merges overrides into a base config. Nested objects (augmentation,
 * checkpoint) merge key by key; any other value set in the overrides replaces
 * the base value.
 */
export function mergeConfig(base: JobConfig, overrides: JobConfig): JobConfig {
  const merged: JobConfig = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeConfig(current, value) : value;
  }
  return merged;
}

/** Formats ajv errors as `spec.config.lr must be > 0` style lines. */
export function formatSchemaErrors(errors: readonly ErrorObject[] | null | undefined, prefix: string): string {
  return (errors ?? [])
    .map((error) => {
      const missing = error.keyword === 'required' ? `.${String(error.params.missingProperty)}` : '';
      const extra = error.keyword === 'additionalProperties' ? `.${String(error.params.additionalProperty)}` : '';
      const where = `${prefix}${error.instancePath.replace(/\//g, '.')}${missing}${extra}`;
      return error.keyword === 'required' ? `${where} is missing` : `${where} ${error.message ?? 'is invalid'}`;
    })
    .join('; ');
}

/**
 * Resolves spec.preset and spec.config into one job config and validates it
 * against the schema. Throws a RangeError naming the field when the preset is
 * unknown or the merged config is invalid.
 */
export function resolveJobConfig(catalog: PresetCatalog, preset: string | undefined, overrides: JobConfig | undefined): JobConfig {
  let base: JobConfig = {};
  if (preset !== undefined) {
    const found = catalog.presets.get(preset);
    if (!found) {
      throw new RangeError(`spec.preset "${preset}" is not a bundled preset; use one of: ${[...catalog.presets.keys()].join(', ')}`);
    }
    base = found;
  }
  const merged = mergeConfig(base, overrides ?? {});
  if (!catalog.validate(merged)) {
    const where = preset === undefined ? 'spec.config' : `spec.config (merged with preset "${preset}")`;
    throw new RangeError(`Invalid ${where}: ${formatSchemaErrors(catalog.validate.errors, 'spec.config')}`);
  }
  return merged;
}
