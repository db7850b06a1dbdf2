import pino, { type Logger } from 'pino';

export type { Logger };

/** The operator's root logger: JSON lines on stdout, level from MILDNET_LOG_LEVEL (default info). */
export function createLogger(level: string = process.env.MILDNET_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'mildnet-operator', level, base: { component: 'mildnet-operator' } });
}
