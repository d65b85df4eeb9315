/**
 * The browser helper's connection: a WebSocket to the page's own origin carrying the tessera byte stream
 * (spec/framing.md), the helper side of the handshake (spec/handshake.md) run on the sans-IO
 * HandshakeInitiator, then a HelperSession whose display updates are decoded by the same TileDecoder the
 * Node helper uses. It does for the page what src/transport/handshake-io.ts and src/node/helper.ts do in Node.
 * Only the pure layers of src/ are imported; the cipher offered is tweetnacl's XSalsa20-Poly1305 (cipher 1),
 * the one a browser runs synchronously.
 */
import { ErrorCode, ProtocolError, StateError, TesseraError } from '../src/core/index.js';
import { Channel, DEFAULT_MAX_BODY_BYTES } from '../src/framing/constants.js';
import { Deframer } from '../src/framing/deframer.js';
import { encodeFrame } from '../src/framing/frame.js';
import { XSalsa20Poly1305 } from '../src/framing/aead.js';
import { HandshakeInitiator } from '../src/handshake/initiator.js';
import type { Invitation } from '../src/handshake/invitation.js';
import { HandshakeError, type Refusal } from '../src/handshake/refusal.js';
import type { Mode } from '../src/handshake/constants.js';
import { TileDecoder, type Framebuffer, type Rect } from '../src/codec/index.js';
import { FflateInflateBackend } from '../src/codec/backends.js';
import type { InputEvent } from '../src/input/events.js';
import { HelperSession, type HelperSessionEvent } from '../src/session/helper-session.js';
import { CloseReason } from '../src/session/constants.js';
import { BrowserImageCodec } from './image-codec.js';

/** Deadline for the host to prove its key (ServerHello). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long to wait for Welcome after Auth: the host user is being asked. */
const CONSENT_WAIT_MS = 90_000;
/** Largest screen the page accepts (bounds the decoder's memory). */
const MAX_SCREEN_PX = 8192;
/** Largest chunk handed to WebSocket.send at once (the host accepts messages up to 1 MiB). */
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** How often session timers run (keepalive pings, idle timeout). */
const TICK_MS = 1_000;

/** Why the connection ended, in a form the page can show. */
export type EndReason =
  | { readonly kind: 'refused'; readonly refusal: Refusal }
  | { readonly kind: 'closed'; readonly reason: CloseReason; readonly message?: string | undefined; readonly byPeer: boolean }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

/** What the connection tells the page. */
export interface ConnectionEvents {
  /** The WebSocket is open and the handshake started. */
  onHandshaking?(): void;
  /** The host proved its key; its user is now being asked (Auth sent). */
  onAwaitingConsent?(): void;
  /** The handshake finished. */
  onOpen?(info: { readonly mode: Mode; readonly width: number; readonly height: number; readonly sessionId: string }): void;
  /** An update was decoded; paint `rects` of `framebuffer`, then the update is acknowledged. */
  onFrame?(framebuffer: Framebuffer, rects: readonly Rect[], keyFrame: boolean, seq: number): void;
  onMode?(mode: Mode, paused: boolean): void;
  onResize?(width: number, height: number): void;
  onChat?(text: string): void;
  onClipboard?(text: string): void;
  onEnd?(reason: EndReason): void;
}

/** Options of ViewerConnection. */
export interface ViewerConnectionOptions {
  readonly invitation: Invitation;
  /** WebSocket URL of the host's endpoint (same origin as the page). */
  readonly url: string;
  /** The mode to ask for (the host grants at most this and the invitation's mode). */
  readonly requestMode: Mode;
  /**
   * The password key, kdf(password, invitation.passwordSalt), when the invitation needs a password; derive it
   * before connecting (passwordKeyAsync in src/handshake/scrypt.ts) so the handshake deadline is not spent on scrypt.
   */
  readonly passwordKey?: Uint8Array | undefined;
  readonly events: ConnectionEvents;
}

type State = 'connecting' | 'handshaking' | 'open' | 'ended';

/** Random bytes from the Web Crypto API (crypto.getRandomValues). */
function browserRandom(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let pos = 0; pos < n; pos += 65536) crypto.getRandomValues(out.subarray(pos, Math.min(n, pos + 65536)));
  return out;
}

/**
 * One connection to a host. Lifecycle: 'connecting' (WebSocket opening) -> 'handshaking' -> 'open' -> 'ended'.
 * `onEnd` is called exactly once.
 */
export class ViewerConnection {
  readonly #o: ViewerConnectionOptions;
  readonly #events: ConnectionEvents;
  readonly #ws: WebSocket;
  readonly #deframer = new Deframer();
  readonly #initiator: HandshakeInitiator;
  readonly #decoder: TileDecoder;
  readonly #images = new BrowserImageCodec();
  #state: State = 'connecting';
  #session: HelperSession | undefined;
  #decodeChain: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #failure: TesseraError | undefined;
  #frames = 0;

