import { ErrorCode, ProtocolError, TesseraError } from '../core/index.js';
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

/**
 * One plain sentence for people: what went wrong and, where it helps, what to do, without byte offsets, field names
 * or the same clause twice. The technical detail (the original message, code, field and causes) is errorDetail's,
 * printed under --debug and carried by the --json error event. The mapping is here, by error code and context, so a
 * throw site keeps its precise message for logs and tests.
 */
export function describeError(err: unknown): string {
  if (err instanceof UsageError) return err.message;
  if (err instanceof HandshakeError) {
    const text = refusalText(err.refusal);
    // Only a sealed refusal is the host's word (spec/handshake.md §3.6); one in the clear could come from anything on the path.
    if (err.authenticated) return `refused by the host: ${err.refusal} (${text})`;
    // The same refusal ends an offer whose --host-key is wrong, where no invitation pinned the key.
    if (err.refusal === 'HOST_KEY_MISMATCH') return `refused: ${err.refusal} (the host could not prove it holds the expected host key); you may not be talking to the host you meant, or an offer's --host-key is wrong`;
    return `refused by something on the way, or by a host that could not prove its key: ${err.refusal} (${text}), not the host's proven answer`;
  }
  if (err instanceof TesseraError) {
    const plain = plainSentence(err);
    if (plain !== undefined) return plain;
  }
  if (err instanceof Error) return withCauses(err, 1);
  return String(err);
}

/** The technical detail of an error, for --debug and the --json error event (never a secret: messages hold none). */
export interface ErrorDetailView {
  readonly message: string;
  readonly code?: string;
  readonly context?: string;
  readonly field?: string;
  readonly offset?: number;
  readonly expected?: number | string;
  readonly received?: number | string;
  /** The messages of the causes, outermost first, each said once. */
  readonly causes?: readonly string[];
}

/** The detail describeError leaves out, or undefined when there is none beyond the sentence. */
export function errorDetail(err: unknown): ErrorDetailView | undefined {
  if (!(err instanceof Error) || err instanceof UsageError) return undefined;
  const e = err as Partial<TesseraError> & Error;
  const causes = causeMessages(err, 5);
  return {
    message: err.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(e.context !== undefined ? { context: e.context } : {}),
    ...(e.field !== undefined ? { field: e.field } : {}),
    ...(e.offset !== undefined ? { offset: e.offset } : {}),
    ...(e.expected !== undefined ? { expected: e.expected } : {}),
    ...(e.received !== undefined ? { received: e.received } : {}),
    ...(causes.length > 0 ? { causes } : {}),
  };
}

/** The detail as one line for --debug. */
export function formatDetail(d: ErrorDetailView): string {
  const facts = (['code', 'context', 'field', 'offset', 'expected', 'received'] as const).filter((k) => d[k] !== undefined).map((k) => `${k} ${String(d[k])}`);
  return `detail: ${d.message}${facts.length > 0 ? ` [${facts.join(', ')}]` : ''}${(d.causes ?? []).map((c) => `; caused by: ${c}`).join('')}`;
}

const DAMAGED = 'this invitation is damaged or incomplete (copy the whole link or file again, or ask for a new invitation)';

/** Plain sentences by code and context; undefined keeps the error's own message (already a plain sentence). */
function plainSentence(err: TesseraError): string | undefined {
  switch (err.code) {
    case ErrorCode.InvalidInvitation: {
      const unreadable = systemError(err);
      if (unreadable) return `could not read ${unreadable.path ?? 'the invitation file'} (${systemReason(unreadable.code)})`;
      // Every fault found while decoding what looked like an invitation (text, URL or binary form) is damage.
      if (err.context === 'invitation') return DAMAGED;
      if (err.context === 'msrc-incident') return 'this Windows Remote Assistance invitation is damaged or incomplete';
      if (err.context === 'input') return 'this is not a tessera invitation (give the .tessera file, the tessera:// link or the saved email that carries one)';
      return err.message.replace(/^invalid invitation: /, '');
    }
    case ErrorCode.UnsupportedVersion:
      if (err.context === 'invitation') {
        // A version above ours is a newer tessera's invitation; anything else (0, garbage) is damage.
        return typeof err.received === 'number' && typeof err.expected === 'number' && err.received > err.expected
          ? 'this invitation was made by a newer version of tessera; update tessera to use it'
          : DAMAGED;
      }
      return `the other side speaks a different version of tessera (update both to the same version)`;
    case ErrorCode.Io:
      if (err.context === 'connect' || err.context === 'connect-and-relay') return unreachable(err);
      return undefined;
    case ErrorCode.RelayRefused:
    case ErrorCode.RelayLost:
      return relaySentence(err);
    default:
      // Bytes a peer sent that break the protocol: the offsets and fields mean nothing to the person at the keyboard.
      if (err instanceof ProtocolError) return 'the other side sent something tessera could not understand (it may not be a tessera host or relay, or the connection was damaged on the way)';
      return undefined;
  }
}

