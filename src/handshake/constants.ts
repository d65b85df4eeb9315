/** Wire constants of the handshake; spec/handshake.md. */

/** Handshake protocol version carried in ClientHello (spec/handshake.md §3.1). */
export const HANDSHAKE_VERSION = 1;
/** Invitation format version (spec/handshake.md §2). */
export const INVITATION_VERSION = 1;
export { DEFAULT_PORT } from '../core/defaults.js';

/** Protocol name hashed into the initial transcript (spec/handshake.md §4). */
export const PROTOCOL_NAME = 'tessera/1 handshake X25519 XSalsa20Poly1305 SHA512 Ed25519';

/** Message type bytes; spec/handshake.md §3. */
export const MessageType = {
  ClientHello: 1,
  ServerHello: 2,
  Auth: 3,
  Welcome: 4,
  /** A refusal sealed under the handshake keys, sent after ServerHello (§3.6). */
  SealedRefusal: 0x7e,
  /** A refusal in the clear, sent only before ServerHello (§3.5). */
  Refusal: 0x7f,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Authentication kinds in the Auth message; spec/handshake.md §3.3. */
export const AuthKind = { Ticket: 1, Offer: 2 } as const;
export type AuthKind = (typeof AuthKind)[keyof typeof AuthKind];

/** Mode of a session. */
export type Mode = 'view' | 'control';
/** Wire numbers of modes. */
export const MODE_WIRE: Readonly<Record<Mode, number>> = { view: 1, control: 2 };

/** Returns the lesser of two modes (view < control). */
export function leastMode(...modes: Mode[]): Mode {
  return modes.includes('view') ? 'view' : 'control';
}

/** Decodes a mode number, or undefined. */
export function modeFromWire(n: number): Mode | undefined {
  return n === 1 ? 'view' : n === 2 ? 'control' : undefined;
}

/** Bytes of a ticket id. */
export const TICKET_ID_BYTES = 16;
/** Bytes of a ticket secret. */
export const TICKET_SECRET_BYTES = 32;
/** Bytes of a password salt. */
export const PASSWORD_SALT_BYTES = 16;
/** X25519 public/secret key bytes. */
export const DH_BYTES = 32;
/** Ed25519 public key bytes. */
export const SIGN_PUBLIC_BYTES = 32;
/** Ed25519 signature bytes. */
export const SIGNATURE_BYTES = 64;
/** Poly1305 tag bytes. */
export const TAG_BYTES = 16;
/** Largest number of transport ciphers offered in ClientHello. */
export const MAX_CIPHERS = 8;
/** Largest encoded codec-capability map in Welcome. */
export const MAX_CAPS_BYTES = 1024;
/** Largest screen edge accepted in Welcome. */
export const MAX_SCREEN_PX = 16384;

/** Domain-separation labels (spec/handshake.md §4). */
export const Label = {
  ticketKey: 'tessera/1 ticket-key',
  passwordKey: 'tessera/1 password-key',
  ticketProof: 'tessera/1 ticket-proof',
  passwordProof: 'tessera/1 password-proof',
  offerProof: 'tessera/1 offer-proof',
  holderProof: 'tessera/1 holder-proof',
  refusalKey: 'tessera/1 refusal',
  chainKey: 'tessera/1 chain',
  messageKey: 'tessera/1 message',
  transport: 'tessera/1 transport',
} as const;
