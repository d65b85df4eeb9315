/**
 * The helper's side of the handshake (spec/handshake.md §3, §4) as a sans-IO state machine:
 * `next()` yields bytes to send, `receive(bytes)` takes each message from the host.
 * States: 'start' -> 'await-server-hello' -> 'await-welcome' -> 'done' (or 'failed', terminal).
 */
import nacl from 'tweetnacl';
import { ErrorCode, INSPECT, ProtocolError, StateError, TesseraError, type Random } from '../core/index.js';
import { XSalsa20Poly1305, type AeadSuite } from '../framing/aead.js';
import { HANDSHAKE_VERSION, Label, MAX_CIPHERS, MessageType, TICKET_ID_BYTES, TICKET_SECRET_BYTES, type Mode } from './constants.js';
import { derivedSigningKey, dh, dhKeyPair, signLabelled } from './crypto.js';
import type { Invitation } from './invitation.js';
import {
  decodeRefusal,
  decodeRefusalCode,
  decodeSealed,
  decodeSealedRefusal,
  decodeServerHello,
  decodeWelcomePayload,
  encodeAuthPayload,
  encodeClientHello,
  encodeSealed,
  messageType,
  type AuthPayload,
  type WelcomePayload,
} from './messages.js';
import { HandshakeError } from './refusal.js';
import { SessionKeys, makeProtector, type HandshakeResult } from './result.js';
import type { PasswordKdf } from './ticket.js';
import { SymmetricState } from './transcript.js';

/** How the helper authenticates. */
export type InitiatorAuth =
  | {
      readonly kind: 'ticket';
      readonly ticketId: Uint8Array;
      readonly secret: Uint8Array;
      /** KDF output of the password (kdf(password, invitation.passwordSalt)), when the invitation needs one. */
      readonly passwordKey?: Uint8Array | undefined;
      /**
       * The helper's holder key for this invitation (an Ed25519 key pair, spec §3.3): the host admits the same holder
       * again, and no other once the invitation's places are taken. Keep it to reconnect; default a fresh one from `random`.
       */
      readonly holder?: HolderKey | undefined;
    }
  | {
      readonly kind: 'offer';
      /** The helper's Ed25519 identity (nacl.sign key pair). */
      readonly identity: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
    };

/** An Ed25519 key pair (nacl.sign) a helper holds for one invitation. */
export interface HolderKey {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** A fresh holder key from 32 random bytes. */
export function newHolderKey(random: Random): HolderKey {
  return nacl.sign.keyPair.fromSeed(random(32).slice(0, 32));
}

/** Options of HandshakeInitiator. */
export interface InitiatorOptions {
  /** The host's static X25519 public key (pinned by the invitation). */
  readonly hostKey: Uint8Array;
  readonly auth: InitiatorAuth;
  /** Mode asked for (default control); the host grants at most this. */
  readonly requestMode?: Mode;
  readonly random: Random;
  /** Transport ciphers this side can run, preferred first (default [XSalsa20Poly1305]). */
  readonly ciphers?: readonly AeadSuite[];
}

/** Options of HandshakeInitiator.fromInvitation. */
export interface InitiatorFromInvitationOptions {
  readonly password?: string;
  /** Password KDF; required when the invitation needs a password. */
  readonly kdf?: PasswordKdf;
  readonly requestMode?: Mode;
  readonly random: Random;
  readonly ciphers?: readonly AeadSuite[];
  /** The holder key to prove (kept from an earlier connection with this invitation); default a fresh one. */
  readonly holder?: HolderKey;
}

export type InitiatorState = 'start' | 'await-server-hello' | 'send-auth' | 'await-welcome' | 'done' | 'failed' | 'finished';

/** What receive() reports. */
export type InitiatorStep = { readonly type: 'send' } | { readonly type: 'done' };

/** The helper's handshake machine. */
export class HandshakeInitiator {
  #state: InitiatorState = 'start';
  readonly #o: InitiatorOptions;
  readonly #ciphers: readonly AeadSuite[];
  readonly #ephemeral: { publicKey: Uint8Array; secretKey: Uint8Array };
  readonly #requestMode: Mode;
  readonly #holder: HolderKey | undefined;
  #ss: SymmetricState;
  /** The state right after ServerHello: the key of a sealed refusal (spec §3.6). */
  #afterHello: SymmetricState | undefined;
  #cipher: AeadSuite | undefined;
  #welcome: WelcomePayload | undefined;
  #outgoing: Uint8Array | undefined;

