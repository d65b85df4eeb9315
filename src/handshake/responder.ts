/**
 * The host's side of the handshake (spec/handshake.md §3, §4, §6) as a sans-IO state machine.
 * `receive(bytes)` takes each helper message and reports a step; `next()` yields bytes to send;
 * consent is an input: after a 'consent' step the app calls `accept(...)` or `decline()`.
 * States: 'await-client-hello' -> 'await-auth' -> 'await-consent' -> 'done' -> 'finished'; 'failed' is terminal
 * (a refusal leaves one Refusal message to send, then nothing).
 */
import { ErrorCode, INSPECT, ProtocolError, StateError, TesseraError, toHex, type Clock, type Random } from '../core/index.js';
import { XSalsa20Poly1305, type AeadSuite } from '../framing/aead.js';
import { Label, MessageType, leastMode, type Mode } from './constants.js';
import { dh, dhKeyPair, verifyLabelled } from './crypto.js';
import {
  decodeAuthPayload,
  decodeClientHello,
  decodeSealed,
  encodeRefusal,
  encodeRefusalCode,
  encodeSealed,
  encodeServerHello,
  encodeWelcomePayload,
  type CodecCaps,
} from './messages.js';
import { DEFAULT_POLICY, EMPTY_HELPERS, allowedHelper, type Helpers, type Policy } from './policy.js';
import { HandshakeError, Refusal } from './refusal.js';
import { SessionKeys, makeProtector, type HandshakeResult, type PeerInfo } from './result.js';
import type { Throttle } from './throttle.js';
import { findHolder, holderFingerprint, ticketMaxUses, type TicketStore } from './ticket.js';
import { SymmetricState } from './transcript.js';

/** Options of HandshakeResponder. */
export interface ResponderOptions {
  /** The host's static X25519 key pair (its public key is in every invitation). */
  readonly staticKey: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  readonly tickets: TicketStore;
  /** Default DEFAULT_POLICY. */
  readonly policy?: Policy;
  /** Default: empty directory. */
  readonly helpers?: Helpers;
  /** Shared across connections; none means no throttling. */
  readonly throttle?: Throttle;
  /** The peer's address (for throttling and audit), e.g. "127.0.0.1". Default "unknown". */
  readonly peer?: string;
  readonly clock: Clock;
  readonly random: Random;
  /** Transport ciphers this host can run, preferred first (default [XSalsa20Poly1305]). */
  readonly ciphers?: readonly AeadSuite[];
}

/** What the app is asked to decide. */
export interface ConsentRequest {
  readonly kind: 'ticket' | 'offer';
  /** Ticket id (hex) for a solicited connection. */
  readonly ticketId?: string | undefined;
  /** Display name of the invitation. */
  readonly ticketName?: string | undefined;
  /** Verified helper user name (from the helpers directory) for an offer. */
  readonly helper?: string | undefined;
  /** The helper's Ed25519 identity key, for an offer. */
  readonly identityKey?: Uint8Array | undefined;
  /**
   * Solicited: the helper's holder key for this invitation (spec §3.3), and its short fingerprint (holderFingerprint).
   * The helper's program made it for this invitation: it tells one helper from another on the same invitation, and
   * a returning helper from a new one; it does not say who the helper is.
   */
  readonly holderKey?: Uint8Array | undefined;
  readonly holderFingerprint?: string | undefined;
  /** Solicited: true when this holder was admitted with this invitation before (a reconnection). */
  readonly returning?: boolean | undefined;
  /** Solicited: sessions admitted with this invitation before this one (every helper), and when the last began. */
  readonly previousUses?: number | undefined;
  readonly lastUsedMs?: number | undefined;
  /** Solicited: different helpers admitted before, and the most the invitation admits (capped by policy). */
  readonly holders?: number | undefined;
  readonly maxUses?: number | undefined;
  /** Mode the helper asked for. */
  readonly requestedMode: Mode;
  /** Most the host may grant: least of policy permit, invitation mode and requested mode. */
  readonly maxMode: Mode;
  readonly peer: string;
}

/** The app's answer to a consent request. */
export interface ConsentAnswer {
  /** Mode the user allows; the grant is the least of this and maxMode. */
  readonly mode: Mode;
  readonly width: number;
  readonly height: number;
  /** Codec capabilities for Welcome (at most 32 entries). */
  readonly codecs?: CodecCaps;
}

export type ResponderState = 'await-client-hello' | 'await-auth' | 'await-consent' | 'done' | 'failed' | 'finished';

