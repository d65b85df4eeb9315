/**
 * Who gets in (spec/handshake.md §8): the host's TCP listener, the handshake slots (at most `maxHandshakes` in
 * progress, and `maxHandshakesPerAddress` from one address group — an IPv4 address, an IPv6 /64), the first-byte
 * deadline, the shared throttle, and the handshake itself, run by the connection driver (src/driver/handshake.ts)
 * with the host user's consent in the middle. What comes out is an established handshake on a Link.
 *
 * A flood must not lock out the invited helper: a connection that sends nothing is dropped after
 * `firstByteTimeoutMs` (2 s), and when a cap is reached the oldest connection that has not sent a byte yet is
 * evicted to make room (as OpenSSH's MaxStartups drops early) instead of refusing the newcomer; only when every
 * slot holds a connection that is talking is the newcomer refused (TOO_MANY_HANDSHAKES).
 */
import { setMaxListeners } from 'node:events';
import type { Duplex } from 'node:stream';
import { ErrorCode, TesseraError, type Clock } from '../../core/index.js';
import { DEFAULT_FIRST_BYTE_TIMEOUT_MS, DEFAULT_HOST_MAX_QUEUED_BYTES, DEFAULT_MAX_HANDSHAKES, DEFAULT_MAX_HANDSHAKES_PER_ADDRESS } from '../../core/defaults.js';
import { Throttle, addressGroup, auditEvent, type AuditEvent, type ConsentRequest, type Helpers, type Policy, type TicketStore } from '../../handshake/index.js';
import { driveResponder, type ConsentDecision, type Established } from '../../driver/handshake.js';
import type { Link, LinkHandler } from '../../driver/link.js';
import { duplexLink } from '../../transport/duplex-link.js';
import { NODE_CIPHERS, nodeRandom } from '../../transport/handshake-crypto.js';
import type { TcpListener } from '../../transport/tcp.js';
import type { HostKey } from '../../node/state-dir.js';

/** Options of Admission. */
export interface AdmissionOptions {
  readonly hostKey: HostKey;
  readonly tickets: TicketStore;
  readonly policy: Policy;
  readonly helpers: Helpers;
  readonly clock: Clock;
  /** Asked once a helper is authenticated; answers a mode and the Welcome's contents, or 'decline'. */
  readonly consent: (request: ConsentRequest, signal: AbortSignal) => Promise<ConsentDecision>;
  readonly audit: (event: AuditEvent) => void;
  /** Aborts every handshake in progress (the host is closing). */
  readonly signal: AbortSignal;
  readonly maxHandshakes?: number;
  readonly maxHandshakesPerAddress?: number;
  readonly handshakeTimeoutMs?: number;
  readonly consentTimeoutMs?: number;
  /** A connection that sends no byte for this long is dropped (default DEFAULT_FIRST_BYTE_TIMEOUT_MS). */
  readonly firstByteTimeoutMs?: number;
  /** Send-queue cap per helper (default DEFAULT_HOST_MAX_QUEUED_BYTES). */
  readonly maxQueuedBytes?: number;
  /** Told of each wrong proof for an invitation, as it happens (never folded like a flood's audit lines). */
  readonly onWrongProof?: (proof: WrongProof) => void;
  /** Told when wrong proofs lock an invitation or an address group out. */
  readonly onLockOut?: (lockOut: LockOut) => void;
}

/**
 * A helper failed to prove an invitation (spec/handshake.md §8): a wrong password or, for an invitation without one,
 * a wrong secret. Nothing secret: which proof failed is not told apart (the responder checks them together).
 */
export interface WrongProof {
  /** The helper's "ip:port". */
  readonly peer: string;
  readonly ticketId: string;
  /** Whether the invitation has a password (then a wrong password is by far the likelier cause). */
  readonly password: boolean;
  /** Wrong proofs for this invitation within the throttle's window, this one included. */
  readonly attempt: number;
  /** Wrong proofs within the window that lock the invitation. */
  readonly maxAttempts: number;
  /** The throttle's window. */
  readonly windowMs: number;
}

