import { ErrorCode, TesseraError } from '../core/index.js';
import { HandshakeError } from '../handshake/index.js';

/** Exit codes of the tessera command (README § Exit codes). */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  Refused: 3,
  ConnectionFailed: 4,
  InvitationInvalid: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake on the command line: exit 2 with the message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Maps an error to the exit code the README documents. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof UsageError) return ExitCode.Usage;
  if (err instanceof HandshakeError) return ExitCode.Refused;
  if (err instanceof TesseraError) {
    switch (err.code) {
      case ErrorCode.InvalidInvitation:
      case ErrorCode.InvitationExpired:
      case ErrorCode.UnsupportedVersion:
        return ExitCode.InvitationInvalid;
      case ErrorCode.Io:
      case ErrorCode.Timeout:
      case ErrorCode.HandshakeTimeout:
      case ErrorCode.Closed:
      case ErrorCode.RelayLost:
        return ExitCode.ConnectionFailed;
      case ErrorCode.RelayRefused:
        return ExitCode.Refused;
      case ErrorCode.InvalidConfig:
        return ExitCode.Usage;
      default:
        return ExitCode.Failure;
    }
  }
  return ExitCode.Failure;
}

/** One clear sentence for stderr. */
export function describeError(err: unknown): string {
  if (err instanceof HandshakeError) return `refused by the host: ${err.refusal} (${err.message.replace(/^handshake refused: /, '').replace(/ \([A-Z_]+\)$/, '')})`;
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error && cause.message && !err.message.includes(cause.message) ? `: ${cause.message}` : '';
    return `${err.message}${detail}`;
  }
  return String(err);
}
