/**
 * Runs the sans-IO handshake machines over any stream.Duplex (spec/handshake.md §3, §8): frames on
 * Channel.Handshake via Deframer/encodeFrame, the handshake and consent deadlines, abort signals and audit
 * events. On success the Duplex is left paused with its 'data' listener removed, and the returned Deframer
 * already holds the AEAD protector, the post-auth body cap and any bytes read beyond the handshake:
 * the session layer attaches its own 'data' listener, calls `duplex.resume()`, and keeps pushing into it.
 */
import type { Duplex } from 'node:stream';
import { AbortError, ErrorCode, ProtocolError, TesseraError, type Clock, type Random } from '../core/index.js';
import { Channel, DEFAULT_MAX_BODY_BYTES } from '../framing/constants.js';
import { Deframer } from '../framing/deframer.js';
import { encodeFrame } from '../framing/frame.js';
import type { AeadSuite } from '../framing/aead.js';
import { auditEvent, type AuditEvent } from '../handshake/audit.js';
import type { Mode } from '../handshake/constants.js';
import { HandshakeInitiator } from '../handshake/initiator.js';
import type { Invitation } from '../handshake/invitation.js';
import type { Helpers, Policy } from '../handshake/policy.js';
import { HandshakeError } from '../handshake/refusal.js';
import { HandshakeResponder, type ConsentAnswer, type ConsentRequest } from '../handshake/responder.js';
import type { HandshakeResult } from '../handshake/result.js';
import type { Throttle } from '../handshake/throttle.js';
import type { PasswordKdf, TicketStore } from '../handshake/ticket.js';
import { NODE_CIPHERS, nodeRandom, scryptKdf } from './handshake-crypto.js';

/** Default deadline for the cryptographic part of the handshake. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default time the host user has to answer a consent request (then: declined). */
export const DEFAULT_CONSENT_TIMEOUT_MS = 60_000;
/** Default time a helper waits for Welcome after sending Auth (covers the host's consent prompt). */
export const DEFAULT_HELPER_CONSENT_WAIT_MS = 90_000;

/** The app's answer: a ConsentAnswer to accept, or 'decline'. */
export type ConsentDecision = ConsentAnswer | 'decline';

/** Options of acceptHandshake (host side). */
export interface AcceptHandshakeOptions {
  readonly staticKey: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  readonly tickets: TicketStore;
  readonly policy?: Policy;
  readonly helpers?: Helpers;
  /** Shared by all connections of a host. */
  readonly throttle?: Throttle;
  /** Asked once the helper is authenticated. */
  readonly onConsent: (request: ConsentRequest, signal: AbortSignal) => ConsentDecision | Promise<ConsentDecision>;
  /** Receives one event per decision. */
  readonly audit?: (event: AuditEvent) => void;
  /** Peer address for throttling and audit; default: the socket's remoteAddress (and remotePort for audit). */
  readonly peer?: string;
  /** Default 10 000 ms, from start until the helper is authenticated. */
  readonly timeoutMs?: number;
  /** Default 60 000 ms; on expiry the connection is declined (USER_DECLINED). */
  readonly consentTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Default Date.now. */
  readonly clock?: Clock;
  /** Default node:crypto randomBytes. */
  readonly random?: Random;
  /** Host cipher preference; default NODE_CIPHERS (AES-256-GCM, ChaCha20-Poly1305, XSalsa20-Poly1305). */
  readonly ciphers?: readonly AeadSuite[];
  /** Body cap after the handshake; default 16 MiB. */
  readonly maxBodyBytes?: number;
}

/** Options of connectHandshake (helper side): `invitation` for solicited help, or `hostKey` + `identity` for an offer. */
export interface ConnectHandshakeOptions {
  readonly invitation?: Invitation;
  readonly password?: string;
  /** Host static key for an offer (no invitation). */
  readonly hostKey?: Uint8Array;
  /** Ed25519 identity key pair (nacl.sign) for an offer. */
  readonly identity?: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
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
}

/**
 * Runs the host's side. Resolves when Welcome was written. On a refusal the Refusal is written, the
 * socket is ended, and the promise rejects with HandshakeError.
 * @throws {HandshakeError} refused (the code is in `refusal`)
 * @throws {ProtocolError} malformed helper messages (socket destroyed)
 * @throws {TesseraError} TESSERA_ERR_HANDSHAKE_TIMEOUT, TESSERA_ERR_CLOSED
 * @throws {AbortError} when `signal` aborts
 */
