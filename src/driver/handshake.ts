/**
 * Drives the sans-IO handshake machines over a Link (spec/handshake.md §3, §8): frames on Channel.Handshake,
 * the handshake and consent deadlines, cancellation, audit events and error mapping. Written once for every
 * transport and both roles; browser-safe (timers are the platform's setTimeout, time comes from an injected clock).
 *
 * On success the link is left without a handler (so paused), and the returned Deframer already holds the AEAD
 * protector, the post-handshake body cap and any bytes that came in with the handshake's last message: the
 * session driver takes the link over from there (src/driver/session.ts).
 */
import { AbortError, ErrorCode, ProtocolError, TesseraError, type Clock, type Random } from '../core/index.js';
import { DEFAULT_CONSENT_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_HELPER_CONSENT_WAIT_MS } from '../core/defaults.js';
import { Channel, DEFAULT_MAX_BODY_BYTES } from '../framing/constants.js';
import { Deframer } from '../framing/deframer.js';
import { encodeFrame } from '../framing/frame.js';
import type { AeadSuite } from '../framing/aead.js';
import { auditEvent, type AuditEvent } from '../handshake/audit.js';
import type { HandshakeInitiator } from '../handshake/initiator.js';
import type { Helpers, Policy } from '../handshake/policy.js';
import { HandshakeError } from '../handshake/refusal.js';
import { HandshakeResponder, type ConsentAnswer, type ConsentRequest } from '../handshake/responder.js';
import type { HandshakeResult } from '../handshake/result.js';
import type { Throttle } from '../handshake/throttle.js';
import type { TicketStore } from '../handshake/ticket.js';
import type { Link } from './link.js';

/** The app's answer: a ConsentAnswer to accept, or 'decline'. */
export type ConsentDecision = ConsentAnswer | 'decline';

/** Options of driveResponder (the host's side). */
export interface ResponderDriveOptions {
  readonly staticKey: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  readonly tickets: TicketStore;
  readonly policy?: Policy;
  readonly helpers?: Helpers;
  /** Shared by all connections of a host. */
  readonly throttle?: Throttle;
  /** Asked once the helper is authenticated; `signal` aborts when the deadline passes or the link goes. */
  readonly onConsent: (request: ConsentRequest, signal: AbortSignal) => ConsentDecision | Promise<ConsentDecision>;
  /** Receives one event per decision. */
  readonly audit?: (event: AuditEvent) => void;
  /** Default DEFAULT_HANDSHAKE_TIMEOUT_MS, from start until the helper is authenticated. */
  readonly timeoutMs?: number;
  /** Default DEFAULT_CONSENT_TIMEOUT_MS; on expiry the connection is declined (USER_DECLINED). */
  readonly consentTimeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly clock: Clock;
  readonly random: Random;
  /** Host cipher preference. */
  readonly ciphers: readonly AeadSuite[];
  /** Body cap after the handshake; default 16 MiB. */
  readonly maxBodyBytes?: number;
}

/** Options of driveInitiator (the helper's side). */
export interface InitiatorDriveOptions {
  /** Default DEFAULT_HANDSHAKE_TIMEOUT_MS until the host has proved its key. */
  readonly timeoutMs?: number;
  /** Default DEFAULT_HELPER_CONSENT_WAIT_MS waiting for Welcome after Auth (the host user's prompt). */
  readonly consentTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called when Auth was sent: the host proved its key and its user is being asked. */
  readonly onAwaitingConsent?: () => void;
  readonly maxBodyBytes?: number;
}

/** A finished handshake on a link. */
export interface Established extends HandshakeResult {
  /** Protector installed, cap raised; holds any bytes already read beyond the handshake. */
  readonly deframer: Deframer;
  /** The link, without a handler until a session driver takes it. */
  readonly link: Link;
}

/**
 * Runs the host's side. Resolves when Welcome was sent. On a refusal the Refusal is sent, the link is ended,
 * and the promise rejects with HandshakeError.
 * @throws {HandshakeError} refused (the code is in `refusal`)
 * @throws {ProtocolError} malformed helper messages (link destroyed)
 * @throws {TesseraError} TESSERA_ERR_HANDSHAKE_TIMEOUT, TESSERA_ERR_CLOSED, TESSERA_ERR_IO
 * @throws {AbortError} when `signal` aborts
 */
