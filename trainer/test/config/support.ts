/** Shared fixtures of the config tests. */
import { ConfigError, validateConfig, type ConfigProblem } from '../../src/config';

/** Job config with every required field set, which the tests vary one field at a time. */
export const VALID = {
  model_id: 'mildnet_vgg16',
  loss: 'hinge_loss',
  optimizer: 'mo',
  lr: 0.001,
  epochs: 20,
  batch_size: 16,
  train_csv: 'train.csv',
  val_csv: 'val.csv',
};

/** Runs `load`, which must throw a ConfigError, and returns the problems that it lists. */
export function thrownProblems(load: () => unknown): ConfigProblem[] {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

/** Validates `raw`, which must be invalid, and returns the problems that the ConfigError lists. */
export function problemsOf(raw: unknown): ConfigProblem[] {
  return thrownProblems(() => validateConfig(raw, 'test.yaml'));
}
