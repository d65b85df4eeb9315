/**
 * The handshake over any Node stream.Duplex, for embedders with their own session loop and for conformance
 * suites: thin wrappers that adapt the stream as a Link (src/transport/duplex-link.ts) and run the one handshake
 * driver (src/driver/handshake.ts) with Node's defaults (node:crypto randomness and ciphers, scrypt).
 * On success the Duplex is left paused with no 'data' listener, and the returned Deframer already holds the AEAD
 * protector, the post-auth body cap and any bytes read beyond the handshake.
 */
import type { Duplex } from 'node:stream';
import { ErrorCode, TesseraError, type Clock, type Random } from '../core/index.js';
import type { AeadSuite } from '../framing/aead.js';
import type { Deframer } from '../framing/deframer.js';
import type { Mode } from '../handshake/constants.js';
import { HandshakeInitiator, type HolderKey } from '../handshake/initiator.js';
import type { Invitation } from '../handshake/invitation.js';
import type { HandshakeResult } from '../handshake/result.js';
import type { PasswordKdf } from '../handshake/ticket.js';
import { driveInitiator, driveResponder, type Established, type ResponderDriveOptions } from '../driver/handshake.js';
import type { Link } from '../driver/link.js';
import { duplexLink } from './duplex-link.js';
import { NODE_CIPHERS, nodeRandom, scryptKdf } from './handshake-crypto.js';

export { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_CONSENT_TIMEOUT_MS, DEFAULT_HELPER_CONSENT_WAIT_MS } from '../core/defaults.js';
export type { ConsentDecision } from '../driver/handshake.js';

/** Options of acceptHandshake (host side): the driver's, with Node's defaults for clock, randomness and ciphers. */
export interface AcceptHandshakeOptions extends Omit<ResponderDriveOptions, 'clock' | 'random' | 'ciphers'> {
  /** Peer address for throttling and audit; default: the socket's remoteAddress (and remotePort for audit). */
  readonly peer?: string;
  /** Default Date.now. */
  readonly clock?: Clock;
  /** Default node:crypto randomBytes. */
  readonly random?: Random;
  /** Host cipher preference; default NODE_CIPHERS (AES-256-GCM, ChaCha20-Poly1305, XSalsa20-Poly1305). */
  readonly ciphers?: readonly AeadSuite[];
}

/** Options of connectHandshake (helper side): `invitation` for solicited help, or `hostKey` + `identity` for an offer. */
export interface ConnectHandshakeOptions {
  readonly invitation?: Invitation;
  readonly password?: string;
  /** Host static key for an offer (no invitation). */
  readonly hostKey?: Uint8Array;
  /** Ed25519 identity key pair (nacl.sign) for an offer. */
  readonly identity?: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  /** The holder key to prove with the invitation (spec/handshake.md §2.5); default a fresh one. */
  readonly holder?: HolderKey;
  /** Default: the invitation's mode, or control for an offer. */
  readonly requestMode?: Mode;
  /** Default 10 000 ms until the host has proved its key. */
  readonly timeoutMs?: number;
  /** Default 90 000 ms waiting for Welcome after Auth (the host user's prompt). */
  readonly consentTimeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly random?: Random;
  /** Default NODE_CIPHERS. */
  readonly ciphers?: readonly AeadSuite[];
  /** Default scrypt (src/node/crypto.ts). */
  readonly kdf?: PasswordKdf;
  readonly maxBodyBytes?: number;
}

/** A finished handshake on a stream. */
export interface EstablishedHandshake extends HandshakeResult {
  /** Protector installed, cap raised; holds any bytes already read beyond the handshake. */
  readonly deframer: Deframer;
  /** Remote address as "ip:port" when known. */
  readonly remote: string;
  /** The stream as a Link, for the session driver (src/driver/session.ts). */
  readonly link: Link;
}

/**
 * Runs the host's side. Resolves when Welcome was written. On a refusal the Refusal is written, the
 * socket is ended, and the promise rejects with HandshakeError.
 * @throws {HandshakeError} refused (the code is in `refusal`)
 * @throws {ProtocolError} malformed helper messages (socket destroyed)
 * @throws {TesseraError} TESSERA_ERR_HANDSHAKE_TIMEOUT, TESSERA_ERR_CLOSED
 * @throws {AbortError} when `signal` aborts
 */
export async function acceptHandshake(duplex: Duplex, o: AcceptHandshakeOptions): Promise<EstablishedHandshake> {
  const link = duplexLink(duplex, o.peer !== undefined ? { peer: o.peer } : {});
  const { peer: _peer, clock, random, ciphers, ...rest } = o;
  const est = await driveResponder(link, { ...rest, clock: clock ?? Date.now, random: random ?? nodeRandom, ciphers: ciphers ?? NODE_CIPHERS });
  return withRemote(est);
}

/**
 * Runs the helper's side. Resolves when Welcome arrived.
 * @throws {HandshakeError} a refusal from the host, or HOST_KEY_MISMATCH
 * @throws {ProtocolError} malformed host messages
 * @throws {TesseraError} TESSERA_ERR_HANDSHAKE_TIMEOUT, TESSERA_ERR_CLOSED; {StateError} bad options
 * @throws {AbortError} when `signal` aborts
 */
export async function connectHandshake(duplex: Duplex, o: ConnectHandshakeOptions): Promise<EstablishedHandshake> {
  let initiator: HandshakeInitiator;
  try {
    initiator = createInitiator(o);
  } catch (err) {
    duplex.destroy();
    throw err;
  }
  const est = await driveInitiator(duplexLink(duplex), initiator, o);
  return withRemote(est);
}

/**
 * The helper's handshake machine for an invitation (solicited help), or for an offer (`hostKey` + `identity`).
 * @throws {TesseraError} TESSERA_ERR_BAD_STATE when neither is given; InvitationError for a bad invitation
 */
export function createInitiator(o: ConnectHandshakeOptions): HandshakeInitiator {
  const random = o.random ?? nodeRandom;
  const ciphers = o.ciphers ?? NODE_CIPHERS;
  if (o.invitation) {
    return HandshakeInitiator.fromInvitation(o.invitation, {
      random,
      ciphers,
      kdf: o.kdf ?? scryptKdf,
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.requestMode ? { requestMode: o.requestMode } : {}),
      ...(o.holder ? { holder: o.holder } : {}),
    });
  }
  if (o.hostKey && o.identity) {
    return new HandshakeInitiator({ hostKey: o.hostKey, auth: { kind: 'offer', identity: o.identity }, random, ciphers, requestMode: o.requestMode ?? 'control' });
  }
  throw new TesseraError(ErrorCode.BadState, 'connectHandshake needs an invitation, or a hostKey and an identity for an offer');
}

function withRemote(est: Established): EstablishedHandshake {
  return { ...est, remote: est.link.remote };
}
