import * as fs from 'node:fs';
import * as path from 'node:path';

import { ConfigError, closestName } from './errors';
import { jobConfigsDir, loadConfigFile, type LoadConfigArgs } from './load';
import type { JobConfig } from './job-config';

export interface Preset {
  /** File name without `.yaml`, such as `mildnet_skip_1`; unique across folders. */
  name: string;
  /** Folder under job_configs/, or "" for the top level. */
  group: string;
  file: string;
}

/** Lists the bundled configs under job_configs/, sorted by group and name. */
export function listPresets(root: string = jobConfigsDir()): Preset[] {
  const presets: Preset[] = [];
  const visit = (dir: string, group: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full, group ? `${group}/${entry.name}` : entry.name);
      else if (entry.name.endsWith('.yaml')) presets.push({ name: entry.name.slice(0, -5), group, file: full });
    }
  };
  visit(root, '');
  return presets.sort((a, b) => a.group.localeCompare(b.group) || a.name.localeCompare(b.name));
}

export function findPreset(name: string, root: string = jobConfigsDir()): Preset {
  const presets = listPresets(root);
  const preset = presets.find((p) => p.name === name);
  if (!preset) {
    const suggestion = closestName(name, presets.map((p) => p.name));
    throw new ConfigError(name, [
      {
        path: '(preset)',
        message:
          `no bundled config is named "${name}"` +
          (suggestion ? `; did you mean "${suggestion}"?` : `; known presets: ${presets.map((p) => p.name).join(', ')}`),
      },
    ]);
  }
  return preset;
}

/**
 * Loads a config given either a file path or the name of a bundled preset.
 * A value that names an existing file always means the file.
 */
export function resolveConfig(fileOrPreset: string, args: LoadConfigArgs = {}): JobConfig {
  const looksLikePath = fileOrPreset.includes('/') || fileOrPreset.endsWith('.yaml') || fileOrPreset.endsWith('.yml');
  if (looksLikePath || fs.existsSync(fileOrPreset)) return loadConfigFile(fileOrPreset, args);
  return loadConfigFile(findPreset(fileOrPreset).file, args);
}
