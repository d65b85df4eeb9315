/**
 * Drives an established session (HostSession or HelperSession, spec/session.md) over a Link: bytes in, the
 * session's timers, frames out with backpressure, events to the owner, and the close. Written once for every
 * transport and both roles; browser-safe. The owner (Host's session handle, Node Helper, browser viewer) adds only
 * what is its own: what to do with each event.
 */
import { ErrorCode, TesseraError, type Clock } from '../core/index.js';
import { CLOSE_GRACE_MS, DRIVER_TICK_MS } from '../core/defaults.js';
import type { CoreEvent, SessionCore } from '../session/session-core.js';
import type { Link } from './link.js';

/** Options of SessionDriver. */
export interface SessionDriverOptions<E> {
  readonly clock: Clock;
  /** Every event the session emits, in order; the 'closed' event comes last, once. */
  readonly onEvent: (event: E | CoreEvent) => void;
  /** How often the session's timers run (default DRIVER_TICK_MS). */
  readonly tickMs?: number;
  /** How long queued bytes get to leave after the close before the link is destroyed (default CLOSE_GRACE_MS). */
  readonly closeGraceMs?: number;
  /** Bytes that came in with the handshake's last message, counted as received. */
  readonly initialBytes?: number;
}

/**
 * Runs one session on one link. Call `start()` once; after any command given to the session (chat, input,
 * revoke, ...), call `pump()` so its frames go out and its events come back.
 */
export class SessionDriver<E extends { readonly type: string }> {
  readonly session: SessionCore<E>;
  readonly link: Link;
  readonly #clock: Clock;
  readonly #onEvent: (event: E | CoreEvent) => void;
  readonly #tickMs: number;
  readonly #closeGraceMs: number;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #bytesReceived: number;
  #bytesSent = 0;
  #closed = false;
  #pumping = false;
  #pumpAgain = false;

  constructor(session: SessionCore<E>, link: Link, options: SessionDriverOptions<E>) {
    this.session = session;
    this.link = link;
    this.#clock = options.clock;
    this.#onEvent = options.onEvent;
    this.#tickMs = options.tickMs ?? DRIVER_TICK_MS;
    this.#closeGraceMs = options.closeGraceMs ?? CLOSE_GRACE_MS;
    this.#bytesReceived = options.initialBytes ?? 0;
  }

  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** True once the session's 'closed' event was delivered. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Takes the link over from the handshake: reads, runs timers, and handles the bytes already deframed. */
  start(): void {
    this.link.setHandler({
      data: (chunk) => {
        this.#bytesReceived += chunk.byteLength;
        this.session.handleBytes(chunk, this.#clock());
        this.pump();
      },
      closed: (error) => {
        this.session.handleTransportClosed(error);
        this.pump();
      },
    });
    this.#ticker = setInterval(() => {
      this.session.handleTimeout(this.#clock());
      this.pump();
    }, this.#tickMs);
    (this.#ticker as { unref?: () => void }).unref?.();
    // Frames that came in with the handshake's last message are already in the deframer.
    this.session.handleBytes(new Uint8Array(0), this.#clock());
    this.pump();
    this.link.resume();
  }

  /** Sends what the session produced and delivers its events. Re-entrant calls are folded into the running one. */
  pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        this.flush();
        for (let ev = this.session.pollEvent(); ev; ev = this.session.pollEvent()) this.#deliver(ev);
        this.flush();
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
  }

  /** Sends what the session produced, without delivering events. A link over its cap ends the session. */
  flush(): void {
    for (let out = this.session.pollTransmit(); out; out = this.session.pollTransmit()) {
      if (this.link.closed) continue;
      if (!this.link.send(out)) {
        // The peer lets bytes pile up beyond the cap: drop it rather than grow without bound.
        this.session.handleTransportClosed(new TesseraError(ErrorCode.LimitExceeded, 'the peer stopped reading; its send queue is full'));
        this.link.destroy();
        return;
      }
      this.#bytesSent += out.byteLength;
    }
  }

  #deliver(ev: E | CoreEvent): void {
    if (ev.type === 'closed') {
      if (this.#closed) return;
      this.#closed = true;
      if (this.#ticker) clearInterval(this.#ticker);
      this.flush();
      // The close message (if any) leaves first; the link is destroyed after the grace period in any case.
      this.link.end(undefined, this.#closeGraceMs);
    }
    this.#onEvent(ev);
  }
}
