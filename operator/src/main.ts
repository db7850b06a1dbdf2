import { createLogger } from './logger';
import { runOperator } from './operator';
import { HELP, loadSettings } from './settings';

/** Command-line entry point: parses settings, runs the operator and stops it on SIGTERM or SIGINT. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const logger = createLogger();
  let settings;
  try {
    settings = loadSettings(argv);
  } catch (err) {
    process.stderr.write(`mildnet-operator: ${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (settings === 'help') {
    process.stdout.write(HELP);
    return;
  }

  const operator = await runOperator({
    settings,
    logger,
    onLostLeadership: () => {
      // Exiting is the safe way to drop leadership: reconciles in flight cannot outlive the Lease.
      logger.info('Exiting after losing the leader Lease');
      process.exit(1);
    },
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'Received signal; shutting down');
    operator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.info({ err }, 'Shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`mildnet-operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