/** What receive() reports. */
export type ResponderStep =
  | { readonly type: 'send' }
  | { readonly type: 'consent'; readonly request: ConsentRequest }
  | { readonly type: 'refused'; readonly error: HandshakeError };

/** The outcome of a handshake for the audit log (no secrets). */
export interface ResponderOutcome {
  /** 'reconnected': accepted, and the holder had used this invitation before. */
  readonly decision: 'accepted' | 'reconnected' | 'refused';
  readonly code: Refusal | null;
  readonly mode: Mode | null;
  readonly ticketId: string | null;
  readonly helper: string | null;
}

/** The host's handshake machine. */
export class HandshakeResponder {
  #state: ResponderState = 'await-client-hello';
  readonly #o: ResponderOptions;
  readonly #policy: Policy;
  readonly #helpers: Helpers;
  readonly #ciphers: readonly AeadSuite[];
  readonly #peer: string;
  #ss: SymmetricState;
  /** The state right after ServerHello: once set, refusals go sealed under its refusal key (spec §3.6). */
  #afterHello: SymmetricState | undefined;
  #cipher: AeadSuite | undefined;
  #outgoing: Uint8Array[] = [];
  #request: ConsentRequest | undefined;
  #granted: { mode: Mode; width: number; height: number; codecs: CodecCaps } | undefined;
  #ticketId: string | null = null;
  #helper: string | null = null;
  #holderKey: Uint8Array | undefined;
  #maxUses = 1;
  #outcome: ResponderOutcome | undefined;

  constructor(o: ResponderOptions) {
    if (o.staticKey.publicKey.byteLength !== 32 || o.staticKey.secretKey.byteLength !== 32) throw new StateError('staticKey must be an x25519 key pair');
    this.#o = o;
    this.#policy = o.policy ?? DEFAULT_POLICY;
    this.#helpers = o.helpers ?? EMPTY_HELPERS;
    this.#ciphers = o.ciphers ?? [XSalsa20Poly1305];
    this.#peer = o.peer ?? 'unknown';
    this.#ss = SymmetricState.initial(o.staticKey.publicKey);
  }

  get state(): ResponderState {
    return this.#state;
  }

  /** The decision, once there is one (accepted after accept(), refused after a refusal). */
  get outcome(): ResponderOutcome | undefined {
    return this.#outcome;
  }

  /** The pending consent request while in 'await-consent'. */
  get consentRequest(): ConsentRequest | undefined {
    return this.#state === 'await-consent' ? this.#request : undefined;
  }

  /** The next message to send (ServerHello, Welcome or Refusal), or undefined. */
  next(): Uint8Array | undefined {
    return this.#outgoing.shift();
  }

