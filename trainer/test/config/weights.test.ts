import { resolveConfig, validateConfig } from '../../src/config';
import { problemsOf, thrownProblems, VALID } from './support';

describe('weights field', () => {
  test('is absent by default', () => {
    expect(validateConfig(VALID, 'test.yaml').weights).toBeUndefined();
  });

  test.each([
    ['mildnet_vgg16', 'imagenet'],
    ['ranknet', 'imagenet'],
    ['mildnet_vgg16', '/models/vgg16.h5'],
    ['mildnet_vgg16', 's3://bucket/models/vgg16.h5'],
    ['alexnet', 'gs://bucket/alexnet.h5'],
  ])('accepts %s with %s', (modelId, weights) => {
    expect(validateConfig({ ...VALID, model_id: modelId, weights }, 'test.yaml').weights).toBe(weights);
  });

  test('accepts imagenet for a published MobileNet width', () => {
    const config = validateConfig({ ...VALID, model_id: 'mildnet_mobilenet', width_multiplier: 0.25, weights: 'imagenet' }, 'test.yaml');
    expect(config.weights).toBe('imagenet');
  });

  test('rejects an empty string', () => {
    const problems = problemsOf({ ...VALID, weights: '' });
    expect(problems).toHaveLength(1);
    expect(problems[0].path).toBe('weights');
    expect(problems[0].message).toMatch(/^got ""; /);
  });

  test('rejects a non-string', () => {
    const problems = problemsOf({ ...VALID, weights: true });
    expect(problems).toEqual([{ path: 'weights', message: 'got true; expected a string' }]);
  });

  test('rejects imagenet for alexnet', () => {
    const problems = problemsOf({ ...VALID, model_id: 'alexnet', weights: 'imagenet' });
    expect(problems).toHaveLength(1);
    expect(problems[0].path).toBe('weights');
    expect(problems[0].message).toContain('"imagenet" is not available for model_id alexnet, which has no Keras applications base');
    expect(problems[0].message).toContain('remove weights to start from random weights');
  });

  test('rejects imagenet at an unpublished MobileNet width', () => {
    const problems = problemsOf({ ...VALID, model_id: 'mildnet_mobilenet', width_multiplier: 0.3, weights: 'imagenet' });
    expect(problems).toEqual([
      {
        path: 'width_multiplier',
        message: 'got 0.3, which has no ImageNet weights; with weights: imagenet, set it to one of 1, 0.75, 0.5, 0.25, or remove weights',
      },
    ]);
  });

  test('checks an override of a preset', () => {
    const problems = thrownProblems(() => resolveConfig('alexnet', { overrides: ['weights=imagenet'] }));
    expect(problems.map((problem) => problem.path)).toEqual(['weights']);
    expect(resolveConfig('mildnet', { overrides: ['weights=imagenet'] }).weights).toBe('imagenet');
  });
});
