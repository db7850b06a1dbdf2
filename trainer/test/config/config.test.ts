import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  ConfigError,
  importCnf,
  listPresets,
  loadConfigFile,
  resolveConfig,
  validateConfig,
} from '../../src/config';
import { problemsOf, VALID } from './support';

describe('validateConfig', () => {
  test('fills in the defaults', () => {
    const config = validateConfig(VALID, 'test.yaml');
    expect(config.input_size).toBe(224);
    expect(config.images).toBe('images');
    expect(config.compat).toBe('fixed');
    expect(config.augmentation).toEqual({
      enabled: true,
      flip_horizontal: true,
      flip_vertical: true,
      zoom_range: 0.2,
      shear_range: 0.2,
      rotation_range: 30,
    });
    expect(config.checkpoint).toEqual({ every_steps: 0, keep_last: 2 });
  });

  test('leaves its input unchanged', () => {
    const raw = { ...VALID };
    validateConfig(raw, 'test.yaml');
    expect(raw).toEqual(VALID);
  });

  const invalid: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['missing field', { ...VALID, lr: undefined }, 'lr', /is required but missing/],
    ['unknown field with suggestion', { ...VALID, batchsize: 3 }, 'batchsize', /did you mean "batch_size"/],
    ['unknown field without suggestion', { ...VALID, colour: 'red' }, 'colour', /known fields: .*model_id/],
    ['enum with suggestion', { ...VALID, model_id: 'mildnet_vgg61' }, 'model_id', /got "mildnet_vgg61"; expected one of: .*did you mean "mildnet_vgg16"/],
    ['enum without suggestion', { ...VALID, optimizer: 'adam' }, 'optimizer', /got "adam"; expected one of: mo, rms/],
    ['wrong type', { ...VALID, batch_size: '16' }, 'batch_size', /got "16"; expected an integer/],
    ['fraction for integer', { ...VALID, epochs: 1.5 }, 'epochs', /got 1.5; expected an integer/],
    ['below minimum', { ...VALID, epochs: 0 }, 'epochs', /got 0; expected a number >= 1/],
    ['not above exclusive minimum', { ...VALID, lr: 0 }, 'lr', /got 0; expected a number > 0/],
    ['nested above maximum', { ...VALID, augmentation: { zoom_range: 3 } }, 'augmentation.zoom_range', /got 3; expected a number <= 0.9/],
    ['nested unknown field', { ...VALID, checkpoint: { every: 5 } }, 'checkpoint.every', /did you mean "every_steps"/],
    ['empty string', { ...VALID, train_csv: '' }, 'train_csv', /got ""/],
  ];

  test.each(invalid)('rejects %s', (_name, raw, field, message) => {
    const problems = problemsOf(JSON.parse(JSON.stringify(raw)));
    const problem = problems.find((p) => p.path === field);
    expect(problem).toBeDefined();
    expect(problem?.message).toMatch(message);
  });

  test('reports every problem at once', () => {
    const problems = problemsOf({ ...VALID, loss: 'hinge', lr: -1, epochs: 'ten' });
    expect(problems.map((p) => p.path).sort()).toEqual(['epochs', 'loss', 'lr']);
  });

  test('rejects a non-mapping document', () => {
    expect(() => validateConfig([1, 2], 'list.yaml')).toThrow(ConfigError);
  });

  test.each([
    ['head_units', { head_units: 64 }, /got 64, which model_id mildnet_vgg16 does not accept; only mildnet_mobilenet takes it/],
    ['batch_norm_momentum', { batch_norm_momentum: 0.9 }, /got 0.9, which model_id mildnet_vgg16 does not accept; only mildnet_mobilenet has BatchNormalization/],
    ['width_multiplier', { width_multiplier: 0.5 }, /got 0.5, which model_id mildnet_vgg16 does not accept; only mildnet_mobilenet takes a width multiplier/],
    ['width_multiplier', { model_id: 'mildnet_mobilenet', width_multiplier: 0.01 }, /got 0.01, .*expected a number of at least 1\/32/],
    ['input_size', { model_id: 'visnet_lrn2d_model', input_size: 32 }, /got 32, .*expected an integer of at least 64/],
  ])('rejects a model option the model does not take: %s', (field, fields, message) => {
    const problems = problemsOf({ ...VALID, ...fields });
    expect(problems).toHaveLength(1);
    expect(problems[0].path).toBe(field);
    expect(problems[0].message).toMatch(message);
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mildnet-config-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('applies overrides with types', () => {
    const file = path.join(dir, 'a.yaml');
    fs.writeFileSync(file, Object.entries(VALID).map(([k, v]) => `${k}: ${v}`).join('\n'));
    const config = loadConfigFile(file, { overrides: ['epochs=2', 'augmentation.enabled=false', 'lr=1e-2'] });
    expect(config.epochs).toBe(2);
    expect(config.augmentation.enabled).toBe(false);
    expect(config.lr).toBe(0.01);
  });

  test('names the line of a YAML syntax error', () => {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'model_id: mildnet_vgg16\nloss: [unclosed\n');
    expect(() => loadConfigFile(file)).toThrow(/bad\.yaml:\n {2}- line \d+, column \d+/);
  });

  test('rejects duplicate keys', () => {
    const file = path.join(dir, 'dup.yaml');
    fs.writeFileSync(file, 'epochs: 1\nepochs: 2\n');
    expect(() => loadConfigFile(file)).toThrow(ConfigError);
  });

  test('names a missing file', () => {
    expect(() => loadConfigFile(path.join(dir, 'none.yaml'))).toThrow(/none\.yaml:\n.*file not found/);
  });

  test('rejects a malformed override', () => {
    const file = path.join(dir, 'a.yaml');
    fs.writeFileSync(file, Object.entries(VALID).map(([k, v]) => `${k}: ${v}`).join('\n'));
    expect(() => loadConfigFile(file, { overrides: ['epochs'] })).toThrow(/expected KEY=VALUE/);
  });
});

