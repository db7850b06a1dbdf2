import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { DEFAULT_MAX_STRING_LENGTH, MODEL_BOUNDS, schemaFromModel, toStructuralSchema, type ModelAttribute } from '../../src/crd/json-schema';

describe('toStructuralSchema', () => {
  const args = { dropDefaults: true, dropTopLevelRequired: true };

  test('converts draft-07 keywords', () => {
    const converted = toStructuralSchema(
      {
        $schema: 'http://json-schema.org/draft-07/schema#',
        title: 'x',
        type: 'object',
        additionalProperties: false,
        required: ['lr'],
        properties: {
          lr: { type: 'number', exclusiveMinimum: 0, maximum: 10, default: 1 },
          name: { type: 'string' },
          kind: { type: 'string', enum: ['a', 'abc'] },
          nested: { type: 'object', required: ['a'], properties: { a: { type: 'string', maxLength: 5 } } },
        },
      },
      args,
    );
    expect(converted).toEqual({
      type: 'object',
      properties: {
        lr: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 10 },
        name: { type: 'string', maxLength: DEFAULT_MAX_STRING_LENGTH },
        kind: { type: 'string', enum: ['a', 'abc'], maxLength: 3 },
        nested: { type: 'object', required: ['a'], properties: { a: { type: 'string', maxLength: 5 } } },
      },
    });
  });

  test('keeps defaults and required when asked', () => {
    const converted = toStructuralSchema({ type: 'object', required: ['a'], properties: { a: { type: 'integer', default: 2 } } }, {
      dropDefaults: false,
      dropTopLevelRequired: false,
    });
    expect(converted).toEqual({ type: 'object', required: ['a'], properties: { a: { type: 'integer', default: 2 } } });
  });

  test('unknown keyword names the path', () => {
    expect(() => toStructuralSchema({ type: 'object', properties: { a: { oneOf: [] } } }, args)).toThrow(
      '.a: JSON Schema keyword "oneOf" has no conversion to a CRD schema; extend toStructuralSchema',
    );
  });
});

describe('schemaFromModel', () => {
  const models: Record<string, ModelAttribute[]> = {
    V1LabelSelector: [
      { name: 'matchLabels', baseName: 'matchLabels', type: '{ [key: string]: string; }', format: '' },
      { name: 'matchExpressions', baseName: 'matchExpressions', type: 'Array<V1LabelSelectorRequirement>', format: '' },
    ],
    V1LabelSelectorRequirement: [
      { name: 'key', baseName: 'key', type: 'string', format: '' },
      { name: 'operator', baseName: 'operator', type: 'string', format: '' },
      { name: 'values', baseName: 'values', type: 'Array<string>', format: '' },
      { name: 'weight', baseName: 'weight', type: 'number', format: 'int32' },
    ],
  };

  test('builds bounded schemas from attribute maps', () => {
    const { maxItems, maxProperties, maxLength } = MODEL_BOUNDS;
    expect(schemaFromModel('V1LabelSelector', (name) => models[name])).toEqual({
      type: 'object',
      properties: {
        matchLabels: { type: 'object', maxProperties, additionalProperties: { type: 'string', maxLength } },
        matchExpressions: {
          type: 'array',
          maxItems,
          items: {
            type: 'object',
            required: ['key', 'operator'],
            properties: {
              key: { type: 'string', maxLength },
              operator: { type: 'string', maxLength },
              values: { type: 'array', maxItems, items: { type: 'string', maxLength } },
              weight: { type: 'integer', format: 'int32' },
            },
          },
        },
      },
    });
  });

  test('unknown model names the type', () => {
    expect(() => schemaFromModel('V1Nope', () => undefined)).toThrow('No client-node model named V1Nope');
  });
});

describe('generated CRD', () => {
  test('crds/ and the chart copy match the generator output', () => {
    // The generator runs in its own Node process because @kubernetes/client-node 1.x is an ES module that Jest cannot load.
    const operatorDir = path.resolve(__dirname, '../..');
    const run = spawnSync('npx', ['ts-node', '--transpile-only', 'scripts/generate-crd.ts', '--check'], { cwd: operatorDir, encoding: 'utf8' });
    expect(run.stderr).not.toContain('Stale CRD');
    expect(run.status).toBe(0);
  }, 60_000);
});
