import pino, { type Logger } from 'pino';

/**
 * JSON logs on stdout, one line per event, for pods and CI. On a terminal
 * the progress bar shows progress and only warnings and errors are logged.
 */
export function createLogger(interactive: boolean): Logger {
  return pino({
    name: 'mildnet',
    level: process.env.MILDNET_LOG_LEVEL ?? (interactive ? 'warn' : 'info'),
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
