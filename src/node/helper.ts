/**
 * The batteries-included helper (style.md §E): connects to a host with an invitation (or offers help with an
 * identity key), decodes the shared screen into `framebuffer`, and sends input when the host grants control.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ErrorCode, TesseraError, throwIfAborted, type Clock } from '../core/index.js';
import { formatAddress, parseAddress, type Invitation, type Mode } from '../handshake/index.js';
import { TileDecoder, type Framebuffer, type Rect } from '../codec/index.js';
import type { InputEvent } from '../input/events.js';
import { isKeyCode, type KeyCode } from '../input/key-codes.js';
import { Modifier, buttonBit, MouseButton } from '../input/constants.js';
import { HelperSession, type HelperSessionEvent } from '../session/helper-session.js';
import { CloseReason } from '../session/constants.js';
import { connectHandshake } from '../transport/handshake-io.js';
import { connectTcp } from '../transport/tcp.js';
import { SendQueue } from '../transport/send-queue.js';
import { ZlibInflateBackend } from './zlib-backend.js';
import { SharpImageCodec } from './sharp-image-codec.js';
import { loadInvitation } from './index.js';
import type { SessionCloseInfo } from './host.js';

/** Options of Helper.connect. */
export interface HelperConnectOptions {
  /** The invitation's password, when it has one. */
  readonly password?: string;
  /** Ask for control at once (the host user is asked); default: view, then requestControl(). */
  readonly requestControl?: boolean;
  readonly signal?: AbortSignal;
  /** Deadline for the TCP connection and the host's first answer (default 10 s). */
  readonly timeoutMs?: number;
  /** How long to wait for the host user's answer (default 90 s). */
  readonly consentTimeoutMs?: number;
  /** Largest screen accepted (default 8192 x 8192); bounds the decoder's memory. */
  readonly maxWidth?: number;
  readonly maxHeight?: number;
  /** Milliseconds clock; default Date.now. */
  readonly clock?: Clock;
}

/** Options of Helper.offer. */
export interface HelperOfferOptions extends Omit<HelperConnectOptions, 'password'> {
  /** The helper's Ed25519 identity key pair (from `tessera keygen`). */
  readonly identity: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  /** The host's static public key (pinned: the connection is refused unless the host proves it holds it). */
  readonly hostKey: Uint8Array;
}

/** What a decoded update changed. */
export interface FrameEvent {
  readonly seq: number;
  readonly rects: readonly Rect[];
  readonly keyFrame: boolean;
}

const MODIFIER_KEYS: Readonly<Partial<Record<KeyCode, number>>> = {
  ShiftLeft: Modifier.Shift,
  ShiftRight: Modifier.Shift,
  ControlLeft: Modifier.Ctrl,
  ControlRight: Modifier.Ctrl,
  AltLeft: Modifier.Alt,
  AltRight: Modifier.Alt,
  MetaLeft: Modifier.Meta,
  MetaRight: Modifier.Meta,
};

/**
 * A connected helper. Events: 'frame' (FrameEvent; `framebuffer` holds the picture), 'control' ({mode, paused}),
 * 'resize' ({width, height}), 'chat' (text), 'clipboard' (text), 'rtt' (ms), 'close' (SessionCloseInfo),
 * 'error' (a TesseraError that ended the session, emitted before 'close' when someone listens).
 */
export class Helper extends EventEmitter {
  /** Remote address "ip:port". */
  readonly remote: string;
  /** A short id both sides share (from the handshake transcript). */
  readonly sessionId: string;
  readonly #duplex: Duplex;
  readonly #session: HelperSession;
  readonly #decoder: TileDecoder;
  readonly #queue: SendQueue;
  readonly #clock: Clock;
  #framebuffer: Framebuffer;
  #decodeChain: Promise<void> = Promise.resolve();
  #frames = 0;
  #bytesReceived = 0;
  #bytesSent = 0;
  #modifiers = 0;
  #buttons = 0;
  #pointerX = 0;
  #pointerY = 0;
  #closed: SessionCloseInfo | undefined;

