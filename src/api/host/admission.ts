/**
 * Who gets in (spec/handshake.md §8): the host's TCP listener, the handshake slots (at most `maxHandshakes` in
 * progress, and `maxHandshakesPerAddress` from one address, so one attacker cannot hold every slot), the shared
 * throttle, and the handshake itself, run by the connection driver (src/driver/handshake.ts) with the host
 * user's consent in the middle. What comes out is an established handshake on a Link, ready for a session.
 */
import { setMaxListeners } from 'node:events';
import type { Duplex } from 'node:stream';
import { ErrorCode, TesseraError, type Clock } from '../../core/index.js';
import { DEFAULT_HOST_MAX_QUEUED_BYTES, DEFAULT_MAX_HANDSHAKES, DEFAULT_MAX_HANDSHAKES_PER_ADDRESS } from '../../core/defaults.js';
import { Throttle, auditEvent, type AuditEvent, type ConsentRequest, type Helpers, type Policy, type TicketStore } from '../../handshake/index.js';
import { driveResponder, type ConsentDecision, type Established } from '../../driver/handshake.js';
import type { Link } from '../../driver/link.js';
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
  /** Send-queue cap per helper (default DEFAULT_HOST_MAX_QUEUED_BYTES). */
  readonly maxQueuedBytes?: number;
}

/** Runs handshakes within the host's caps. */
export class Admission {
  readonly #o: AdmissionOptions;
  readonly #throttle: Throttle;
  readonly #inProgress = new Set<Link>();
  readonly #byAddress = new Map<string, number>();

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
        if (this.#inProgress.size >= this.#maxHandshakes) {
          this.#refuseOverCap(`${socket.remoteAddress}:${socket.remotePort}`);
          socket.destroy();
          continue;
        }
        this.admit(socket).then(admitted, () => {
          // Refusals and failures are audited by the handshake driver.
        });
      }
    } catch {
      // The listener closed.
    }
  }

  /**
   * Runs the handshake on one stream. Resolves once the helper is admitted (Welcome sent).
   * @throws {TesseraError} TESSERA_ERR_LIMIT_EXCEEDED over the per-address cap; whatever the handshake threw
   */
  async admit(duplex: Duplex, peer?: string): Promise<Established> {
    const link = duplexLink(duplex, { maxQueuedBytes: this.#o.maxQueuedBytes ?? DEFAULT_HOST_MAX_QUEUED_BYTES, ...(peer !== undefined ? { peer } : {}) });
    const address = link.address;
    const fromAddress = this.#byAddress.get(address) ?? 0;
    if (fromAddress >= (this.#o.maxHandshakesPerAddress ?? DEFAULT_MAX_HANDSHAKES_PER_ADDRESS)) {
      this.#refuseOverCap(link.remote);
      link.destroy();
      throw new TesseraError(ErrorCode.LimitExceeded, `too many handshakes in progress from ${address}`);
    }
    this.#byAddress.set(address, fromAddress + 1);
    this.#inProgress.add(link);
    try {
      return await driveResponder(link, {
        staticKey: this.#o.hostKey,
        tickets: this.#o.tickets,
        policy: this.#o.policy,
        helpers: this.#o.helpers,
        throttle: this.#throttle,
        clock: this.#o.clock,
        random: nodeRandom,
        ciphers: NODE_CIPHERS,
        signal: this.#o.signal,
        audit: this.#o.audit,
        onConsent: this.#o.consent,
        ...(this.#o.handshakeTimeoutMs !== undefined ? { timeoutMs: this.#o.handshakeTimeoutMs } : {}),
        ...(this.#o.consentTimeoutMs !== undefined ? { consentTimeoutMs: this.#o.consentTimeoutMs } : {}),
      });
    } finally {
      this.#inProgress.delete(link);
      const left = (this.#byAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#byAddress.set(address, left);
      else this.#byAddress.delete(address);
    }
  }

  /** Drops every handshake in progress (the host is closing). */
  destroyAll(): void {
    for (const link of this.#inProgress) link.destroy();
  }

  #refuseOverCap(peer: string): void {
    this.#o.audit(auditEvent(this.#o.clock(), { decision: 'refused', peer, code: 'TOO_MANY_HANDSHAKES' }));
  }
}
