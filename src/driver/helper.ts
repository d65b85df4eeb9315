/**
 * The helper's connection, for every front end (the Node Helper, the browser viewer): the session driver plus
 * the display path — updates decoded in order by a TileDecoder, handed to the owner to paint, then acknowledged,
 * so the host's flow control paces to what the helper can draw (spec/session.md §6.3). Browser-safe: the owner
 * injects the decoder's inflate and image back-ends.
 */
import { offeredFeatures, type Feature } from '../session/features.js';
import { TransferDriver, type OutgoingFile, type TransferDriverOptions, type TransferResult } from './transfer.js';
import { DEFAULT_RTT_PROBE_MS } from '../core/defaults.js';
import { ErrorCode, ProtocolError, toTesseraError, type Clock, type TesseraError } from '../core/index.js';
import type { DecodeResult, TileDecoder } from '../codec/tile-decoder.js';
import type { InputEvent } from '../input/events.js';
import type { Mode } from '../handshake/constants.js';
import { CloseReason } from '../session/constants.js';
import { HelperSession, type HelperSessionEvent } from '../session/helper-session.js';
import type { CursorState } from '../session/cursor.js';
import type { Established } from './handshake.js';
import { SessionDriver } from './session.js';

/** Why a session ended, as both roles report it. */
export interface CloseInfo {
  readonly reason: CloseReason;
  readonly message?: string | undefined;
  readonly error?: TesseraError | undefined;
  readonly byPeer: boolean;
}

/** What a helper connection tells its owner. Every callback is optional except `closed`. */
export interface HelperConnectionEvents {
  /** An update was decoded into `result.framebuffer`; paint it here. It is acknowledged when this returns. */
  frame?(result: DecodeResult, seq: number): void;
  mode?(mode: Mode, paused: boolean): void;
  resize?(width: number, height: number): void;
  chat?(text: string): void;
  clipboard?(text: string): void;
  rtt?(ms: number): void;
  /** The host's pointer moved or changed (spec/session.md §6.9; only with the `cursor` feature). */
  cursor?(state: CursorState): void;
  /** The session ended (once). */
  closed(info: CloseInfo): void;
}

/** Options of HelperConnection. */
export interface HelperConnectionOptions {
  readonly clock: Clock;
  readonly events: HelperConnectionEvents;
  /** Bytes that came in with the handshake's last message, counted as received. */
  readonly initialBytes?: number;
  /** The features this helper takes when the host offers them (spec/session.md §6.8). Default none. */
  readonly features?: readonly Feature[];
  /**
   * Ping the host this often, whatever else is sent, so `stats.rttMs` and the `rtt` event stay current (spec/session.md
   * §6.6 SES-17). Default DEFAULT_RTT_PROBE_MS (2 s); 0 pings only as the keepalive does, after 5 s of silence.
   */
  readonly rttProbeMs?: number;
  /** File transfer (spec/transfer.md), used when `features` has 'transfer' and the host offered it. */
  readonly transfer?: Omit<TransferDriverOptions, 'clock'>;
}

/**
 * One helper session on one link, from Welcome to close. Commands (input, chat, control requests, close) go to
 * the host at once; they are ignored after the close.
 */
export class HelperConnection {
  readonly #session: HelperSession;
  readonly #driver: SessionDriver<HelperSessionEvent>;
  readonly #decoder: TileDecoder;
  readonly #clock: Clock;
  readonly #events: HelperConnectionEvents;
  #decodeChain: Promise<void> = Promise.resolve();
  #frames = 0;
  #closed: CloseInfo | undefined;
  #cursor: CursorState | undefined;
  readonly #transfer: TransferDriver;