  private constructor(duplex: Duplex, session: HelperSession, info: { remote: string; sessionId: string; width: number; height: number; maxWidth: number; maxHeight: number; clock: Clock }) {
    super();
    this.#duplex = duplex;
    this.#session = session;
    this.remote = info.remote;
    this.sessionId = info.sessionId;
    this.#clock = info.clock;
    this.#decoder = new TileDecoder({ maxWidth: info.maxWidth, maxHeight: info.maxHeight, inflate: new ZlibInflateBackend(), imageCodec: new SharpImageCodec() });
    this.#framebuffer = { width: info.width, height: info.height, data: new Uint8Array(info.width * info.height * 4) };
    this.#queue = new SendQueue(duplex, { maxQueuedBytes: 16 * 1024 * 1024 });
  }

  /**
   * Connects with an invitation: an Invitation, its `tessera://` URL, its text, or a path to a `.tessera` file.
   * Tries each address in the invitation in turn; the first that answers is used.
   * @throws {HandshakeError} a refusal (TICKET_EXPIRED, BAD_PROOF, USER_DECLINED, ... in `refusal`) or HOST_KEY_MISMATCH
   * @throws {InvitationError} an invitation that is malformed or expired
   * @throws {TesseraError} TESSERA_ERR_IO when no address could be reached
   */
  static async connect(target: Invitation | string, options: HelperConnectOptions = {}): Promise<Helper> {
    const clock = options.clock ?? Date.now;
    const invitation = typeof target === 'string' ? loadInvitation(target, { now: clock }) : target;
    throwIfAborted(options.signal);
    const socket = await connectFirst(invitation.addresses.map((a) => formatAddress(a)), options);
    return Helper.attach(socket, {
      ...options,
      handshake: {
        invitation,
        ...(options.password !== undefined ? { password: options.password } : {}),
        requestMode: options.requestControl ? 'control' : 'view',
      },
    });
  }

  /**
   * Offers help to a host that did not invite: the host's policy must allow offers and list this identity,
   * and the host user must accept.
   * @param address "host" or "host:port" (default port 3389)
   */
  static async offer(address: string, options: HelperOfferOptions): Promise<Helper> {
    throwIfAborted(options.signal);
    const socket = await connectFirst([address], options);
    return Helper.attach(socket, {
      ...options,
      handshake: { hostKey: options.hostKey, identity: options.identity, requestMode: options.requestControl ? 'control' : 'view' },
    });
  }