  constructor(o: InitiatorOptions) {
    if (o.hostKey.byteLength !== 32) throw new StateError('hostKey must be a 32-byte x25519 public key');
    if (o.auth.kind === 'ticket') {
      if (o.auth.ticketId.byteLength !== TICKET_ID_BYTES || o.auth.secret.byteLength !== TICKET_SECRET_BYTES) {
        throw new StateError('ticket id must be 16 bytes and secret 32 bytes');
      }
      if (o.auth.holder && (o.auth.holder.publicKey.byteLength !== 32 || o.auth.holder.secretKey.byteLength !== 64)) {
        throw new StateError('holder must be an ed25519 key pair');
      }
    } else if (o.auth.identity.secretKey.byteLength !== 64 || o.auth.identity.publicKey.byteLength !== 32) {
      throw new StateError('identity must be an ed25519 key pair');
    }
    this.#o = o;
    this.#ciphers = o.ciphers ?? [XSalsa20Poly1305];
    if (this.#ciphers.length < 1 || this.#ciphers.length > MAX_CIPHERS) throw new StateError(`offer 1 to ${MAX_CIPHERS} ciphers`);
    this.#requestMode = o.requestMode ?? 'control';
    this.#ephemeral = dhKeyPair(o.random(32));
    this.#holder = o.auth.kind === 'ticket' ? (o.auth.holder ?? newHolderKey(o.random)) : undefined;
    this.#ss = SymmetricState.initial(o.hostKey);
  }

  /** The holder key this helper proves (ticket auth): keep it to come back with the same invitation. */
  get holder(): HolderKey | undefined {
    return this.#holder;
  }

  /**
   * Builds an initiator from an invitation (ticket auth), deriving the password key with `kdf` if needed.
   * @throws {StateError} when the invitation needs a password and none (or no kdf) was given
   */
  static fromInvitation(inv: Invitation, o: InitiatorFromInvitationOptions): HandshakeInitiator {
    let passwordKey: Uint8Array | undefined;
    if (inv.passwordSalt) {
      if (o.password === undefined) throw new StateError('this invitation needs a password');
      if (!o.kdf) throw new StateError('a password needs a kdf');
      passwordKey = o.kdf(o.password, inv.passwordSalt);
    }
    return new HandshakeInitiator({
      hostKey: inv.hostKey,
      auth: { kind: 'ticket', ticketId: inv.ticketId, secret: inv.secret, passwordKey, holder: o.holder },
      requestMode: o.requestMode ?? inv.mode,
      random: o.random,
      ...(o.ciphers ? { ciphers: o.ciphers } : {}),
    });
  }

  get state(): InitiatorState {
    return this.#state;
  }

  /** The next message to send, or undefined. The first call yields ClientHello. */
  next(): Uint8Array | undefined {
    if (this.#state === 'start') {
      const msg = encodeClientHello({ version: HANDSHAKE_VERSION, ephemeral: this.#ephemeral.publicKey, ciphers: this.#ciphers.map((c) => c.id) });
      this.#ss.mixHash(msg);
      this.#state = 'await-server-hello';
      return msg;
    }
    if (this.#state === 'send-auth') {
      const out = this.#outgoing!;
      this.#outgoing = undefined;
      this.#state = 'await-welcome';
      return out;
    }
    return undefined;
  }

  /**
   * Takes one message from the host.
   * @throws {HandshakeError} TESSERA_ERR_HANDSHAKE_REFUSED on a refusal or a host key mismatch
   * @throws {ProtocolError} on malformed or unexpected messages
   * @throws {StateError} when called out of turn
   */
  receive(bytes: Uint8Array): InitiatorStep {
    if (this.#state !== 'await-server-hello' && this.#state !== 'await-welcome') {
      throw new StateError(`initiator cannot receive in state ${this.#state}`);
    }
    try {
      const type = messageType(bytes);
      if (type === MessageType.Refusal) {
        // In the clear: only before ServerHello, and never the host's proven word (spec §3.5).
        if (this.#state === 'await-welcome') {
          throw new ProtocolError(ErrorCode.UnexpectedMessage, 'a refusal in the clear after the host proved its key', {
            context: 'refusal',
            field: 'type',
            offset: 0,
            received: type,
          });
        }
        throw new HandshakeError(decodeRefusal(bytes), {}, false);
      }
      if (type === MessageType.SealedRefusal && this.#state === 'await-welcome') {
        const pt = this.#afterHello!.openRefusal(decodeSealedRefusal(bytes));
        if (pt === undefined) throw new ProtocolError(ErrorCode.DecryptFailed, 'sealed refusal failed to open', { context: 'sealed-refusal' });
        throw new HandshakeError(decodeRefusalCode(pt), {}, true);
      }
      if (this.#state === 'await-server-hello') return this.#serverHello(bytes);
      return this.#welcomeMessage(bytes);
    } catch (err) {
      this.#state = 'failed';
      if (err instanceof TesseraError) throw err;
      throw new ProtocolError(ErrorCode.InvalidField, 'handshake message could not be processed', { context: 'handshake', cause: err });
    }
  }

  #serverHello(bytes: Uint8Array): InitiatorStep {
    const m = decodeServerHello(bytes);
    const cipher = this.#ciphers.find((c) => c.id === m.cipher);
    if (!cipher) {
      throw new ProtocolError(ErrorCode.InvalidField, `server-hello chose cipher ${m.cipher}, which was not offered`, {
        context: 'server-hello',
        field: 'cipher',
        received: m.cipher,
      });
    }
    const ss = this.#ss.fork();
    ss.mixHash(bytes.subarray(0, bytes.byteLength - 16));
    ss.mixKey(dh(this.#ephemeral.secretKey, m.ephemeral, 'server-hello'));
    ss.mixKey(dh(this.#ephemeral.secretKey, this.#o.hostKey, 'server-hello'));
    if (ss.decrypt(m.tag) === undefined) throw new HandshakeError('HOST_KEY_MISMATCH');
    // Auth proves the ticket (or identity) over the transcript so far, inside the channel only the pinned host can read.
    const proofHash = ss.h;
    const afterHello = ss.fork();
    const auth = this.#o.auth;
    let payload: AuthPayload;
    if (auth.kind === 'ticket') {
      const ticketKey = derivedSigningKey(auth.secret, auth.ticketId, Label.ticketKey);
      const passwordSig = auth.passwordKey
        ? signLabelled(derivedSigningKey(auth.passwordKey, auth.ticketId, Label.passwordKey).secretKey, Label.passwordProof, proofHash)
        : undefined;
      const holder = this.#holder!;
      payload = {
        kind: 'ticket',
        mode: this.#requestMode,
        ticketId: auth.ticketId,
        holder: holder.publicKey,
        ticketSig: signLabelled(ticketKey.secretKey, Label.ticketProof, proofHash),
        holderSig: signLabelled(holder.secretKey, Label.holderProof, proofHash),
        passwordSig,
      };
    } else {
      payload = { kind: 'offer', mode: this.#requestMode, identity: auth.identity.publicKey, signature: signLabelled(auth.identity.secretKey, Label.offerProof, proofHash) };
    }
    this.#outgoing = encodeSealed(MessageType.Auth, ss.encrypt(encodeAuthPayload(payload)));
    this.#cipher = cipher;
    this.#ss = ss;
    this.#afterHello = afterHello;
    this.#state = 'send-auth';
    return { type: 'send' };
  }

  #welcomeMessage(bytes: Uint8Array): InitiatorStep {
    const ct = decodeSealed(bytes, MessageType.Welcome, 'welcome');
    const ss = this.#ss.fork();
    const pt = ss.decrypt(ct);
    if (!pt) throw new ProtocolError(ErrorCode.DecryptFailed, 'welcome failed to open', { context: 'welcome' });
    const welcome = decodeWelcomePayload(pt);
    if (welcome.mode === 'control' && this.#requestMode === 'view') {
      throw new ProtocolError(ErrorCode.InvalidField, 'welcome grants control though view was requested', { context: 'welcome', field: 'mode' });
    }
    this.#welcome = welcome;
    this.#ss = ss;
    this.#state = 'done';
    return { type: 'done' };
  }

  /**
   * Finishes the handshake; the machine refuses further calls.
   * @throws {StateError} unless the state is 'done'
   */
  finish(): HandshakeResult {
    if (this.#state !== 'done') throw new StateError(`initiator cannot finish in state ${this.#state}`);
    this.#state = 'finished';
    const { initiatorToResponder, responderToInitiator } = this.#ss.split();
    const keys = new SessionKeys(initiatorToResponder, responderToInitiator, this.#ss.h);
    const w = this.#welcome!;
    const auth = this.#o.auth;
    return {
      mode: w.mode,
      keys,
      cipher: this.#cipher!,
      protector: makeProtector(this.#cipher!, keys),
      welcome: { width: w.width, height: w.height, codecs: w.codecs },
      peer: auth.kind === 'ticket' ? { kind: 'ticket', ticketId: undefined } : { kind: 'offer', identityKey: auth.identity.publicKey },
    };
  }

  [INSPECT](): string {
    return `HandshakeInitiator { state: '${this.#state}' }`;
  }
}