export function driveResponder(link: Link, o: ResponderDriveOptions): Promise<Established> {
  const responder = new HandshakeResponder({
    staticKey: o.staticKey,
    tickets: o.tickets,
    clock: o.clock,
    random: o.random,
    peer: link.address,
    ciphers: o.ciphers,
    ...(o.policy ? { policy: o.policy } : {}),
    ...(o.helpers ? { helpers: o.helpers } : {}),
    ...(o.throttle ? { throttle: o.throttle } : {}),
  });
  const audit = (fields: Omit<AuditEvent, 'time' | 'peer'>): void => {
    try {
      o.audit?.(auditEvent(o.clock(), { ...fields, peer: link.remote }));
    } catch {
      // An audit sink failure must not change the handshake's outcome.
    }
  };
  return drive(link, o.signal, o.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, o.maxBodyBytes, (ctx) => {
    let consenting = false;
    const outcomeAudit = (): void => {
      const out = responder.outcome;
      if (out) audit({ decision: out.decision, code: out.code, mode: out.mode, ticketId: out.ticketId, helper: out.helper });
    };
    /** Sends the responder's Refusal (if it has one), audits, ends the link and rejects with `err`. */
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
        ctx.send(encodeFrame(Channel.Handshake, responder.next()!));
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
        refuse(responder.decline());
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
            let refused: HandshakeError | undefined;
            try {
              refused = responder.accept(answer);
            } catch (err) {
              declineWith(err);
              return;
            }
            if (refused) {
              // Another helper took the invitation's last place while this one was being asked (TICKET_IN_USE).
              refuse(refused);
              return;
            }
            const welcome = responder.next()!;
            const result = responder.finish();
            outcomeAudit();
            ctx.send(encodeFrame(Channel.Handshake, welcome));
            ctx.resolve(result);
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
 * Runs the helper's side with a ready initiator (built from an invitation, or for an offer). Resolves when
 * Welcome arrived.
 * @throws {HandshakeError} a refusal from the host, or HOST_KEY_MISMATCH
 * @throws {ProtocolError} malformed host messages
 * @throws {TesseraError} TESSERA_ERR_HANDSHAKE_TIMEOUT, TESSERA_ERR_CLOSED, TESSERA_ERR_IO
 * @throws {AbortError} when `signal` aborts
 */
export function driveInitiator(link: Link, initiator: HandshakeInitiator, o: InitiatorDriveOptions = {}): Promise<Established> {
  return drive(link, o.signal, o.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, o.maxBodyBytes, (ctx) => {
    ctx.send(encodeFrame(Channel.Handshake, initiator.next()!));
    return (payload: Uint8Array): boolean => {
      const step = initiator.receive(payload);
      if (step.type === 'send') {
        ctx.send(encodeFrame(Channel.Handshake, initiator.next()!));
        ctx.restartTimer(o.consentTimeoutMs ?? DEFAULT_HELPER_CONSENT_WAIT_MS);
        o.onAwaitingConsent?.();
        return true;
      }
      ctx.resolve(initiator.finish());
      return false;
    };
  });
}

/** What a role gets from the shared loop. */
interface DriveContext {
  send(bytes: Uint8Array): void;
  /** Sends the last bytes and ends the link. */
  endWith(bytes: Uint8Array | undefined): void;
  resolve(result: HandshakeResult): void;
  reject(err: unknown): void;
  restartTimer(ms: number, onExpiry?: () => void): void;
  readonly settled: boolean;
  /** Called once when the handshake fails other than by an explicit reject (timeout, close, abort, protocol). */
  onFailure?: (err: unknown) => void;
  /** Called once when the promise settles. */
  onSettle?: () => void;
}

/** Handles one handshake payload; returns false to stop reading (the outcome is being decided). */
type PayloadHandler = (payload: Uint8Array) => boolean;

function drive(link: Link, signal: AbortSignal | undefined, timeoutMs: number, maxBodyBytes: number | undefined, setup: (ctx: DriveContext) => PayloadHandler): Promise<Established> {
  return new Promise<Established>((resolvePromise, rejectPromise) => {
    const deframer = new Deframer();
    let settled = false;
    let reading = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let handle: PayloadHandler | undefined;

    const cleanup = (): void => {
      settled = true;
      if (timer) clearTimeout(timer);
      link.setHandler(undefined);
      signal?.removeEventListener('abort', onAbort);
      ctx.onSettle?.();
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      ctx.onFailure?.(err);
      cleanup();
      link.destroy();
      rejectPromise(err);
    };
    const onTimeout = (): void => fail(new TesseraError(ErrorCode.HandshakeTimeout, 'handshake did not finish in time', { context: 'handshake' }));
    const ctx: DriveContext = {
      send: (bytes) => {
        if (!link.closed) link.send(bytes);
      },
      endWith: (bytes) => link.end(bytes),
      resolve: (result) => {
        if (settled) return;
        cleanup();
        deframer.setProtector(result.protector);
        deframer.setMaxBodyBytes(maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
        resolvePromise({ ...result, deframer, link });
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
    const pump = (): void => {
      while (reading && !settled) {
        const frame = deframer.next();
        if (!frame) return;
        if (frame.channel !== Channel.Handshake) {
          throw new ProtocolError(ErrorCode.UnexpectedMessage, `frame on channel ${frame.channel} during the handshake`, { context: 'handshake', field: 'channel', received: frame.channel });
        }
        reading = handle!(frame.payload);
        // Stop reading while the outcome is decided (the host user is asked); the session resumes the link.
        if (!reading && !settled) link.pause();
      }
    };
    const onAbort = (): void => fail(new AbortError(undefined, { cause: signal?.reason }));

    if (signal?.aborted) {
      link.destroy();
      rejectPromise(new AbortError(undefined, { cause: signal.reason }));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(onTimeout, timeoutMs);
    link.setHandler({
      data: (chunk) => {
        if (settled) return;
        try {
          deframer.push(chunk);
          pump();
        } catch (err) {
          fail(err);
        }
      },
      closed: (error) =>
        fail(
          error === undefined
            ? new TesseraError(ErrorCode.Closed, 'connection closed during the handshake', { context: 'handshake' })
            : error instanceof TesseraError
              ? error
              : new TesseraError(ErrorCode.Io, 'connection failed during the handshake', { context: 'handshake', cause: error }),
        ),
    });
    try {
      handle = setup(ctx);
    } catch (err) {
      fail(err);
      return;
    }
    link.resume();
  });
}
