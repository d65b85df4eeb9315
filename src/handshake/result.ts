/** What a finished handshake hands to the session layer (spec/handshake.md §7). */
import { INSPECT, toHex } from '../core/index.js';
import { AeadFrameProtector, type AeadSuite } from '../framing/aead.js';
import type { Mode } from './constants.js';
import type { CodecCaps } from './messages.js';
import { sha512 } from './crypto.js';

/** Per-direction transport keys and the final transcript hash. util.inspect and toJSON show only hashes. */
export class SessionKeys {
  /** Key this side seals with. */
  readonly send: Uint8Array;
  /** Key this side opens with. */
  readonly receive: Uint8Array;
  /** Final transcript hash (64 bytes): a session id both sides share, usable for channel binding. */
  readonly handshakeHash: Uint8Array;

  constructor(send: Uint8Array, receive: Uint8Array, handshakeHash: Uint8Array) {
    this.send = send;
    this.receive = receive;
    this.handshakeHash = handshakeHash;
  }

  [INSPECT](): string {
    return `SessionKeys { session: ${this.sessionId} }`;
  }

  /** A short, non-secret id of the session: hex of the first 8 bytes of SHA-512(handshakeHash). */
  get sessionId(): string {
    return toHex(sha512(this.handshakeHash).subarray(0, 8));
  }

  toJSON(): object {
    return { session: this.sessionId };
  }
}

/** Screen and codec information from Welcome. */
export interface WelcomeInfo {
  readonly width: number;
  readonly height: number;
  readonly codecs: CodecCaps;
}

/** Who the helper is, as the host established it. */
export interface PeerInfo {
  /** 'ticket' (solicited) or 'offer'. */
  readonly kind: 'ticket' | 'offer';
  /** Ticket id (hex) for a solicited session. */
  readonly ticketId?: string | undefined;
  /** Helper user name from the helpers directory, for an offer. */
  readonly helper?: string | undefined;
  /** The helper's Ed25519 identity key, for an offer. */
  readonly identityKey?: Uint8Array | undefined;
}

/** The result of finish() on either side. */
export interface HandshakeResult {
  /** Granted mode. */
  readonly mode: Mode;
  readonly keys: SessionKeys;
  /** Negotiated transport cipher. */
  readonly cipher: AeadSuite;
  /** Seals outgoing frames (send key, counter from 0) and opens incoming ones (receive key, counter from 0). */
  readonly protector: AeadFrameProtector;
  readonly welcome: WelcomeInfo;
  readonly peer: PeerInfo;
}

/** Builds the protector of one side. */
export function makeProtector(suite: AeadSuite, keys: SessionKeys): AeadFrameProtector {
  return new AeadFrameProtector(suite, keys.send, keys.receive);
}