  /**
   * @throws {StateError} when the invitation needs a password and no 32-byte `passwordKey` was given
   */
  constructor(o: ViewerConnectionOptions) {
    this.#o = o;
    this.#events = o.events;
    const inv = o.invitation;
    if (inv.passwordSalt && o.passwordKey?.byteLength !== 32) throw new StateError('this invitation needs a 32-byte password key');
    // The initiator takes the key itself (InitiatorAuth.passwordKey): the slow KDF already ran, outside the handshake.
    this.#initiator = new HandshakeInitiator({
      hostKey: inv.hostKey,
      auth: { kind: 'ticket', ticketId: inv.ticketId, secret: inv.secret, passwordKey: inv.passwordSalt ? o.passwordKey : undefined },
      requestMode: o.requestMode,
      random: browserRandom,
      ciphers: [XSalsa20Poly1305],
    });
    this.#decoder = new TileDecoder({ maxWidth: MAX_SCREEN_PX, maxHeight: MAX_SCREEN_PX, inflate: new FflateInflateBackend(), imageCodec: this.#images });
    this.#ws = new WebSocket(o.url);
    this.#ws.binaryType = 'arraybuffer';
    this.#ws.onopen = () => this.#onOpen();
    this.#ws.onmessage = (ev: MessageEvent) => this.#onMessage(ev);
    this.#ws.onclose = () => this.#onClose();
    this.#ws.onerror = () => {
      // The close event follows and says what happened; an error before open means the host is unreachable.
    };
    this.#timer = setTimeout(() => this.#timeout(), HANDSHAKE_TIMEOUT_MS);
  }

  get state(): State {
    return this.#state;
  }

  get mode(): Mode {
    return this.#session?.mode ?? 'view';
  }

  get paused(): boolean {
    return this.#session?.paused ?? false;
  }

  /** Updates decoded so far. */
  get frames(): number {
    return this.#frames;
  }

  /** Lossy (JPEG/WebP) tiles decoded so far. */
  get lossyTiles(): number {
    return this.#images.decoded;
  }

  /** Sends input; held back (false) unless the host granted control and did not pause it. */
  sendInput(events: readonly InputEvent[]): boolean {
    if (this.#state !== 'open' || !this.#session) return false;
    const sent = this.#session.sendInput(events, Date.now());
    this.#pump();
    return sent;
  }

  /** Asks the host user for control; the answer comes as onMode. */
  requestControl(): void {
    if (this.#state !== 'open' || !this.#session) return;
    this.#session.requestControl(Date.now());
    this.#pump();
  }

  chat(text: string): void {
    if (this.#state !== 'open' || !this.#session || text.length === 0) return;
    this.#session.chat(text, Date.now());
    this.#pump();
  }

  /** Sets the host's clipboard (admitted only under control). */
  clipboard(text: string): void {
    if (this.#state !== 'open' || !this.#session) return;
    this.#session.clipboard(text, Date.now());
    this.#pump();
  }

  /** Leaves the session (the host is told) or abandons the handshake. */
  close(): void {
    if (this.#state === 'ended') return;
    if (this.#session && this.#state === 'open') {
      this.#session.close(CloseReason.HelperLeft, 'the helper left');
      this.#pump();
      return;
    }
    this.#end({ kind: 'closed', reason: CloseReason.HelperLeft, byPeer: false });
  }

  #send(bytes: Uint8Array): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    for (let pos = 0; pos < bytes.byteLength; pos += MAX_MESSAGE_BYTES) {
      this.#ws.send(bytes.subarray(pos, Math.min(bytes.byteLength, pos + MAX_MESSAGE_BYTES)));
    }
  }

  #onOpen(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'handshaking';
    this.#events.onHandshaking?.();
    this.#send(encodeFrame(Channel.Handshake, this.#initiator.next()!));
  }

  #onMessage(ev: MessageEvent): void {
    if (this.#state === 'ended') return;
    if (!(ev.data instanceof ArrayBuffer)) {
      this.#fail(new ProtocolError(ErrorCode.UnexpectedMessage, 'websocket text message; tessera sends binary messages only', { context: 'websocket' }));
      return;
    }
    const chunk = new Uint8Array(ev.data);
    if (this.#state === 'open') {
      this.#session!.handleBytes(chunk, Date.now());
      this.#pump();
      return;
    }
    try {
      this.#deframer.push(chunk);
      this.#handshakeFrames();
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Runs the initiator over whole handshake frames; once Welcome arrives, the session takes over. */
  #handshakeFrames(): void {
    for (let frame = this.#deframer.next(); frame; frame = this.#deframer.next()) {
      if (frame.channel !== Channel.Handshake) {
        throw new ProtocolError(ErrorCode.UnexpectedMessage, `frame on channel ${frame.channel} during the handshake`, { context: 'handshake', field: 'channel', received: frame.channel });
      }
      const step = this.#initiator.receive(frame.payload);
      if (step.type === 'send') {
        this.#send(encodeFrame(Channel.Handshake, this.#initiator.next()!));
        this.#restartTimer(CONSENT_WAIT_MS);
        this.#events.onAwaitingConsent?.();
        continue;
      }
      this.#established();
      return;
    }
  }

  #established(): void {
    const result = this.#initiator.finish();
    clearTimeout(this.#timer);
    this.#deframer.setProtector(result.protector);
    this.#deframer.setMaxBodyBytes(DEFAULT_MAX_BODY_BYTES);
    const now = Date.now();
    this.#session = new HelperSession({ deframer: this.#deframer, seal: result.protector, now, mode: result.mode });
    this.#state = 'open';
    this.#ticker = setInterval(() => {
      this.#session?.handleTimeout(Date.now());
      this.#pump();
    }, TICK_MS);
    this.#events.onOpen?.({ mode: result.mode, width: result.welcome.width, height: result.welcome.height, sessionId: result.keys.sessionId });
    // Frames that arrived together with Welcome are already in the deframer.
    this.#session.handleBytes(new Uint8Array(0), now);
    this.#pump();
  }

  #pump(): void {
    const session = this.#session;
    if (!session) return;
    this.#flush();
    for (let ev = session.pollEvent(); ev; ev = session.pollEvent()) this.#handle(ev);
    this.#flush();
  }

  #flush(): void {
    const session = this.#session!;
    for (let out = session.pollTransmit(); out; out = session.pollTransmit()) this.#send(out);
  }

  #handle(ev: HelperSessionEvent): void {
    switch (ev.type) {
      case 'update': {
        const { seq, update } = ev;
        // Updates decode in order; lossy tiles make a decode asynchronous (createImageBitmap).
        this.#decodeChain = this.#decodeChain.then(async () => {
          if (this.#state !== 'open') return;
          try {
            const result = await this.#decoder.decodeAsync(update);
            if (this.#state !== 'open') return;
            this.#frames++;
            this.#events.onFrame?.(result.framebuffer, result.rects, result.keyFrame, seq);
            // Acknowledge only after painting: the host's flow control then paces to what the page can draw.
            this.#session!.acknowledge(seq, Date.now());
            this.#pump();
          } catch (err) {
            this.#failure = err instanceof TesseraError ? err : new TesseraError(ErrorCode.InvalidField, 'the update could not be decoded', { cause: err });
            this.#session!.close(CloseReason.ProtocolError, this.#failure.message);
            this.#pump();
          }
        });
        return;
      }
      case 'mode':
        this.#events.onMode?.(ev.mode, ev.paused);
        return;
      case 'resize':
        this.#events.onResize?.(ev.width, ev.height);
        return;
      case 'chat':
        this.#events.onChat?.(ev.text);
        return;
      case 'clipboard':
        this.#events.onClipboard?.(ev.text);
        return;
      case 'rtt':
        return;
      case 'closed': {
        const error = ev.error ?? this.#failure;
        if (error && ev.reason === CloseReason.ProtocolError) this.#end({ kind: 'error', code: error.code, message: error.message });
        else this.#end({ kind: 'closed', reason: ev.reason, message: ev.message, byPeer: ev.byPeer });
        return;
      }
    }
  }

  #onClose(): void {
    if (this.#state === 'ended') return;
    if (this.#state === 'open') {
      this.#session!.handleTransportClosed();
      this.#pump();
      return;
    }
    const error = this.#state === 'connecting'
      ? new TesseraError(ErrorCode.Io, 'could not reach the host', { context: 'websocket' })
      : new TesseraError(ErrorCode.Closed, 'the host closed the connection during the handshake', { context: 'handshake' });
    this.#fail(error);
  }

  #timeout(): void {
    this.#fail(new TesseraError(ErrorCode.HandshakeTimeout, 'handshake did not finish in time', { context: 'handshake' }));
  }

  #restartTimer(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#timeout(), ms);
  }

  #fail(err: unknown): void {
    if (this.#state === 'ended') return;
    if (err instanceof HandshakeError) {
      this.#end({ kind: 'refused', refusal: err.refusal });
      return;
    }
    if (this.#session && this.#state === 'open') {
      this.#failure = err instanceof TesseraError ? err : new TesseraError(ErrorCode.Io, String(err));
      this.#session.close(CloseReason.ProtocolError, this.#failure.message);
      this.#pump();
      return;
    }
    const e = err instanceof TesseraError ? err : new TesseraError(ErrorCode.Io, err instanceof Error ? err.message : String(err));
    this.#end({ kind: 'error', code: e.code, message: e.message });
  }

  #end(reason: EndReason): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    clearTimeout(this.#timer);
    clearInterval(this.#ticker);
    // Let queued bytes (a close message) go out first; the browser sends the close frame after them.
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(1000);
    this.#events.onEnd?.(reason);
  }
}