  /**
   * @throws {ProtocolError} TESSERA_ERR_LIMIT_EXCEEDED when the Welcome announces a screen larger than the decoder
   *   accepts (the link is destroyed; nothing was allocated for it)
   */
  constructor(est: Established, decoder: TileDecoder, options: HelperConnectionOptions) {
    const { width, height } = est.welcome;
    if (!(width <= decoder.maxWidth && height <= decoder.maxHeight)) {
      est.link.destroy();
      throw new ProtocolError(ErrorCode.LimitExceeded, `the host announced a ${width}x${height} screen; this helper accepts at most ${decoder.maxWidth}x${decoder.maxHeight}`, {
        context: 'welcome',
        field: 'width',
        expected: decoder.maxWidth,
        received: width,
      });
    }
    this.#clock = options.clock;
    this.#events = options.events;
    this.#decoder = decoder;
    this.#session = new HelperSession({
      deframer: est.deframer,
      seal: est.protector,
      now: this.#clock(),
      mode: est.mode,
      offeredFeatures: offeredFeatures(est.welcome.codecs),
      features: options.features ?? [],
      rttProbeMs: options.rttProbeMs ?? DEFAULT_RTT_PROBE_MS,
    });
    this.#driver = new SessionDriver<HelperSessionEvent>(this.#session, est.link, {
      clock: this.#clock,
      onEvent: (ev) => this.#handle(ev),
      initialBytes: options.initialBytes ?? est.deframer.bufferedBytes,
    });
    this.#transfer = new TransferDriver(this.#session, this.#driver as unknown as SessionDriver<{ readonly type: string }>, {
      clock: this.#clock,
      onOffer: options.transfer?.onOffer ?? (() => 'disabled'),
      ...(options.transfer?.onProgress ? { onProgress: options.transfer.onProgress } : {}),
      ...(options.transfer?.onResult ? { onResult: options.transfer.onResult } : {}),
      ...(options.transfer?.answerTimeoutMs !== undefined ? { answerTimeoutMs: options.transfer.answerTimeoutMs } : {}),
    });
  }

  /** Whether files can go both ways (the host offered the `transfer` feature and this helper took it). */
  get canTransfer(): boolean {
    return this.#transfer.available;
  }

  /**
   * Sends a file to the host (spec/transfer.md); resolves when it ended (saved by the host, or refused or failed).
   * @throws {TesseraError} TESSERA_ERR_BAD_STATE when the session has no file transfer
   */
  sendFile(file: OutgoingFile): Promise<TransferResult> {
    return this.#transfer.send(file);
  }

  /** Stops sending file `id`. */
  cancelFile(id: number): void {
    this.#transfer.cancel(id);
  }

  /** Starts reading: call once, after the owner is ready for events. */
  start(): void {
    this.#driver.start();
  }

  get mode(): Mode {
    return this.#session.mode;
  }

  get paused(): boolean {
    return this.#session.paused;
  }

  /** Whether the host sends its pointer (spec/session.md §6.8: offered and taken). */
  get hasCursor(): boolean {
    return this.#session.hasFeature('cursor');
  }

  /** The host's pointer as last received, once the host sent it. */
  get cursor(): CursorState | undefined {
    return this.#cursor;
  }

  /** Set once the session ended. */
  get closeInfo(): CloseInfo | undefined {
    return this.#closed;
  }

  get stats(): { frames: number; bytesReceived: number; bytesSent: number; rttMs: number | undefined } {
    return { frames: this.#frames, bytesReceived: this.#driver.bytesReceived, bytesSent: this.#driver.bytesSent, rttMs: this.#session.rttMs };
  }

  /** Sends input; held back (false) unless the host granted control and did not pause it. */
  sendInput(events: readonly InputEvent[]): boolean {
    if (this.#closed) return false;
    const sent = this.#session.sendInput(events, this.#clock());
    this.#driver.pump();
    return sent;
  }

  /** Sends input even without control; the host's gate drops and counts it (for conformance suites). */
  sendInputUnchecked(events: readonly InputEvent[]): void {
    this.#command(() => this.#session.sendInputUnchecked(events, this.#clock()));
  }

  requestControl(): void {
    this.#command(() => this.#session.requestControl(this.#clock()));
  }

  chat(text: string): void {
    this.#command(() => this.#session.chat(text, this.#clock()));
  }

  clipboard(text: string): void {
    this.#command(() => this.#session.clipboard(text, this.#clock()));
  }

  ping(): void {
    this.#command(() => this.#session.ping(this.#clock()));
  }

  /** Leaves the session; the host is told `reason`. */
  close(reason: CloseReason = CloseReason.HelperLeft, message?: string): void {
    this.#command(() => this.#session.close(reason, message));
  }

  #command(run: () => void): void {
    if (this.#closed) return;
    run();
    this.#driver.pump();
  }

  #handle(ev: HelperSessionEvent): void {
    if (this.#transfer.handle(ev)) return;
    switch (ev.type) {
      case 'update': {
        const { seq, update } = ev;
        // Updates decode in order; lossy tiles make a decode asynchronous. The session bounds how many wait here
        // (MAX_UNDECODED_UPDATES), so a host that ignores acknowledgements cannot queue them without bound.
        this.#decodeChain = this.#decodeChain.then(async () => {
          if (this.#closed) return;
          let result: DecodeResult;
          try {
            result = await this.#decoder.decodeAsync(update);
          } catch (err) {
            // A bad update from the host ends the session with the decoder's error.
            this.#session.abort(toTesseraError(err, 'the update could not be decoded', ErrorCode.InvalidField));
            this.#driver.pump();
            return;
          }
          if (this.#closed) return;
          this.#frames++;
          try {
            this.#events.frame?.(result, seq);
          } finally {
            this.#session.acknowledge(seq, this.#clock());
            this.#driver.pump();
          }
        });
        return;
      }
      case 'mode':
        this.#events.mode?.(ev.mode, ev.paused);
        return;
      case 'resize':
        this.#events.resize?.(ev.width, ev.height);
        return;
      case 'chat':
        this.#events.chat?.(ev.text);
        return;
      case 'clipboard':
        this.#events.clipboard?.(ev.text);
        return;
      case 'rtt':
        this.#events.rtt?.(ev.ms);
        return;
      case 'cursor':
        this.#cursor = ev.cursor;
        this.#events.cursor?.(ev.cursor);
        return;
      case 'closed':
        this.#closed = { reason: ev.reason, message: ev.message, error: ev.error, byPeer: ev.byPeer };
        this.#events.closed(this.#closed);
        return;
    }
  }
}