/** Wrong proofs locked an invitation, or an address group, out: attempts are refused unchecked (THROTTLED) until `until`. */
export interface LockOut {
  readonly scope: 'invitation' | 'address';
  /** The invitation (scope 'invitation'). */
  readonly ticketId: string | null;
  /** The address group (scope 'address': an IPv4 address, an IPv6 /64). */
  readonly address: string | null;
  /** The helper whose wrong proof locked it ("ip:port"). */
  readonly peer: string;
  /** Wrong proofs within the window that locked it. */
  readonly failures: number;
  readonly windowMs: number;
  readonly until: Date;
}

/** One handshake in progress. */
interface Slot {
  readonly link: Link;
  readonly group: string;
  /** True until the peer sends its first byte: only silent connections are evicted. */
  silent: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Runs handshakes within the host's caps. */
export class Admission {
  readonly #o: AdmissionOptions;
  readonly #throttle: Throttle;
  /** Handshakes in progress, oldest first (Map keeps insertion order). */
  readonly #slots = new Map<Link, Slot>();
  readonly #byGroup = new Map<string, number>();

  constructor(options: AdmissionOptions) {
    this.#o = options;
    this.#throttle = new Throttle({ clock: options.clock });
    // Every handshake in progress listens on the host's abort signal (and removes its listener when done): allow as
    // many as maxHandshakes without Node's 'possible EventTarget memory leak' warning at the eleventh.
    setMaxListeners(this.#maxHandshakes + 16, options.signal);
  }

  get #maxHandshakes(): number {
    return this.#o.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES;
  }

  /** Serves every connection of `listener` until it closes; `admitted` takes each established handshake. */
  async acceptLoop(listener: TcpListener, admitted: (est: Established) => void): Promise<void> {
    try {
      for await (const socket of listener) {
        this.admit(socket).then(admitted, () => {
          // Refusals and failures are audited by the handshake driver (or here, for the caps).
        });
      }
    } catch {
      // The listener closed.
    }
  }

