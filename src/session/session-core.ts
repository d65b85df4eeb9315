import { ErrorCode, ProtocolError, StateError, TesseraError, toTesseraError } from '../core/index.js';
import { Channel, DEFAULT_MAX_BODY_BYTES, Deframer, encodeFrame, type Frame, type FrameProtector } from '../framing/index.js';
import { decodeControl, encodeControl, type ControlMessage } from '../framing/control.js';
import { decodeText, encodeText, truncateText } from '../input/text-channel.js';
import { MAX_CLOSE_MESSAGE_BYTES } from '../framing/control.js';
import { DEFAULT_MAX_CHAT_BYTES, DEFAULT_MAX_CLIPBOARD_BYTES } from '../input/constants.js';
import { CloseReason, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_KEEPALIVE_MS } from './constants.js';
import { Transfers, type TransferEvent } from './transfer.js';

/** Options shared by both session roles. */
export interface SessionCoreOptions {
  /** Opens incoming frames; already carries the post-handshake protector and body cap. */
  readonly deframer: Deframer;
  /** Seals outgoing frames (the handshake's send-direction protector). */
  readonly seal: FrameProtector;
  /** The time the session starts, in ms. */
  readonly now: number;
  /** Ping interval when idle. Default 5 s. */
  readonly keepaliveMs?: number;
  /**
   * Also ping this often whatever else was sent, to keep the round-trip time current (spec/session.md §6.6 SES-17:
   * a helper may ping more often than the keepalive). Default off: only the keepalive pings.
   */
  readonly rttProbeMs?: number;
  /** Close when nothing arrives for this long. Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** Largest clipboard text accepted or sent, in UTF-8 bytes. Default 1 MiB. */
  readonly maxClipboardBytes?: number;
  /** Largest chat message accepted or sent, in UTF-8 bytes. Default 4 KiB. */
  readonly maxChatBytes?: number;
}

/** Events both roles emit. */
export type CoreEvent =
  | { readonly type: 'chat'; readonly text: string }
  | { readonly type: 'clipboard'; readonly text: string }
  | { readonly type: 'rtt'; readonly ms: number }
  /** File transfer (spec/transfer.md), once the `transfer` feature is on. */
  | TransferEvent
  | { readonly type: 'closed'; readonly reason: CloseReason; readonly message?: string; readonly error?: TesseraError; readonly byPeer: boolean };

type State = 'open' | 'closed';

/**
 * The sans-IO machinery both session roles share (ARCHITECTURE.md, "Two doors for embedders"): frames in through `handleBytes`,
 * frames out through `pollTransmit`, events through `pollEvent`, timers through `pollTimeout` / `handleTimeout`.
 * It owns keepalive, chat, clipboard and the close handshake; the roles add display, input and control.
 */
export abstract class SessionCore<E extends { readonly type: string }> {
  protected readonly deframer: Deframer;
  readonly #seal: FrameProtector;
  readonly #keepaliveMs: number;
  readonly #idleTimeoutMs: number;
  readonly #rttProbeMs: number | undefined;
  protected readonly maxClipboardBytes: number;
  protected readonly maxChatBytes: number;
  #state: State = 'open';
  readonly #out: Uint8Array[] = [];
  #outBytes = 0;
  readonly #events: (E | CoreEvent)[] = [];
  #lastReceived: number;
  #lastSent: number;
  #lastPing: number;
  #pingSeq = 0;
  #pingSentAt = new Map<number, number>();
  #rttMs: number | undefined;
  #transfers: Transfers | undefined;

  constructor(options: SessionCoreOptions) {
    this.deframer = options.deframer;
    this.#seal = options.seal;
    this.#keepaliveMs = options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#rttProbeMs = options.rttProbeMs !== undefined && options.rttProbeMs > 0 ? options.rttProbeMs : undefined;
    this.maxClipboardBytes = options.maxClipboardBytes ?? DEFAULT_MAX_CLIPBOARD_BYTES;
    this.maxChatBytes = options.maxChatBytes ?? DEFAULT_MAX_CHAT_BYTES;
    this.#lastReceived = options.now;
    this.#lastSent = options.now;
    this.#lastPing = options.now;
  }

  /** 'open' until the session is closed by either side or by an error. */
  get state(): State {
    return this.#state;
  }

  /** The latest measured round-trip time in ms, once a pong has arrived. */
  get rttMs(): number | undefined {
    return this.#rttMs;
  }

  /** File transfer on this session (spec/transfer.md): undefined until the `transfer` feature is on. */
  get transfers(): Transfers | undefined {
    return this.#transfers;
  }