export function acceptHandshake(duplex: Duplex, o: AcceptHandshakeOptions): Promise<EstablishedHandshake> {
  const clock = o.clock ?? Date.now;
  const sock = duplex as Duplex & { remoteAddress?: string; remotePort?: number };
  const address = o.peer ?? sock.remoteAddress ?? 'unknown';
  const remote = sock.remotePort !== undefined && o.peer === undefined ? `${address}:${sock.remotePort}` : address;
  const responder = new HandshakeResponder({
    staticKey: o.staticKey,
    tickets: o.tickets,
    clock,
    random: o.random ?? nodeRandom,
    peer: address,
    ciphers: o.ciphers ?? NODE_CIPHERS,
    ...(o.policy ? { policy: o.policy } : {}),
    ...(o.helpers ? { helpers: o.helpers } : {}),
    ...(o.throttle ? { throttle: o.throttle } : {}),
  });
  const audit = (fields: Omit<AuditEvent, 'time' | 'peer'>): void => {
    try {
      o.audit?.(auditEvent(clock(), { ...fields, peer: remote }));
    } catch {
      // An audit sink failure must not change the handshake's outcome.
    }
  };
  return drive(duplex, o.signal, o.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, (ctx) => {
    let consenting = false;
    const outcomeAudit = (): void => {
      const out = responder.outcome;
      if (out) audit({ decision: out.decision, code: out.code, mode: out.mode, ticketId: out.ticketId, helper: out.helper });
    };
    const refuse = (err: HandshakeError): void => {
      const msg = responder.next();
      outcomeAudit();
      ctx.endWith(msg ? encodeFrame(Channel.Handshake, msg) : undefined);
      ctx.reject(err);
    };
    /** The app's consent handler failed or answered nonsense: fail closed as USER_DECLINED. */
    const declineWith = (cause: unknown): void => {
      responder.decline();
      const msg = responder.next();
      outcomeAudit();
      ctx.endWith(msg ? encodeFrame(Channel.Handshake, msg) : undefined);
      ctx.reject(new HandshakeError('USER_DECLINED', { cause }));
    };
    const finish = (): void => {
      const msg = responder.next()!;
      const result = responder.finish();
      outcomeAudit();
      ctx.write(encodeFrame(Channel.Handshake, msg));
      ctx.resolve(result, o.maxBodyBytes, remote);
    };
    ctx.onFailure = (err) => {
      if (consenting && responder.state === 'await-consent') {
        try {
          responder.decline();
        } catch {
          // Already decided.
        }
      }
      const code = err instanceof TesseraError ? err.code : err instanceof AbortError ? err.code : 'ERROR';
      audit({ decision: err instanceof TesseraError && err.code === ErrorCode.HandshakeTimeout ? 'timeout' : 'error', code, mode: null, ticketId: null, helper: null });
    };
    return (payload: Uint8Array): boolean => {
      const step = responder.receive(payload);
      if (step.type === 'send') {
        ctx.write(encodeFrame(Channel.Handshake, responder.next()!));
        return true;
      }
      if (step.type === 'refused') {
        refuse(step.error);
        return false;
      }
      // Consent: stop reading, swap the handshake deadline for the consent deadline, ask the app.
      consenting = true;
      const consentAbort = new AbortController();
      ctx.onSettle = () => consentAbort.abort();
      ctx.restartTimer(o.consentTimeoutMs ?? DEFAULT_CONSENT_TIMEOUT_MS, () => {
        consentAbort.abort();
        const err = responder.decline();
        refuse(err);
      });
      Promise.resolve()
        .then(() => o.onConsent(step.request, consentAbort.signal))
        .then(
          (answer) => {
            if (ctx.settled || responder.state !== 'await-consent') return;
            if (answer === 'decline') {
              refuse(responder.decline());
              return;
            }
            try {
              responder.accept(answer);
            } catch (err) {
              declineWith(err);
              return;
            }
            finish();
          },
          (err: unknown) => {
            if (ctx.settled || responder.state !== 'await-consent') return;
            declineWith(err);
          },
        );
      return false;
    };
  });
}

/**
 * Runs the helper's side. Resolves when Welcome arrived.
 * @throws {HandshakeError} a refusal from the host, or HOST_KEY_MISMATCH
 * @throws {ProtocolError} malformed host messages
 * @throws {TesseraError} TESSERA_ERR_HANDSHAKE_TIMEOUT, TESSERA_ERR_CLOSED; {StateError} bad options
 * @throws {AbortError} when `signal` aborts
 */
export function connectHandshake(duplex: Duplex, o: ConnectHandshakeOptions): Promise<EstablishedHandshake> {
  const random = o.random ?? nodeRandom;
  const ciphers = o.ciphers ?? NODE_CIPHERS;
  let initiator: HandshakeInitiator;
  try {
    if (o.invitation) {
      initiator = HandshakeInitiator.fromInvitation(o.invitation, {
        random,
        ciphers,
        kdf: o.kdf ?? scryptKdf,
        ...(o.password !== undefined ? { password: o.password } : {}),
        ...(o.requestMode ? { requestMode: o.requestMode } : {}),
      });
    } else if (o.hostKey && o.identity) {
      initiator = new HandshakeInitiator({ hostKey: o.hostKey, auth: { kind: 'offer', identity: o.identity }, random, ciphers, requestMode: o.requestMode ?? 'control' });
    } else {
      throw new TesseraError(ErrorCode.BadState, 'connectHandshake needs an invitation, or a hostKey and an identity for an offer');
    }
  } catch (err) {
    duplex.destroy();
    return Promise.reject(err);
  }
  const sock = duplex as Duplex & { remoteAddress?: string; remotePort?: number };
  const remote = sock.remoteAddress !== undefined ? `${sock.remoteAddress}:${sock.remotePort ?? ''}` : 'unknown';
  return drive(duplex, o.signal, o.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, (ctx) => {
    ctx.write(encodeFrame(Channel.Handshake, initiator.next()!));
    return (payload: Uint8Array): boolean => {
      const step = initiator.receive(payload);
      if (step.type === 'send') {
        ctx.write(encodeFrame(Channel.Handshake, initiator.next()!));
        ctx.restartTimer(o.consentTimeoutMs ?? DEFAULT_HELPER_CONSENT_WAIT_MS);
        return true;
      }
      ctx.resolve(initiator.finish(), o.maxBodyBytes, remote);
      return false;
    };
  });
}