  /**
   * Runs the handshake on one stream. Resolves once the helper is admitted (Welcome sent).
   * @throws {TesseraError} TESSERA_ERR_LIMIT_EXCEEDED when every slot is taken by a connection that is talking;
   *   whatever the handshake threw
   */
  async admit(duplex: Duplex, peer?: string): Promise<Established> {
    const inner = duplexLink(duplex, { maxQueuedBytes: this.#o.maxQueuedBytes ?? DEFAULT_HOST_MAX_QUEUED_BYTES, ...(peer !== undefined ? { peer } : {}) });
    const group = addressGroup(inner.address);
    const perGroup = this.#o.maxHandshakesPerAddress ?? DEFAULT_MAX_HANDSHAKES_PER_ADDRESS;
    const roomInGroup = (this.#byGroup.get(group) ?? 0) < perGroup || this.#evictSilent((s) => s.group === group);
    const room = roomInGroup && (this.#slots.size < this.#maxHandshakes || this.#evictSilent(() => true));
    if (!room) {
      this.#o.audit(auditEvent(this.#o.clock(), { decision: 'refused', peer: inner.remote, code: 'TOO_MANY_HANDSHAKES' }));
      inner.destroy();
      throw new TesseraError(ErrorCode.LimitExceeded, `too many handshakes in progress from ${group}`);
    }
    const slot: Slot = { link: inner, group, silent: true, timer: undefined };
    slot.timer = setTimeout(() => {
      if (slot.silent) inner.destroy(new TesseraError(ErrorCode.HandshakeTimeout, 'the peer sent nothing in time', { context: 'handshake' }));
    }, this.#o.firstByteTimeoutMs ?? DEFAULT_FIRST_BYTE_TIMEOUT_MS);
    slot.timer.unref();
    this.#slots.set(inner, slot);
    this.#byGroup.set(group, (this.#byGroup.get(group) ?? 0) + 1);
    try {
      return await driveResponder(watchFirstByte(inner, () => {
        slot.silent = false;
        clearTimeout(slot.timer);
      }), {
        staticKey: this.#o.hostKey,
        tickets: this.#o.tickets,
        policy: this.#o.policy,
        helpers: this.#o.helpers,
        throttle: this.#throttle,
        clock: this.#o.clock,
        random: nodeRandom,
        ciphers: NODE_CIPHERS,
        signal: this.#o.signal,
        audit: (e) => {
          this.#o.audit(e);
          this.#tellFailure(e, inner.address);
        },
        onConsent: this.#o.consent,
        ...(this.#o.handshakeTimeoutMs !== undefined ? { timeoutMs: this.#o.handshakeTimeoutMs } : {}),
        ...(this.#o.consentTimeoutMs !== undefined ? { consentTimeoutMs: this.#o.consentTimeoutMs } : {}),
      });
    } finally {
      clearTimeout(slot.timer);
      // An evicted slot was freed already.
      if (this.#slots.delete(inner)) this.#release(group);
    }
  }

  /** Drops every handshake in progress (the host is closing). */
  destroyAll(): void {
    for (const link of this.#slots.keys()) link.destroy();
  }

  /**
   * After a refusal that counted a failure (the responder records it before refusing, spec/handshake.md §8): tells
   * of a wrong proof for an invitation, and of a lock-out when this failure reached the cap (only a failure that is
   * counted can reach it, and none is counted while locked, so each lock-out is told once).
   */
  #tellFailure(e: AuditEvent, address: string): void {
    if (e.decision !== 'refused' || (e.code !== 'BAD_PROOF' && e.code !== 'TICKET_UNKNOWN')) return;
    const peer = e.peer ?? address;
    const windowMs = this.#throttle.windowMs;
    if (e.code === 'BAD_PROOF' && e.ticketId !== null) {
      const ticket = this.#throttle.ticketStatus(e.ticketId);
      let password = false;
      try {
        password = this.#o.tickets.get(e.ticketId)?.passwordVerifier !== undefined;
      } catch {
        // An unreadable store is reported elsewhere; the wrong proof is still told.
      }
      this.#o.onWrongProof?.({ peer, ticketId: e.ticketId, password, attempt: ticket.failures, maxAttempts: ticket.max, windowMs });
      if (ticket.lockedUntilMs !== undefined && ticket.failures === ticket.max) {
        this.#o.onLockOut?.({ scope: 'invitation', ticketId: e.ticketId, address: null, peer, failures: ticket.failures, windowMs, until: new Date(ticket.lockedUntilMs) });
      }
    }
    const group = this.#throttle.addressStatus(address);
    if (group.lockedUntilMs !== undefined && group.failures === group.max) {
      this.#o.onLockOut?.({ scope: 'address', ticketId: null, address: addressGroup(address), peer, failures: group.failures, windowMs, until: new Date(group.lockedUntilMs) });
    }
  }

  #release(group: string): void {
    const left = (this.#byGroup.get(group) ?? 1) - 1;
    if (left > 0) this.#byGroup.set(group, left);
    else this.#byGroup.delete(group);
  }

  /** Drops the oldest silent handshake that `which` selects; false when there is none. */
  #evictSilent(which: (slot: Slot) => boolean): boolean {
    for (const slot of this.#slots.values()) {
      if (!slot.silent || !which(slot)) continue;
      // Freed at once, so the newcomer can take the slot; the link's own close arrives later.
      clearTimeout(slot.timer);
      this.#slots.delete(slot.link);
      this.#release(slot.group);
      slot.link.destroy(new TesseraError(ErrorCode.LimitExceeded, 'evicted: the host is at its handshake limit and this connection sent nothing', { context: 'handshake' }));
      return true;
    }
    return false;
  }
}

/** The link as the handshake sees it, telling `first` when the first byte arrives. */
function watchFirstByte(link: Link, first: () => void): Link {
  let seen = false;
  const wrap = (h: LinkHandler | undefined): LinkHandler | undefined =>
    h && {
      data: (chunk) => {
        if (!seen) {
          seen = true;
          first();
        }
        h.data(chunk);
      },
      closed: (error) => h.closed(error),
    };
  return {
    get remote() {
      return link.remote;
    },
    get address() {
      return link.address;
    },
    get closed() {
      return link.closed;
    },
    get queuedBytes() {
      return link.queuedBytes;
    },
    setHandler: (h) => link.setHandler(wrap(h)),
    pause: () => link.pause(),
    resume: () => link.resume(),
    send: (bytes) => link.send(bytes),
    end: (last, graceMs) => link.end(last, graceMs),
    destroy: (error) => link.destroy(error),
  };
}
