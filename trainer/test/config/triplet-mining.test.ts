import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadConfigFile, validateConfig } from '../../src/config';
import { problemsOf, VALID } from './support';

describe('triplet_mining', () => {
  test('defaults to no mining with pair labels', () => {
    expect(validateConfig(VALID, 'test.yaml').triplet_mining).toEqual({ strategy: 'none', labels: 'pairs' });
  });

  test('fills in the missing labels', () => {
    const config = validateConfig({ ...VALID, triplet_mining: { strategy: 'batch_hard' } }, 'test.yaml');
    expect(config.triplet_mining).toEqual({ strategy: 'batch_hard', labels: 'pairs' });
  });

  test('keeps a valid strategy and labels', () => {
    const config = validateConfig({ ...VALID, triplet_mining: { strategy: 'semi_hard', labels: 'folders' } }, 'test.yaml');
    expect(config.triplet_mining).toEqual({ strategy: 'semi_hard', labels: 'folders' });
  });

  const invalid: Array<[string, unknown, string, RegExp]> = [
    ['unknown strategy', { strategy: 'hard' }, 'triplet_mining.strategy', /got "hard"; expected one of: none, batch_hard, semi_hard/],
    ['misspelt strategy', { strategy: 'semihard' }, 'triplet_mining.strategy', /did you mean "semi_hard"/],
    ['unknown labels', { labels: 'classes' }, 'triplet_mining.labels', /got "classes"; expected one of: pairs, folders/],
    ['unknown field', { label: 'folders' }, 'triplet_mining.label', /did you mean "labels"/],
    ['not an object', 'batch_hard', 'triplet_mining', /got "batch_hard"; expected an object/],
  ];

  test.each(invalid)('rejects %s', (_name, value, field, message) => {
    const problems = problemsOf({ ...VALID, triplet_mining: value });
    const problem = problems.find((p) => p.path === field);
    expect(problem).toBeDefined();
    expect(problem?.message).toMatch(message);
  });

  test('takes overrides', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mildnet-config-'));
    try {
      const file = path.join(dir, 'a.yaml');
      fs.writeFileSync(file, Object.entries(VALID).map(([k, v]) => `${k}: ${v}`).join('\n'));
      const config = loadConfigFile(file, { overrides: ['triplet_mining.strategy=semi_hard', 'triplet_mining.labels=folders'] });
      expect(config.triplet_mining).toEqual({ strategy: 'semi_hard', labels: 'folders' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