function ignore(): void {
  // Errors after the handshake failed (e.g. a reset while closing) have nobody left to tell.
}

/** What a role gets from the shared driver. */
interface DriveContext {
  write(bytes: Uint8Array): void;
  /** Writes the last bytes, ends the stream, destroys it after a grace period. */
  endWith(bytes: Uint8Array | undefined): void;
  resolve(result: HandshakeResult, maxBodyBytes: number | undefined, remote: string): void;
  reject(err: unknown): void;
  restartTimer(ms: number, onExpiry?: () => void): void;
  readonly settled: boolean;
  /** Called once when the handshake fails for a reason other than an explicit reject (timeout, close, abort, protocol). */
  onFailure?: (err: unknown) => void;
  /** Called once when the promise settles. */
  onSettle?: () => void;
}

function drive(duplex: Duplex, signal: AbortSignal | undefined, timeoutMs: number, setup: (ctx: DriveContext) => (payload: Uint8Array) => boolean): Promise<EstablishedHandshake> {
  return new Promise<EstablishedHandshake>((resolvePromise, rejectPromise) => {
    const deframer = new Deframer();
    let settled = false;
    let reading = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let handle: ((payload: Uint8Array) => boolean) | undefined;

    const cleanup = (): void => {
      settled = true;
      if (timer) clearTimeout(timer);
      duplex.off('data', onData);
      duplex.off('end', onEnd);
      duplex.off('close', onEnd);
      duplex.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      ctx.onSettle?.();
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      ctx.onFailure?.(err);
      cleanup();
      duplex.on('error', ignore);
      duplex.destroy();
      rejectPromise(err);
    };
    const ctx: DriveContext = {
      write: (bytes) => {
        if (!duplex.destroyed) duplex.write(bytes);
      },
      endWith: (bytes) => {
        duplex.on('error', ignore);
        if (duplex.destroyed) return;
        if (bytes) duplex.end(bytes);
        else duplex.end();
        setTimeout(() => duplex.destroy(), 2000).unref?.();
      },
      resolve: (result, maxBodyBytes, remote) => {
        if (settled) return;
        cleanup();
        duplex.pause();
        deframer.setProtector(result.protector);
        deframer.setMaxBodyBytes(maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
        resolvePromise({ ...result, deframer, remote });
      },
      reject: (err) => {
        if (settled) return;
        cleanup();
        rejectPromise(err);
      },
      restartTimer: (ms, onExpiry) => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(onExpiry ?? onTimeout, ms);
      },
      get settled() {
        return settled;
      },
    };
    const onTimeout = (): void => {
      fail(new TesseraError(ErrorCode.HandshakeTimeout, 'handshake did not finish in time', { context: 'handshake' }));
    };
    const pump = (): void => {
      while (reading && !settled) {
        const frame = deframer.next();
        if (!frame) return;
        if (frame.channel !== Channel.Handshake) {
          throw new ProtocolError(ErrorCode.UnexpectedMessage, `frame on channel ${frame.channel} during the handshake`, { context: 'handshake', field: 'channel', received: frame.channel });
        }
        reading = handle!(frame.payload);
      }
    };
    const onData = (chunk: Uint8Array): void => {
      if (settled) return;
      try {
        deframer.push(chunk);
        pump();
      } catch (err) {
        fail(err);
      }
    };
    const onEnd = (): void => fail(new TesseraError(ErrorCode.Closed, 'connection closed during the handshake', { context: 'handshake' }));
    const onError = (err: Error): void => fail(new TesseraError(ErrorCode.Io, 'connection failed during the handshake', { context: 'handshake', cause: err }));
    const onAbort = (): void => fail(new AbortError(undefined, { cause: signal?.reason }));

    if (signal?.aborted) {
      duplex.destroy();
      rejectPromise(new AbortError(undefined, { cause: signal.reason }));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    duplex.on('error', onError);
    duplex.on('end', onEnd);
    duplex.on('close', onEnd);
    timer = setTimeout(onTimeout, timeoutMs);
    try {
      handle = setup(ctx);
    } catch (err) {
      fail(err);
      return;
    }
    duplex.on('data', onData);
    // Stop reading while the host user decides; resumed by nothing (the handshake ends after consent).
    const origHandle = handle;
    handle = (payload) => {
      const more = origHandle(payload);
      if (!more && !settled) duplex.pause();
      return more;
    };
  });
}
