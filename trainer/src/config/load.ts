import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import * as YAML from 'yaml';

import { ConfigError, describeAjvErrors, type ConfigProblem } from './errors';
import type { JobConfig } from './job-config';
import { imagenetConfigProblems } from '../models/imagenet-bases';
import { modelOptionProblems } from './model-options';

/**
 * Folder of job_configs/: the schema and the bundled experiment configs.
 * The trainer image copies it next to the trainer, as the repository has it.
 */
export function jobConfigsDir(): string {
  return process.env.MILDNET_JOB_CONFIGS_DIR ?? path.resolve(__dirname, '..', '..', '..', 'job_configs');
}

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  [key: string]: unknown;
};

let cachedSchema: JsonSchema | undefined;
let cachedValidator: ValidateFunction | undefined;

export function loadSchema(): JsonSchema {
  if (!cachedSchema) {
    const file = path.join(jobConfigsDir(), 'schema.json');
    cachedSchema = JSON.parse(fs.readFileSync(file, 'utf8')) as JsonSchema;
  }
  return cachedSchema;
}

function validator(): ValidateFunction {
  if (!cachedValidator) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
    cachedValidator = ajv.compile(loadSchema());
  }
  return cachedValidator;
}

/** Names of the fields that the schema allows at a dotted path ("(root)" for the top level). */
function propertiesAt(dottedPath: string): string[] {
  let node: JsonSchema | undefined = loadSchema();
  if (dottedPath !== '(root)') {
    for (const part of dottedPath.split('.')) node = node?.properties?.[part];
  }
  return Object.keys(node?.properties ?? {});
}

/**
 * Validates a parsed config, fills in the defaults and returns it as a
 * JobConfig. The input object is not modified.
 */
export function validateConfig(raw: unknown, source: string): JobConfig {
  const config = structuredClone(raw);
  const validate = validator();
  if (!validate(config)) {
    throw new ConfigError(source, describeAjvErrors(validate.errors ?? [], config, propertiesAt));
  }
  const crossFieldProblems = [...modelOptionProblems(config as JobConfig), ...imagenetConfigProblems(config as JobConfig)];
  if (crossFieldProblems.length > 0) throw new ConfigError(source, crossFieldProblems);
  return config as JobConfig;
}

/**
 * Parses an override such as `epochs=2` or `augmentation.enabled=false`.
 * The value is read as YAML, so numbers and booleans keep their types.
 */
export function parseOverride(text: string): { path: string[]; value: unknown } {
  const equals = text.indexOf('=');
  if (equals <= 0) {
    throw new ConfigError('--set', [
      { path: text, message: 'expected KEY=VALUE, such as epochs=2 or augmentation.enabled=false' },
    ]);
  }
  const key = text.slice(0, equals).trim();
  const value: unknown = YAML.parse(text.slice(equals + 1));
  return { path: key.split('.'), value };
}

export function applyOverrides(config: Record<string, unknown>, overrides: readonly string[]): void {
  for (const text of overrides) {
    const { path: keys, value } = parseOverride(text);
    let target = config;
    for (const key of keys.slice(0, -1)) {
      const next = target[key];
      if (next === undefined) target[key] = {};
      else if (next === null || typeof next !== 'object') {
        throw new ConfigError('--set', [{ path: keys.join('.'), message: `"${key}" is not an object, so it has no fields` }]);
      }
      target = target[key] as Record<string, unknown>;
    }
    target[keys[keys.length - 1]] = value;
  }
}

/** Parses YAML text, turning syntax errors into a ConfigError with the line and column. */
export function parseConfigText(text: string, source: string): Record<string, unknown> {
  const document = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const problems: ConfigProblem[] = document.errors.map((error) => ({
      path: error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '(yaml)',
      message: error.message.split('\n')[0],
    }));
    throw new ConfigError(source, problems);
  }
  const parsed: unknown = document.toJS();
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(source, [
      { path: '(root)', message: `got ${JSON.stringify(parsed)}; expected a mapping of fields such as model_id: mildnet_vgg16` },
    ]);
  }
  return parsed as Record<string, unknown>;
}

export interface LoadConfigArgs {
  /** Overrides in KEY=VALUE form, applied before validation. Defaults to none. */
  overrides?: readonly string[];
}

/** Reads a YAML job config from a file, applies overrides, validates it and fills in defaults. */
export function loadConfigFile(file: string, args: LoadConfigArgs = {}): JobConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(error)})`;
    throw new ConfigError(file, [{ path: '(file)', message: `${reason}; pass the path of a YAML job config, or a preset name from job_configs/` }], {
      cause: error,
    });
  }
  const raw = parseConfigText(text, file);
  applyOverrides(raw, args.overrides ?? []);
  return validateConfig(raw, file);
}