  /** Runs the helper over any connected stream (an in-memory pair, a WebSocket stream). */
  static async attach(
    duplex: Duplex,
    options: HelperConnectOptions & { handshake: Parameters<typeof connectHandshake>[1] },
  ): Promise<Helper> {
    const clock = options.clock ?? Date.now;
    const est = await connectHandshake(duplex, {
      ...options.handshake,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.consentTimeoutMs !== undefined ? { consentTimeoutMs: options.consentTimeoutMs } : {}),
    });
    const session = new HelperSession({ deframer: est.deframer, seal: est.protector, now: clock(), mode: est.mode });
    const helper = new Helper(duplex, session, {
      remote: est.remote,
      sessionId: est.keys.sessionId,
      width: est.welcome.width,
      height: est.welcome.height,
      maxWidth: options.maxWidth ?? 8192,
      maxHeight: options.maxHeight ?? 8192,
      clock,
    });
    // Bytes that came in with the handshake's last message count as received too.
    helper.#bytesReceived = est.deframer.bufferedBytes;
    helper.#start();
    return helper;
  }

  /** The latest decoded picture (RGBA); replaced by a new object when the screen size changes. */
  get framebuffer(): Framebuffer {
    return this.#framebuffer;
  }

  get width(): number {
    return this.#framebuffer.width;
  }

  get height(): number {
    return this.#framebuffer.height;
  }

  /** 'view' or 'control', as the host granted. */
  get mode(): Mode {
    return this.#session.mode;
  }

  /** True while the host user has paused this helper's input. */
  get paused(): boolean {
    return this.#session.paused;
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Updates decoded so far, bytes in and out, and the last round-trip time. */
  get stats(): { frames: number; bytesReceived: number; bytesSent: number; rttMs: number | undefined } {
    return { frames: this.#frames, bytesReceived: this.#bytesReceived, bytesSent: this.#bytesSent, rttMs: this.#session.rttMs };
  }

  /** Presses or releases a physical key (W3C KeyboardEvent.code, e.g. 'KeyA', 'Enter', 'ShiftLeft'). */
  key(code: string, down: boolean): boolean {
    if (!isKeyCode(code)) throw new TesseraError(ErrorCode.BadState, `unknown key code ${JSON.stringify(code)}`);
    const bit = MODIFIER_KEYS[code] ?? 0;
    if (bit) this.#modifiers = down ? this.#modifiers | bit : this.#modifiers & ~bit;
    return this.#send([{ type: down ? 'keyDown' : 'keyUp', code, modifiers: this.#modifiers }]);
  }

  /** Types text as Unicode (layout-independent). */
  type(text: string): boolean {
    if (text.length === 0) return false;
    return this.#send([{ type: 'text', text }]);
  }

  /**
   * Moves the pointer to (x, y); `buttons` (W3C MouseEvent.buttons mask: 1 left, 2 right, 4 middle) presses and
   * releases buttons as it changes.
   */
  pointer(x: number, y: number, buttons = this.#buttons): boolean {
    const events: InputEvent[] = [{ type: 'pointerMove', x, y, buttons }];
    for (const button of [MouseButton.Left, MouseButton.Middle, MouseButton.Right, MouseButton.Back, MouseButton.Forward]) {
      const bit = buttonBit(button);
      const was = (this.#buttons & bit) !== 0;
      const now = (buttons & bit) !== 0;
      if (was !== now) events.push({ type: now ? 'buttonDown' : 'buttonUp', button, x, y });
    }
    this.#buttons = buttons;
    this.#pointerX = x;
    this.#pointerY = y;
    return this.#send(events);
  }

  /** Turns the wheel (1/120 of a notch per unit; positive dy scrolls down). */
  wheel(dx: number, dy: number): boolean {
    return this.#send([{ type: 'wheel', dx, dy }]);
  }

  /** Sends raw input events (already in tessera's event form). */
  sendInput(events: readonly InputEvent[]): boolean {
    return this.#send(events);
  }

  /**
   * Sends input even without control. The host's gate drops and counts it; this exists for conformance suites
   * and tests of that gate. Apps use key/type/pointer/wheel, which hold input back without control.
   */
  sendInputUnchecked(events: readonly InputEvent[]): void {
    if (this.closed) return;
    this.#session.sendInputUnchecked(events, this.#clock());
    this.#pump();
  }

  /** Sets the host's clipboard (admitted only under control). */
  clipboard(text: string): void {
    if (this.closed) return;
    this.#session.clipboard(text, this.#clock());
    this.#pump();
  }

  chat(text: string): void {
    if (this.closed) return;
    this.#session.chat(text, this.#clock());
    this.#pump();
  }

  /** Asks the host user for control; the answer arrives as a 'control' event. */
  requestControl(): void {
    if (this.closed) return;
    this.#session.requestControl(this.#clock());
    this.#pump();
  }

  /** Measures the round trip now; the answer arrives as an 'rtt' event. */
  ping(): void {
    if (this.closed) return;
    this.#session.ping(this.#clock());
    this.#pump();
  }

  /** Leaves the session. */
  close(reason: CloseReason = CloseReason.HelperLeft, message?: string): Promise<SessionCloseInfo> {
    if (!this.closed) {
      this.#session.close(reason, message);
      this.#pump();
    }
    return this.closedPromise();
  }

  /** Resolves when the session has ended. */
  closedPromise(): Promise<SessionCloseInfo> {
    if (this.#closed) return Promise.resolve(this.#closed);
    return new Promise((resolve) => this.once('close', resolve));
  }

  /**
   * Resolves with the first frame event for which `predicate` holds (checked against the current picture first).
   * Rejects when the session closes or `signal` aborts.
   */
  waitForFrame(predicate: (fb: Framebuffer) => boolean, options: { signal?: AbortSignal } = {}): Promise<Framebuffer> {
    if (this.#frames > 0 && predicate(this.#framebuffer)) return Promise.resolve(this.#framebuffer);
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        this.off('frame', onFrame);
        this.off('close', onClose);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const onFrame = () => {
        if (predicate(this.#framebuffer)) {
          cleanup();
          resolve(this.#framebuffer);
        }
      };
      const onClose = (info: SessionCloseInfo) => {
        cleanup();
        reject(info.error ?? new TesseraError(ErrorCode.Closed, `the session closed (${info.reason}) before the frame arrived`));
      };
      const onAbort = () => {
        cleanup();
        reject(options.signal?.reason);
      };
      this.on('frame', onFrame);
      this.on('close', onClose);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #start(): void {
    this.#duplex.on('data', (chunk: Buffer) => {
      this.#bytesReceived += chunk.byteLength;
      this.#session.handleBytes(chunk, this.#clock());
      this.#pump();
    });
    const lost = (err?: unknown) => {
      this.#session.handleTransportClosed(err);
      this.#pump();
    };
    this.#duplex.on('end', () => lost());
    this.#duplex.on('close', () => lost());
    this.#duplex.on('error', (err) => lost(err));
    const timer = setInterval(() => {
      this.#session.handleTimeout(this.#clock());
      this.#pump();
    }, 1_000);
    timer.unref();
    this.once('close', () => clearInterval(timer));
    // Bytes that arrived with the handshake's last message are already in the deframer.
    this.#session.handleBytes(new Uint8Array(0), this.#clock());
    this.#pump();
    // The handshake driver leaves the stream paused; reading starts now that a listener is attached.
    this.#duplex.resume();
  }

  #send(events: readonly InputEvent[]): boolean {
    if (this.closed) return false;
    const sent = this.#session.sendInput(events, this.#clock());
    this.#pump();
    return sent;
  }

  #pump(): void {
    this.#flush();
    for (let ev = this.#session.pollEvent(); ev; ev = this.#session.pollEvent()) this.#handle(ev);
    this.#flush();
  }

  #flush(): void {
    for (let out = this.#session.pollTransmit(); out; out = this.#session.pollTransmit()) {
      if (!this.#queue.tryWrite(out)) {
        this.#duplex.destroy(new TesseraError(ErrorCode.LimitExceeded, 'the host stopped reading; the send queue is full'));
        return;
      }
      this.#bytesSent += out.byteLength;
    }
  }

  #handle(ev: HelperSessionEvent): void {
    switch (ev.type) {
      case 'update': {
        const { seq, update } = ev;
        this.#decodeChain = this.#decodeChain.then(async () => {
          if (this.closed) return;
          try {
            const result = await this.#decoder.decodeAsync(update);
            this.#framebuffer = result.framebuffer;
            this.#frames++;
            this.#session.acknowledge(seq, this.#clock());
            this.#pump();
            this.emit('frame', { seq, rects: result.rects, keyFrame: result.keyFrame } satisfies FrameEvent);
          } catch (err) {
            // A bad update from the host ends this session with the decoder's error.
            this.#session.close(CloseReason.ProtocolError, err instanceof Error ? err.message : String(err));
            this.#failure = err instanceof TesseraError ? err : new TesseraError(ErrorCode.InvalidField, 'the update could not be decoded', { cause: err });
            this.#pump();
          }
        });
        return;
      }
      case 'mode':
        this.emit('control', { mode: ev.mode, paused: ev.paused });
        return;
      case 'resize':
        this.emit('resize', { width: ev.width, height: ev.height });
        return;
      case 'chat':
        this.emit('chat', ev.text);
        return;
      case 'clipboard':
        this.emit('clipboard', ev.text);
        return;
      case 'rtt':
        this.emit('rtt', ev.ms);
        return;
      case 'closed': {
        const error = ev.error ?? this.#failure;
        const info: SessionCloseInfo = { reason: ev.reason, message: ev.message, error, byPeer: ev.byPeer };
        this.#closed = info;
        void this.#queue.end().catch(() => {}).finally(() => this.#duplex.destroy());
        setTimeout(() => this.#duplex.destroy(), 2_000).unref();
        if (error && this.listenerCount('error') > 0) this.emit('error', error);
        this.emit('close', info);
        return;
      }
    }
  }

  #failure: TesseraError | undefined;

  /** Current pointer position (as last sent). */
  get pointerPosition(): { x: number; y: number } {
    return { x: this.#pointerX, y: this.#pointerY };
  }
}

/** Connects to the first address that answers. */
async function connectFirst(addresses: readonly string[], options: { signal?: AbortSignal; timeoutMs?: number }) {
  let last: unknown;
  for (const text of addresses) {
    const a = parseAddress(text);
    try {
      return await connectTcp({
        host: a.host,
        port: a.port,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      last = err;
    }
  }
  throw new TesseraError(ErrorCode.Io, `could not connect to ${addresses.join(', ')}`, { cause: last });
}
