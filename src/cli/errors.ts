import { ErrorCode, TesseraError } from '../core/index.js';
import { HandshakeError, refusalText } from '../handshake/index.js';

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
  // The host's proven word that the invitation expired is the same failure as one found expired here (README).
  if (err instanceof HandshakeError) return err.authenticated && err.refusal === 'TICKET_EXPIRED' ? ExitCode.InvitationInvalid : ExitCode.Refused;
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
  if (err instanceof HandshakeError) {
    const text = refusalText(err.refusal);
    // Only a sealed refusal is the host's word (spec/handshake.md §3.6); one in the clear could come from anything on the path.
    if (err.authenticated) return `refused by the host: ${err.refusal} (${text})`;
    if (err.refusal === 'HOST_KEY_MISMATCH') return `refused: ${err.refusal} (${text}); you may not be talking to the host that invited you`;
    return `refused by something on the way, or by a host that could not prove its key: ${err.refusal} (${text}), not the host's proven answer`;
  }
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error && cause.message && !err.message.includes(cause.message) ? `: ${cause.message}` : '';
    return `${err.message}${detail}`;
  }
  return String(err);
}
