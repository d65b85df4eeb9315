/** Assertions about tessera errors, shared by tests of every layer. */
import { isErrorCode, ProtocolError, TesseraError, type ErrorCode } from '../../src/core/index.js';

/** True when `err` is a ProtocolError carrying one of tessera's codes (the fuzz oracle). */
export function isKnownProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError && err instanceof TesseraError && isErrorCode(err.code);
}

/** Runs `fn` and returns what it threw, or undefined when it returned. */
export function caught(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err;
  }
}

/** Runs `fn`, expecting a ProtocolError with `code`; returns the error for further field checks. */
export function expectProtocolError(fn: () => unknown, code: ErrorCode): ProtocolError {
  const err = caught(fn);
  if (!(err instanceof ProtocolError)) throw new Error(`expected ProtocolError ${code}, got ${err === undefined ? 'no error' : String(err)}`);
  if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
  return err;
}