describe('presets', () => {
  test('bundle the 25 original experiments', () => {
    const originals = listPresets().filter((p) => p.group !== 'quickstart');
    expect(originals).toHaveLength(25);
    expect(new Set(originals.map((p) => p.name)).size).toBe(25);
  });

  test.each(listPresets().map((p) => [p.name]))('%s is valid', (name) => {
    expect(() => resolveConfig(name)).not.toThrow();
  });

  test('keep the original hyperparameters', () => {
    const skip4 = resolveConfig('mildnet_skip_4');
    expect(skip4).toMatchObject({ model_id: 'mildnet_vgg16_skip_4', loss: 'hinge_loss', epochs: 20, batch_size: 16, lr: 0.001 });
    const big = resolveConfig('mildnet_vgg16_big');
    expect(big.optimizer).toBe('rms');
    const cropped = resolveConfig('mildnet_cropped');
    expect(cropped).toMatchObject({ train_csv: 'tops_cropped_train.csv', images: 'tops_cropped.zip', lr: 0.0001 });
    expect(resolveConfig('alexnet').input_size).toBe(227);
  });

  test('suggest a near preset name', () => {
    expect(() => resolveConfig('mildnt')).toThrow(/did you mean "mildnet"/);
  });
});

describe('importCnf', () => {
  const cnf = [
    'model_id="mildnet_vgg16"',
    'loss="hinge_loss"',
    'optimizer="mo"',
    'train_csv="tops_cropped_train.csv"',
    'val_csv="tops_cropped_val_full.csv"',
    'train_epocs=20',
    'batch_size=16',
    'lr=0.0001',
    'config=training_configs/cloudml-gpu.yaml',
  ].join('\n');

  test('converts an original config', () => {
    const { config, yaml } = importCnf(cnf, 'mildnet_cropped.cnf');
    expect(config).toMatchObject({ model_id: 'mildnet_vgg16', epochs: 20, batch_size: 16, lr: 0.0001, images: 'tops_cropped.zip' });
    expect(yaml).toMatch(/^# Converted from mildnet_cropped\.cnf\./);
    expect(yaml).toMatch(/training_configs\/cloudml-gpu\.yaml/);
  });

  test('equals the bundled conversion', () => {
    const { config } = importCnf(cnf, 'mildnet_cropped.cnf');
    expect(config).toEqual(resolveConfig('mildnet_cropped'));
  });

  test('names an unknown key and its line', () => {
    expect(() => importCnf('model_id="x"\nepochs=3\n', 'a.cnf')).toThrow(/line 2: unknown key "epochs"/);
  });

  test('validates the result', () => {
    expect(() => importCnf(cnf.replace('train_epocs=20', 'train_epocs=zero'), 'a.cnf')).toThrow(/epochs: got "zero"/);
  });
});