  /**
   * Takes one message from the helper.
   * @returns 'send' (call next()), 'consent' (ask the user, then accept/decline), or 'refused' (send next(), then close)
   * @throws {ProtocolError} on malformed or unexpected messages (the machine fails; close without reply)
   * @throws {StateError} when called out of turn
   */
  receive(bytes: Uint8Array): ResponderStep {
    if (this.#state !== 'await-client-hello' && this.#state !== 'await-auth') throw new StateError(`responder cannot receive in state ${this.#state}`);
    try {
      return this.#state === 'await-client-hello' ? this.#clientHello(bytes) : this.#auth(bytes);
    } catch (err) {
      this.#state = 'failed';
      if (err instanceof TesseraError) throw err;
      throw new ProtocolError(ErrorCode.InvalidField, 'handshake message could not be processed', { context: 'handshake', cause: err });
    }
  }

  #clientHello(bytes: Uint8Array): ResponderStep {
    let hello;
    try {
      hello = decodeClientHello(bytes);
    } catch (err) {
      if (err instanceof ProtocolError && err.code === ErrorCode.UnsupportedVersion) return this.#refuse('VERSION_MISMATCH');
      throw err;
    }
    if (this.#o.throttle?.isThrottled(undefined, this.#peer)) return this.#refuse('THROTTLED');
    const cipher = this.#ciphers.find((c) => hello.ciphers.includes(c.id));
    if (!cipher) {
      throw new ProtocolError(ErrorCode.InvalidField, 'client-hello offers no cipher this host supports', { context: 'client-hello', field: 'cipher' });
    }
    const ss = this.#ss.fork();
    ss.mixHash(bytes);
    const eph = dhKeyPair(this.#o.random(32));
    const ee = dh(eph.secretKey, hello.ephemeral, 'client-hello');
    const es = dh(this.#o.staticKey.secretKey, hello.ephemeral, 'client-hello');
    const header = new Uint8Array(34);
    header[0] = MessageType.ServerHello;
    header.set(eph.publicKey, 1);
    header[33] = cipher.id;
    ss.mixHash(header);
    ss.mixKey(ee);
    ss.mixKey(es);
    const tag = ss.encrypt(new Uint8Array(0));
    this.#ss = ss;
    this.#afterHello = ss.fork();
    this.#cipher = cipher;
    this.#outgoing.push(encodeServerHello({ ephemeral: eph.publicKey, cipher: cipher.id, tag }));
    this.#state = 'await-auth';
    return { type: 'send' };
  }

  #auth(bytes: Uint8Array): ResponderStep {
    const ct = decodeSealed(bytes, MessageType.Auth, 'auth');
    const ss = this.#ss.fork();
    const proofHash = ss.h;
    const throttle = this.#o.throttle;
    const pt = ss.decrypt(ct);
    if (!pt) {
      // Only someone who did not run this handshake (e.g. a replay) sends an Auth that fails to open.
      throttle?.recordFailure(undefined, this.#peer);
      return this.#refuse('BAD_PROOF');
    }
    const auth = decodeAuthPayload(pt);
    const now = this.#o.clock();
    let maxMode: Mode;
    let request: ConsentRequest;
    if (auth.kind === 'ticket') {
      const id = toHex(auth.ticketId);
      this.#ticketId = id;
      if (throttle?.isThrottled(id, this.#peer)) return this.#refuse('THROTTLED');
      if (!this.#policy.solicited.enabled) return this.#refuse('POLICY_DENIED');
      const ticket = this.#o.tickets.get(id);
      if (!ticket) {
        throttle?.recordFailure(undefined, this.#peer);
        return this.#refuse('TICKET_UNKNOWN');
      }
      // The proofs are checked before the ticket's status, so only a holder of the secret learns it.
      let ok = verifyLabelled(ticket.verifier, Label.ticketProof, proofHash, auth.ticketSig) && verifyLabelled(auth.holder, Label.holderProof, proofHash, auth.holderSig);
      if (ticket.passwordVerifier) {
        ok = ok && auth.passwordSig !== undefined && verifyLabelled(ticket.passwordVerifier, Label.passwordProof, proofHash, auth.passwordSig);
      } else if (auth.passwordSig !== undefined) {
        ok = false;
      }
      if (!ok) {
        throttle?.recordFailure(id, this.#peer);
        return this.#refuse('BAD_PROOF');
      }
      const fingerprint = holderFingerprint(auth.holder);
      this.#helper = `holder:${fingerprint.replace(/ /g, '')}`;
      if (ticket.revoked) return this.#refuse('TICKET_REVOKED');
      if (!(now < ticket.expiresMs)) return this.#refuse('TICKET_EXPIRED');
      // One helper per place (spec §2.5): a holder seen before comes back; another takes a free place or is refused.
      const maxUses = Math.min(ticketMaxUses(ticket), this.#policy.solicited.maxUses);
      const returning = findHolder(ticket, auth.holder) !== undefined;
      const holders = ticket.holders?.length ?? 0;
      if (!returning && holders >= maxUses) return this.#refuse('TICKET_IN_USE');
      this.#holderKey = auth.holder;
      this.#maxUses = maxUses;
      maxMode = leastMode(this.#policy.solicited.permit, ticket.mode, auth.mode);
      request = {
        kind: 'ticket',
        ticketId: id,
        ticketName: ticket.name,
        holderKey: auth.holder,
        holderFingerprint: fingerprint,
        returning,
        previousUses: ticket.uses,
        lastUsedMs: ticket.lastUsedMs,
        holders,
        maxUses,
        requestedMode: auth.mode,
        maxMode,
        peer: this.#peer,
      };
    } else {
      if (throttle?.isThrottled(undefined, this.#peer)) return this.#refuse('THROTTLED');
      if (!this.#policy.offer.enabled) return this.#refuse('POLICY_DENIED');
      if (!verifyLabelled(auth.identity, Label.offerProof, proofHash, auth.signature)) {
        throttle?.recordFailure(undefined, this.#peer);
        return this.#refuse('BAD_PROOF');
      }
      const user = allowedHelper(this.#policy, this.#helpers, auth.identity);
      if (user === undefined) return this.#refuse('POLICY_DENIED');
      this.#helper = user;
      maxMode = leastMode(this.#policy.offer.permit, auth.mode);
      request = { kind: 'offer', helper: user, identityKey: auth.identity, requestedMode: auth.mode, maxMode, peer: this.#peer };
    }
    this.#ss = ss;
    this.#request = request;
    this.#state = 'await-consent';
    return { type: 'consent', request };
  }

  /**
   * The user allows the connection; queues Welcome. Granted mode = least of answer.mode and maxMode.
   * For an invitation the use is recorded first, atomically: when another helper took the last place meanwhile
   * (two were asked at once), a TICKET_IN_USE refusal is queued instead, the state is 'failed', and that refusal is returned.
   * @returns undefined when Welcome was queued, else the refusal (send next(), then close)
   * @throws {StateError} unless a consent request is pending, or when width/height/codecs are out of range
   */
  accept(answer: ConsentAnswer): HandshakeError | undefined {
    if (this.#state !== 'await-consent') throw new StateError(`responder cannot accept in state ${this.#state}`);
    if (answer.mode !== 'view' && answer.mode !== 'control') throw new StateError('consent mode must be view or control');
    if (!(Number.isInteger(answer.width) && Number.isInteger(answer.height) && answer.width >= 0 && answer.height >= 0 && answer.width <= 16384 && answer.height <= 16384)) {
      throw new StateError('screen width and height must be integers 0..16384');
    }
    const mode = leastMode(answer.mode, this.#request!.maxMode);
    const codecs = answer.codecs ?? {};
    let payload: Uint8Array;
    try {
      payload = encodeWelcomePayload({ mode, width: answer.width, height: answer.height, codecs });
    } catch (err) {
      throw new StateError('codec capabilities must be at most 32 short entries', { cause: err });
    }
    let decision: 'accepted' | 'reconnected' = 'accepted';
    if (this.#request!.kind === 'ticket') {
      const claim = this.#o.tickets.recordUse(this.#request!.ticketId!, this.#o.clock(), this.#holderKey, this.#maxUses);
      if (claim === 'full') return this.#refuse('TICKET_IN_USE').error;
      if (claim === 'again') decision = 'reconnected';
    }
    const ss = this.#ss.fork();
    this.#outgoing.push(encodeSealed(MessageType.Welcome, ss.encrypt(payload)));
    this.#ss = ss;
    this.#granted = { mode, width: answer.width, height: answer.height, codecs };
    this.#outcome = { decision, code: null, mode, ticketId: this.#ticketId, helper: this.#helper };
    this.#state = 'done';
    return undefined;
  }

  /**
   * The user (or a consent timeout) refuses; queues Refusal USER_DECLINED.
   * @throws {StateError} unless a consent request is pending
   */
  decline(): HandshakeError {
    if (this.#state !== 'await-consent') throw new StateError(`responder cannot decline in state ${this.#state}`);
    const step = this.#refuse('USER_DECLINED');
    return step.error;
  }

  /**
   * Finishes the handshake after Welcome was queued; the machine refuses further calls.
   * @throws {StateError} unless the state is 'done'
   */
  finish(): HandshakeResult {
    if (this.#state !== 'done') throw new StateError(`responder cannot finish in state ${this.#state}`);
    this.#state = 'finished';
    const { initiatorToResponder, responderToInitiator } = this.#ss.split();
    const keys = new SessionKeys(responderToInitiator, initiatorToResponder, this.#ss.h);
    const g = this.#granted!;
    const r = this.#request!;
    const peer: PeerInfo = r.kind === 'ticket' ? { kind: 'ticket', ticketId: r.ticketId } : { kind: 'offer', helper: r.helper, identityKey: r.identityKey };
    return {
      mode: g.mode,
      keys,
      cipher: this.#cipher!,
      protector: makeProtector(this.#cipher!, keys),
      welcome: { width: g.width, height: g.height, codecs: g.codecs },
      peer,
    };
  }

  /** Queues the refusal: sealed under the handshake keys once ServerHello went out, in the clear before (spec §3.5, §3.6). */
  #refuse(code: Refusal): { type: 'refused'; error: HandshakeError } {
    this.#state = 'failed';
    const sealed = this.#afterHello !== undefined;
    this.#outgoing = [sealed ? encodeSealed(MessageType.SealedRefusal, this.#afterHello!.sealRefusal(encodeRefusalCode(Refusal[code]))) : encodeRefusal(Refusal[code])];
    this.#outcome = { decision: 'refused', code, mode: null, ticketId: this.#ticketId, helper: this.#helper };
    return { type: 'refused', error: new HandshakeError(code, {}, sealed) };
  }

  [INSPECT](): string {
    return `HandshakeResponder { state: '${this.#state}' }`;
  }
}
