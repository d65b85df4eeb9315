/** Refusal codes and HandshakeError; spec/handshake.md §6. */
import { ErrorCode, TesseraError, type ErrorDetail } from '../core/index.js';

/** Refusal strings with their wire numbers. HOST_KEY_MISMATCH is decided by the helper and never sent. */
export const Refusal = {
  TICKET_UNKNOWN: 1,
  TICKET_EXPIRED: 2,
  TICKET_REVOKED: 3,
  BAD_PROOF: 4,
  THROTTLED: 5,
  POLICY_DENIED: 6,
  USER_DECLINED: 7,
  VERSION_MISMATCH: 8,
  HOST_KEY_MISMATCH: 9,
  TICKET_IN_USE: 10,
} as const;
export type Refusal = keyof typeof Refusal;

/** Codes a host may put on the wire (all but HOST_KEY_MISMATCH). */
export const WIRE_REFUSALS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7, 8, 10]);

const BY_NUMBER = new Map<number, Refusal>(Object.entries(Refusal).map(([k, v]) => [v, k as Refusal]));

/** The refusal string for a wire number, or undefined. */
export function refusalFromWire(n: number): Refusal | undefined {
  return WIRE_REFUSALS.has(n) ? BY_NUMBER.get(n) : undefined;
}

const TEXT: Readonly<Record<Refusal, string>> = {
  TICKET_UNKNOWN: 'the host does not know this invitation',
  TICKET_EXPIRED: 'the invitation has expired',
  TICKET_REVOKED: 'the invitation was revoked',
  BAD_PROOF: 'the invitation secret or password was not accepted',
  THROTTLED: 'too many failed attempts; try again later',
  POLICY_DENIED: 'the host policy does not allow this connection',
  USER_DECLINED: 'the host user declined the connection',
  VERSION_MISMATCH: 'the host does not speak this handshake version',
  HOST_KEY_MISMATCH: 'the host could not prove the key pinned by the invitation',
  TICKET_IN_USE: 'the invitation is already taken by another helper',
};

/** The refusal's text, as the host means it. */
export function refusalText(refusal: Refusal): string {
  return TEXT[refusal];
}

/**
 * A refused handshake: `refusal` is the code string, `wire` its number. Never carries secrets or ticket ids.
 * `authenticated` (spec/handshake.md §3.6): on the helper, true only for a refusal that came sealed under the
 * handshake keys, i.e. from the host that proved the pinned key; false for a refusal in the clear (before ServerHello:
 * anything on the path could have sent it) and for HOST_KEY_MISMATCH. On the host, true when the refusal went out sealed.
 */
export class HandshakeError extends TesseraError {
  readonly refusal: Refusal;
  readonly wire: number;
  readonly authenticated: boolean;
  constructor(refusal: Refusal, detail: ErrorDetail = {}, authenticated = false) {
    super(
      ErrorCode.HandshakeRefused,
      authenticated || refusal === 'HOST_KEY_MISMATCH'
        ? `handshake refused: ${TEXT[refusal]} (${refusal})`
        : `handshake refused, unauthenticated: ${TEXT[refusal]} (${refusal}), said by something on the way or by a host that could not prove its key`,
      { context: 'handshake', ...detail },
    );
    this.refusal = refusal;
    this.wire = Refusal[refusal];
    this.authenticated = authenticated;
  }
}
