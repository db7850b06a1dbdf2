import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { defaultJobConfigsDir, loadPresetCatalog, mergeConfig, resolveJobConfig } from '../../src/config/presets';

const catalog = loadPresetCatalog();

describe('loadPresetCatalog', () => {
  test('loads every bundled preset', () => {
    const original = ['alexnet', 'mildnet', 'mildnet_skip_1', 'mildnet_vgg19', 'ranknet', 'vanila_vgg16', 'visnet', 'visnet-lrn2d'];
    for (const name of original) expect(catalog.presets.has(name)).toBe(true);
    expect(catalog.presets.size).toBeGreaterThanOrEqual(25);
    expect(catalog.presets.get('mildnet_skip_1')?.model_id).toBe('mildnet_vgg16_skip_1');
    expect(catalog.presets.get('visnet-lrn2d')?.model_id).toBe('visnet_lrn2d_model');
  });

  test('every preset is valid against the schema', () => {
    for (const [name, config] of catalog.presets) {
      expect({ name, valid: catalog.validate(config) }).toEqual({ name, valid: true });
    }
  });

  test('duplicate preset names are rejected', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'presets-'));
    fs.copyFileSync(path.join(defaultJobConfigsDir(), 'schema.json'), path.join(dir, 'schema.json'));
    fs.mkdirSync(path.join(dir, 'a'));
    fs.writeFileSync(path.join(dir, 'x.yaml'), 'model_id: alexnet\n');
    fs.writeFileSync(path.join(dir, 'a', 'x.yaml'), 'model_id: alexnet\n');
    expect(() => loadPresetCatalog(dir)).toThrow(/Preset name "x" is used by both/);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('mergeConfig', () => {
  const cases = [
    { name: 'override replaces a scalar', base: { lr: 0.1, epochs: 3 }, overrides: { lr: 0.2 }, expected: { lr: 0.2, epochs: 3 } },
    {
      name: 'nested objects merge by key',
      base: { augmentation: { enabled: true, zoom_range: 0.2 } },
      overrides: { augmentation: { zoom_range: 0.1 } },
      expected: { augmentation: { enabled: true, zoom_range: 0.1 } },
    },
    { name: 'new keys are added', base: {}, overrides: { seed: 4 }, expected: { seed: 4 } },
  ];
  test.each(cases)('$name', ({ base, overrides, expected }) => {
    expect(mergeConfig(base, overrides)).toEqual(expected);
  });
});

describe('resolveJobConfig', () => {
  test('preset with overrides', () => {
    const config = resolveJobConfig(catalog, 'alexnet', { epochs: 1 });
    expect(config.model_id).toBe('alexnet');
    expect(config.epochs).toBe(1);
  });

  test('config alone when complete', () => {
    const config = { model_id: 'ranknet', loss: 'hinge_loss', optimizer: 'mo', lr: 0.001, epochs: 1, batch_size: 2, train_csv: 't.csv', val_csv: 'v.csv' };
    expect(resolveJobConfig(catalog, undefined, config)).toEqual(config);
  });

  test('unknown preset names the field', () => {
    expect(() => resolveJobConfig(catalog, 'mildnett', undefined)).toThrow(/^spec.preset "mildnett" is not a bundled preset; use one of: alexnet,/);
  });

  test('invalid override names the field', () => {
    expect(() => resolveJobConfig(catalog, 'mildnet', { lr: -1 })).toThrow('spec.config.lr must be > 0');
  });

  test('missing required field names the field', () => {
    expect(() => resolveJobConfig(catalog, undefined, { model_id: 'ranknet' })).toThrow('spec.config.loss is missing');
  });
});
