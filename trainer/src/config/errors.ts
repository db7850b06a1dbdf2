import type { ErrorObject } from 'ajv';

/** One problem found in a job config, ready to show to the user. */
export interface ConfigProblem {
  /** Dotted path of the field, such as `augmentation.zoom_range`. */
  path: string;
  message: string;
}

/**
 * Raised when a job config is invalid. It carries one problem per invalid
 * field so that a user can fix them all in one go.
 */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
    options?: { cause?: unknown },
  ) {
    super(
      `Invalid job config ${source}:\n` + problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n'),
      options,
    );
    this.name = 'ConfigError';
  }
}

/** Converts a JSON pointer such as `/augmentation/zoom_range` to `augmentation.zoom_range`. */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return '(root)';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Levenshtein distance, used to suggest the field a user probably meant. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** Returns the candidate a user most likely meant: the only one that starts with name, or the nearest by edit distance. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const extensions = candidates.filter((candidate) => name.length >= 3 && candidate.startsWith(name));
  if (extensions.length === 1) return extensions[0];

  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Turns ajv's errors into one problem per field, naming the bad value and
 * what the schema allows.
 */
export function describeAjvErrors(
  errors: ErrorObject[],
  config: unknown,
  propertiesAt: (path: string) => readonly string[],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();

  for (const error of errors) {
    const basePath = pointerToPath(error.instancePath);
    const value = valueAt(config, error.instancePath);
    let path = basePath;
    let message: string;

    switch (error.keyword) {
      case 'required': {
        const missing = (error.params as { missingProperty: string }).missingProperty;
        path = basePath === '(root)' ? missing : `${basePath}.${missing}`;
        message = 'is required but missing';
        break;
      }
      case 'additionalProperties': {
        const extra = (error.params as { additionalProperty: string }).additionalProperty;
        path = basePath === '(root)' ? extra : `${basePath}.${extra}`;
        const allowed = propertiesAt(basePath);
        const suggestion = closestName(extra, allowed);
        message = suggestion
          ? `is not a known field; did you mean "${suggestion}"?`
          : `is not a known field; known fields: ${allowed.join(', ')}`;
        break;
      }
      case 'enum': {
        const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
        const suggestion = typeof value === 'string' ? closestName(value, allowed.map(String)) : undefined;
        message =
          `got ${show(value)}; expected one of: ${allowed.map(String).join(', ')}` +
          (suggestion ? ` (did you mean "${suggestion}"?)` : '');
        break;
      }
      case 'type':
      {
        const type = (error.params as { type: string }).type;
        message = `got ${show(value)}; expected ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
      }
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const { comparison, limit } = error.params as { comparison: string; limit: number };
        message = `got ${show(value)}; expected a number ${comparison} ${limit}`;
        break;
      }
      default:
        message = `got ${show(value)}; ${error.message ?? 'is invalid'}`;
    }

    const key = `${path}\n${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push({ path, message });
    }
  }
  return problems;
}

function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let current: unknown = root;
  for (const part of pointerToPath(pointer).split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
