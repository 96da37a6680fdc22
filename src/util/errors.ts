/**
 * One error type for everything a user can get wrong (a corrupt table, a missing file, a bad token or
 * option). It always names the thing at fault and says what to do, so the CLI can print it without a
 * stack trace.
 */
export class SpikedriveError extends Error {
  /** What to do about it, in one sentence. */
  readonly fix: string;
  /** The file, record or option at fault, where there is one. */
  readonly subject: string | undefined;

  constructor(message: string, options: { fix: string; subject?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SpikedriveError';
    this.fix = options.fix;
    this.subject = options.subject;
  }

  /** The message as the CLI prints it: what went wrong, then what to do. */
  describe(): string {
    return `${this.message}\n  → ${this.fix}`;
  }
}

export function isSpikedriveError(error: unknown): error is SpikedriveError {
  return error instanceof SpikedriveError;
}
