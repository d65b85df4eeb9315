/**
 * Error classes and stable error codes shared by every layer.
 * The codes are the contract (spec/errors.md); messages are one lowercase sentence and may change.
 */

/** Stable machine-readable error codes; documented in spec/errors.md. */
export const ErrorCode = {
  Truncated: 'TESSERA_ERR_TRUNCATED',
  FrameTooLarge: 'TESSERA_ERR_FRAME_TOO_LARGE',
  InvalidField: 'TESSERA_ERR_INVALID_FIELD',
  UnknownChannel: 'TESSERA_ERR_UNKNOWN_CHANNEL',
  UnknownMessage: 'TESSERA_ERR_UNKNOWN_MESSAGE',
  UnexpectedMessage: 'TESSERA_ERR_UNEXPECTED_MESSAGE',
  UnsupportedVersion: 'TESSERA_ERR_UNSUPPORTED_VERSION',
  TrailingBytes: 'TESSERA_ERR_TRAILING_BYTES',
  LimitExceeded: 'TESSERA_ERR_LIMIT_EXCEEDED',
  DecryptFailed: 'TESSERA_ERR_DECRYPT_FAILED',
  HandshakeRefused: 'TESSERA_ERR_HANDSHAKE_REFUSED',
  HandshakeTimeout: 'TESSERA_ERR_HANDSHAKE_TIMEOUT',
  InvalidInvitation: 'TESSERA_ERR_INVALID_INVITATION',
  InvitationExpired: 'TESSERA_ERR_INVITATION_EXPIRED',
  InvalidConfig: 'TESSERA_ERR_INVALID_CONFIG',
  BadState: 'TESSERA_ERR_BAD_STATE',
  Closed: 'TESSERA_ERR_CLOSED',
  Io: 'TESSERA_ERR_IO',
  DecompressFailed: 'TESSERA_ERR_DECOMPRESS_FAILED',
  ImageDecodeFailed: 'TESSERA_ERR_IMAGE_DECODE_FAILED',
  UnknownEventType: 'TESSERA_ERR_UNKNOWN_EVENT_TYPE',
  UnknownKey: 'TESSERA_ERR_UNKNOWN_KEY',
  TextTooLong: 'TESSERA_ERR_TEXT_TOO_LONG',
  TooManyEvents: 'TESSERA_ERR_TOO_MANY_EVENTS',
  InvalidUtf8: 'TESSERA_ERR_INVALID_UTF8',
  Timeout: 'TESSERA_ERR_TIMEOUT',
  EmailFailed: 'TESSERA_ERR_EMAIL_FAILED',
  RelayRefused: 'TESSERA_ERR_RELAY_REFUSED',
  RelayLost: 'TESSERA_ERR_RELAY_LOST',
  TransferRefused: 'TESSERA_ERR_TRANSFER_REFUSED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const ALL_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** True when `code` is one of tessera's own error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && ALL_CODES.has(code);
}

/** Structured detail carried by every TesseraError, so tests and apps never parse messages. */
export interface ErrorDetail {
  /** What was being decoded or done, e.g. 'frame-header' or 'tile-update'. */
  readonly context?: string;
  /** The field at fault, e.g. 'length'. */
  readonly field?: string;
  /** Byte offset within the decoded unit where the fault was found. */
  readonly offset?: number;
  /** Bytes or value expected. */
  readonly expected?: number | string;
  /** Bytes or value received. */
  readonly received?: number | string;
  readonly cause?: unknown;
}

/** Base class of every error tessera throws on purpose. */
export class TesseraError extends Error {
  readonly code: ErrorCode;
  readonly context: string | undefined;
  readonly field: string | undefined;
  readonly offset: number | undefined;
  readonly expected: number | string | undefined;
  readonly received: number | string | undefined;

  constructor(code: ErrorCode, message: string, detail: ErrorDetail = {}) {
    super(message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.name = new.target.name;
    this.code = code;
    this.context = detail.context;
    this.field = detail.field;
    this.offset = detail.offset;
    this.expected = detail.expected;
    this.received = detail.received;
  }
}

/** The peer sent bytes that break the protocol; the session that sent them must be closed. */
export class ProtocolError extends TesseraError {}

/** The caller used the API out of order or with bad arguments. */
export class StateError extends TesseraError {
  constructor(message: string, detail: ErrorDetail = {}) {
    super(ErrorCode.BadState, message, detail);
  }
}

/** A configuration file or option is invalid (policy, helpers directory, invitation options). */
export class ConfigError extends TesseraError {
  constructor(message: string, detail: ErrorDetail = {}) {
    super(ErrorCode.InvalidConfig, message, detail);
  }
}

/** Builds the error for a read past the end of the input. */
export function truncated(context: string, field: string, offset: number, need: number, left: number): ProtocolError {
  return new ProtocolError(
    ErrorCode.Truncated,
    `truncated ${context}: ${field} needs ${need} bytes at offset ${offset}, ${left} left`,
    { context, field, offset, expected: need, received: left },
  );
}

/** Builds the error for bytes left over after a complete message. */
export function trailing(context: string, offset: number, left: number): ProtocolError {
  return new ProtocolError(
    ErrorCode.TrailingBytes,
    `${context} has ${left} trailing bytes at offset ${offset}`,
    { context, offset, received: left },
  );
}

/** Builds the error for a field whose value is out of range or malformed. */
export function invalidField(context: string, field: string, offset: number, why: string, received?: number | string): ProtocolError {
  return new ProtocolError(
    ErrorCode.InvalidField,
    `invalid ${context}: ${field} at offset ${offset} ${why}`,
    received === undefined ? { context, field, offset } : { context, field, offset, received },
  );
}

/**
 * Wraps anything thrown into a TesseraError, the one way tessera wraps errors: its own errors pass unchanged;
 * anything else becomes a TesseraError with `code` (TESSERA_ERR_IO unless told), the original as `cause`, and its
 * message (without a trailing period) after `context`, when given ("the screen source failed: EIO: ...").
 */
export function toTesseraError(err: unknown, context?: string, code: ErrorCode = ErrorCode.Io): TesseraError {
  if (err instanceof TesseraError) return err;
  const message = (err instanceof Error ? err.message : String(err)).replace(/\.$/, '');
  return new TesseraError(code, context === undefined ? message : `${context}: ${message}`, { cause: err });
}

/** Error used for cancelled operations, shaped like Node's AbortError (code ABORT_ERR). */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/** Throws an AbortError when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}
