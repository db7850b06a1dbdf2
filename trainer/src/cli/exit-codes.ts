/**
 * Exit statuses of the mildnet command. The operator's pod failure policy
 * reads them: INVALID_CONFIG fails a job at once, INTERRUPTED is resumable.
 */
export const ExitCode = {
  OK: 0,
  FAILED: 1,
  /** Invalid job config or command line; retrying cannot help. */
  INVALID_CONFIG: 2,
  /** Stopped by SIGTERM or SIGINT after writing a checkpoint; the next start resumes (EX_TEMPFAIL). */
  INTERRUPTED: 75,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error whose message is complete for the user and which maps to an exit status. */
export class UsageError extends Error {
  readonly exitCode: ExitCode = ExitCode.INVALID_CONFIG;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
