import * as fs from 'node:fs';
import { parseArgs } from 'node:util';

import * as YAML from 'yaml';

import { ConfigError, importCnf, listPresets, resolveConfig } from '../config';
import { ExitCode, UsageError } from './exit-codes';

const USAGE = `Usage: mildnet <command> [options]

Commands:
  train              Train a model from a job config; resumes from the job dir's newest checkpoint
  data fashion-mnist Convert Fashion-MNIST into the triplet layout (image folder + CSVs)
  models             List the model ids with their parameter counts and embedding sizes
  presets            List the bundled job configs
  config validate    Check a job config and print it with defaults filled in
  config import      Convert an original .cnf job config to YAML

Run "mildnet <command> --help" for the options of a command.
Exit status: 0 done, 1 failed, 2 invalid config or usage, 75 interrupted (resumable).`;

type Command = (argv: string[]) => Promise<number>;

async function presetsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write('Usage: mildnet presets [--json]\nLists the bundled job configs by name; pass a name as --config.\n');
    return ExitCode.OK;
  }
  const presets = listPresets();
  if (values.json) {
    process.stdout.write(JSON.stringify(presets.map(({ name, group }) => ({ name, group })), null, 2) + '\n');
    return ExitCode.OK;
  }
  for (const preset of presets) {
    const config = resolveConfig(preset.name);
    process.stdout.write(
      `${preset.name.padEnd(26)} ${(preset.group || '(default)').padEnd(24)} ${config.model_id.padEnd(26)} ${config.loss}\n`,
    );
  }
  return ExitCode.OK;
}

async function configCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { set: { type: 'string', multiple: true }, out: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help || !sub || positionals.length !== 1) {
    process.stdout.write(
      'Usage: mildnet config validate FILE|PRESET [--set KEY=VALUE]...\n' +
        '       mildnet config import FILE.cnf [--out FILE.yaml]\n',
    );
    return values.help ? ExitCode.OK : ExitCode.INVALID_CONFIG;
  }
  const [target] = positionals;

  if (sub === 'validate') {
    const config = resolveConfig(target, { overrides: values.set ?? [] });
    process.stdout.write(YAML.stringify(config));
    return ExitCode.OK;
  }
  if (sub === 'import') {
    if (!fs.existsSync(target)) {
      throw new UsageError(`The config file ${target} was not found; pass the path of an original .cnf file`);
    }
    const { yaml } = importCnf(fs.readFileSync(target, 'utf8'), target);
    if (values.out) fs.writeFileSync(values.out, yaml);
    else process.stdout.write(yaml);
    return ExitCode.OK;
  }
  throw new UsageError(`Unknown config command "${sub}"; expected validate or import`);
}

async function lazy(module: string, name: string, argv: string[]): Promise<number> {
  // Commands that load TensorFlow.js or sharp are required on use, so that
  // config commands start fast.
  const loaded = (await import(module)) as Record<string, Command>;
  return loaded[name](argv);
}

const COMMANDS: Record<string, Command> = {
  train: (argv) => lazy('./train-command', 'trainCommand', argv),
  data: (argv) => lazy('./data-command', 'dataCommand', argv),
  models: (argv) => lazy('./models-command', 'modelsCommand', argv),
  presets: presetsCommand,
  config: configCommand,
};

/** Runs the mildnet command line and returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name ? ExitCode.OK : ExitCode.INVALID_CONFIG;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`mildnet: unknown command "${name}"\n\n${USAGE}\n`);
    return ExitCode.INVALID_CONFIG;
  }
  try {
    return await command(rest);
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof ConfigError || error instanceof UsageError) {
    process.stderr.write(`mildnet: ${error.message}\n`);
    return ExitCode.INVALID_CONFIG;
  }
  const code = (error as { code?: string }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    process.stderr.write(`mildnet: ${(error as Error).message}; run with --help for the options\n`);
    return ExitCode.INVALID_CONFIG;
  }
  process.stderr.write(`mildnet: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return ExitCode.FAILED;
}