/** "could not reach the host at ADDRESS (why, and what to check)" for a failed TCP connection. */
function unreachable(err: TesseraError): string {
  const where = `could not reach the host${typeof err.received === 'string' ? ` at ${err.received}` : ''}${err.context === 'connect-and-relay' ? ', directly or through the relay' : ''}`;
  const code = systemError(err)?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `${where} (this machine does not know that name)`;
  const maybe = 'that address may not be reachable from this machine';
  if (code === 'ECONNREFUSED') return `${where} (nothing answered there: is it still sharing? ${maybe})`;
  const timedOut = code === 'ETIMEDOUT' || (err.cause instanceof TesseraError && err.cause.code === ErrorCode.Timeout);
  return `${where} (${timedOut ? 'no answer in time: ' : ''}is it still sharing? ${maybe})`;
}

const RELAY_SENTENCES: Readonly<Record<string, string>> = {
  UNKNOWN_ID: 'the relay does not know this host right now (it may have stopped sharing, or it waits at another relay)',
  HOST_GONE: 'the host left the relay (is it still sharing?)',
  PAIRING_TIMEOUT: 'the host did not answer through the relay in time (is it still sharing?)',
  BUSY: 'the relay is busy; try again in a moment',
  HOST_NOT_ALLOWED: 'the relay does not accept this host (its list of hosts does not name this host key)',
  BAD_PROOF: 'the relay could not verify the host key',
  REPLACED: 'another host registered at the relay in place of this one',
};

function relaySentence(err: TesseraError): string {
  const refusal = (err as { refusal?: string }).refusal;
  if (refusal !== undefined && RELAY_SENTENCES[refusal] !== undefined) return RELAY_SENTENCES[refusal];
  if (err.code === ErrorCode.RelayLost) return 'the connection through the relay was lost';
  return 'the relay refused the connection';
}

/** The first Node system error (ENOENT, ECONNREFUSED, ...) in the cause chain. */
function systemError(err: unknown): { code: string; path?: string } | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, path, syscall } = e as { code?: unknown; path?: unknown; syscall?: unknown };
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && typeof syscall === 'string') return typeof path === 'string' ? { code, path } : { code };
  }
  return undefined;
}

function systemReason(code: string): string {
  switch (code) {
    case 'ENOENT':
      return 'there is no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a folder, not a file';
    default:
      return `the system said ${code}`;
  }
}

/** The message with the causes it does not already say, for errors without a plain sentence of their own. */
function withCauses(err: Error, most: number): string {
  let text = err.message;
  for (const c of causeMessages(err, most)) if (!repeats(text, c)) text += `: ${c}`;
  return text;
}

/** Messages of the cause chain, each said once, skipping any that only repeats what came before it. */
function causeMessages(err: Error, most: number): string[] {
  const out: string[] = [];
  let said = err.message;
  for (let e: unknown = (err as { cause?: unknown }).cause; e instanceof Error && out.length < most; e = (e as { cause?: unknown }).cause) {
    if (e.message && !repeats(said, e.message)) {
      out.push(e.message);
      said += ` ${e.message}`;
    }
  }
  return out;
}

/** True when `cause` says nothing `said` does not ("could not connect to X" already says "cannot connect to X"). */
function repeats(said: string, cause: string): boolean {
  const norm = (s: string): string =>
    s
      .toLowerCase()
      .replace(/\b(could not|couldn't|can't|failed to|unable to)\b/g, 'cannot')
      .replace(/[^a-z0-9:.[\]]+/g, ' ')
      .trim();
  return norm(said).includes(norm(cause));
}