  /** Turns file transfer on (the role calls it once the `transfer` feature is on, spec/session.md §6.8). */
  protected enableTransfers(): void {
    this.#transfers ??= new Transfers({
      sendControl: (msg, now) => this.sendControl(msg, now),
      sendChunk: (payload, now) => this.sendFrame(Channel.Transfer, payload, now),
      emit: (ev) => this.emit(ev),
    });
  }

  /** Bytes queued by pollTransmit's producer and not yet taken. */
  get pendingTransmitBytes(): number {
    return this.#outBytes;
  }

  /** Feeds bytes received from the peer. Errors close the session and surface as a 'closed' event. */
  handleBytes(chunk: Uint8Array, now: number): void {
    if (this.#state !== 'open') return;
    this.#lastReceived = now;
    try {
      this.deframer.push(chunk);
      for (let frame = this.deframer.next(); frame; frame = this.#state === 'open' ? this.deframer.next() : undefined) {
        this.#dispatch(frame, now);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Runs timers: keepalive pings, round-trip probes (rttProbeMs) and the idle timeout. */
  handleTimeout(now: number): void {
    if (this.#state !== 'open') return;
    if (now - this.#lastReceived >= this.#idleTimeoutMs) {
      this.#finish(CloseReason.Timeout, `nothing received for ${this.#idleTimeoutMs} ms`, undefined, false, true);
      return;
    }
    if (now - this.#lastSent >= this.#keepaliveMs || (this.#rttProbeMs !== undefined && now - this.#lastPing >= this.#rttProbeMs)) this.#ping(now);
  }

  /** When handleTimeout should next run. */
  pollTimeout(): number | undefined {
    if (this.#state !== 'open') return undefined;
    const due = Math.min(this.#lastReceived + this.#idleTimeoutMs, this.#lastSent + this.#keepaliveMs);
    return this.#rttProbeMs === undefined ? due : Math.min(due, this.#lastPing + this.#rttProbeMs);
  }

  /** Next sealed frame to write to the transport, or undefined. */
  pollTransmit(): Uint8Array | undefined {
    const b = this.#out.shift();
    if (b) this.#outBytes -= b.byteLength;
    return b;
  }

  /** Next event for the application, or undefined. */
  pollEvent(): E | CoreEvent | undefined {
    return this.#events.shift();
  }

  /** Sends a chat message. */
  chat(text: string, now: number): void {
    this.sendFrame(Channel.Chat, encodeText(text, this.maxChatBytes), now);
  }

  /** Sends clipboard text. */
  clipboard(text: string, now: number): void {
    this.sendFrame(Channel.Clipboard, encodeText(text, this.maxClipboardBytes), now);
  }

  /** Ends the session: sends a close message with the reason and emits 'closed'. */
  close(reason: CloseReason = CloseReason.Normal, message?: string): void {
    if (this.#state !== 'open') return;
    this.#finish(reason, message, undefined, false, true);
  }

  /**
   * Ends the session because of an error its owner found in what the peer sent (an update that does not decode):
   * the peer is told 'protocol-error' and the 'closed' event carries `err` (wrapped into a TesseraError).
   */
  abort(err: unknown): void {
    this.fail(err);
  }

  /** Marks the connection as lost (the transport ended without a close message). */
  handleTransportClosed(error?: unknown): void {
    if (this.#state !== 'open') return;
    const err = error === undefined ? undefined : toTesseraError(error);
    this.#finish(CloseReason.ConnectionLost, err?.message ?? 'the connection closed', err, true, false);
  }

  protected emit(event: E | CoreEvent): void {
    this.#events.push(event);
  }

  protected sendControl(msg: ControlMessage, now: number): void {
    this.sendFrame(Channel.Control, encodeControl(msg), now);
  }

  /**
   * Largest payload one frame may carry: the body (channel byte, payload, seal tag) stays within the 16 MiB
   * every receiver accepts after the handshake (spec/framing.md §2.3, FR-10), whatever cap this side reads with.
   */
  get maxPayloadBytes(): number {
    return DEFAULT_MAX_BODY_BYTES - 1 /* channel */ - this.#seal.overhead;
  }

  /**
   * Queues one sealed frame.
   * @throws {StateError} TESSERA_ERR_BAD_STATE when the session is closed or the payload is over maxPayloadBytes (FR-10: refused here, never sent for the peer to reject)
   */
  protected sendFrame(channel: Channel, payload: Uint8Array, now: number): void {
    if (this.#state !== 'open') throw new StateError('the session is closed');
    if (!(payload.byteLength <= this.maxPayloadBytes)) {
      throw new StateError(`a ${payload.byteLength}-byte payload does not fit one frame within the peer's ${DEFAULT_MAX_BODY_BYTES}-byte limit; nothing was sent`, {
        context: 'session',
        field: 'payload',
        expected: this.maxPayloadBytes,
        received: payload.byteLength,
      });
    }
    const bytes = encodeFrame(channel, payload, this.#seal);
    this.#out.push(bytes);
    this.#outBytes += bytes.byteLength;
    this.#lastSent = now;
  }

  /** Closes the session because of an error: a protocol error from the peer or a failure here. */
  protected fail(err: unknown): void {
    if (this.#state !== 'open') return;
    const e = toTesseraError(err);
    const reason = e instanceof ProtocolError ? CloseReason.ProtocolError : CloseReason.Normal;
    // A peer whose frames cannot be opened gets no reply it could learn from, only the close.
    this.#finish(reason, e.message, e, false, e.code !== ErrorCode.DecryptFailed);
  }

  /** Role-specific frames: Display, Input and the role's control messages. */
  protected abstract handleFrame(frame: Frame, now: number): void;
  protected abstract handleControlMessage(msg: ControlMessage, now: number): void;
  /** Whether clipboard text from the peer is passed on (the host gates it like input). */
  protected acceptClipboard(): boolean {
    return true;
  }
  /** Called once when the session closes, before 'closed' is emitted. */
  protected onClose(): void {}

  #dispatch(frame: Frame, now: number): void {
    switch (frame.channel) {
      case Channel.Control: {
        const msg = decodeControl(frame.payload);
        this.#handleCoreControl(msg, now);
        return;
      }
      case Channel.Chat:
        this.emit({ type: 'chat', text: decodeText(frame.payload, this.maxChatBytes) });
        return;
      case Channel.Clipboard: {
        const text = decodeText(frame.payload, this.maxClipboardBytes);
        if (this.acceptClipboard()) this.emit({ type: 'clipboard', text });
        return;
      }
      case Channel.Transfer:
        if (this.#transfers === undefined) return this.handleFrame(frame, now);
        this.#transfers.handleChunk(frame.payload);
        return;
      case Channel.Handshake:
        throw new ProtocolError(ErrorCode.UnexpectedMessage, 'handshake frame after the handshake finished', {
          context: 'session',
          field: 'channel',
          received: frame.channel,
        });
      default:
        this.handleFrame(frame, now);
    }
  }

  #handleCoreControl(msg: ControlMessage, now: number): void {
    switch (msg.t) {
      case 'ping':
        this.sendControl({ t: 'pong', n: msg.n, ts: msg.ts }, now);
        return;
      case 'pong': {
        const sentAt = this.#pingSentAt.get(msg.n);
        if (sentAt === undefined) return;
        this.#pingSentAt.delete(msg.n);
        this.#rttMs = Math.max(0, now - sentAt);
        this.emit({ type: 'rtt', ms: this.#rttMs });
        return;
      }
      case 'close':
        this.#finish(msg.reason as CloseReason, msg.message, undefined, true, false);
        return;
      case 'file-offer':
      case 'file-accept':
      case 'file-ack':
      case 'file-done':
      case 'file-saved':
      case 'file-reject':
      case 'file-cancel':
        if (this.#transfers === undefined) return this.handleControlMessage(msg, now);
        this.#transfers.handleControl(msg, now);
        return;
      default:
        this.handleControlMessage(msg, now);
    }
  }

  #ping(now: number): void {
    const n = (this.#pingSeq = (this.#pingSeq + 1) >>> 0);
    this.#lastPing = now;
    this.#pingSentAt.set(n, now);
    // Bounded: only the last few pings can still be answered.
    if (this.#pingSentAt.size > 8) this.#pingSentAt.delete(this.#pingSentAt.keys().next().value!);
    this.sendControl({ t: 'ping', n, ts: now >>> 0 }, now);
  }

  /** Measures the round trip now (the session also pings by itself when idle). */
  ping(now: number): void {
    if (this.#state === 'open') this.#ping(now);
  }

  #finish(reason: CloseReason, message: string | undefined, error: TesseraError | undefined, byPeer: boolean, notifyPeer: boolean): void {
    if (notifyPeer) {
      try {
        this.sendControl(message === undefined ? { t: 'close', reason } : { t: 'close', reason, message: truncateText(message, MAX_CLOSE_MESSAGE_BYTES) }, this.#lastSent);
      } catch {
        // Nothing more can be sent; the close still takes effect locally.
      }
    }
    this.#state = 'closed';
    this.onClose();
    // Open transfers end with the session; a receiver keeps what it stored, to resume on a later session.
    this.#transfers?.endAll('cancelled');
    const ev: CoreEvent = { type: 'closed', reason, byPeer, ...(message === undefined ? {} : { message }), ...(error ? { error } : {}) };
    this.emit(ev);
  }
}
