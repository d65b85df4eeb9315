/**
 * What the host probes speak on the wire: a raw TCP connection that yields frames one at a time (so a probe sees
 * exactly what the host sent, and when it closed), the helper's handshake run step by step over it, and a session on
 * the sans-IO HelperSession whose acknowledgements the probe controls.
 */
import type { Socket } from 'node:net';
import { ErrorCode, TesseraError, toTesseraError } from '../core/index.js';
import { Channel, DEFAULT_MAX_BODY_BYTES, Deframer, encodeFrame, encodeControl, type ControlMessage, type Frame } from '../framing/index.js';
import { HandshakeError, type HandshakeInitiator, type HandshakeResult, type HolderKey, type Invitation, type PasswordKdf } from '../handshake/index.js';
import { HelperSession } from '../session/helper-session.js';
import type { CoreEvent } from '../session/session-core.js';
import { connectTcp } from '../transport/tcp.js';
import { Waker } from './probe.js';

/** The host under test: its invitation, and the one holder key every probe proves (spec/handshake.md §2.5). */
export interface HostTarget {
  readonly invitation: Invitation;
  /** Where to connect: the invitation's first address unless given. */
  readonly host: string;
  readonly port: number;
  readonly password?: string;
  readonly kdf: PasswordKdf;
  /** One holder key for the whole run, so the invitation counts the probes as one returning helper. */
  readonly holder: HolderKey;
}

/** What waiting for the next frame gave. */
export type NextFrame =
  | { readonly kind: 'frame'; readonly frame: Frame }
  | { readonly kind: 'closed' }
  | { readonly kind: 'timeout' }
  /** The bytes could not be read as a frame (this side's deframer failed). */
  | { readonly kind: 'error'; readonly error: TesseraError };

/** A TCP connection to the host that hands out frames, in the clear until a protector is installed. */
export class RawConnection {
  readonly socket: Socket;
  readonly deframer = new Deframer();
  #closed = false;
  #error: TesseraError | undefined;
  readonly #waker = new Waker();
  #sink: { data: (chunk: Uint8Array) => void; closed: () => void } | undefined;

  private constructor(socket: Socket, signal: AbortSignal) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (this.#sink) return this.#sink.data(bytes);
      try {
        this.deframer.push(bytes);
      } catch (err) {
        this.#error ??= toTesseraError(err);
      }
      this.#notify();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#closed = true;
      this.#sink?.closed();
      this.#notify();
    });
    const onAbort = (): void => this.close();
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  /** Connects to the target. */
  static async open(target: { host: string; port: number }, signal: AbortSignal): Promise<RawConnection> {
    const socket = await connectTcp({ host: target.host, port: target.port, signal, timeoutMs: 5_000 });
    return new RawConnection(socket, signal);
  }

  /** True once the host closed the connection (or it was destroyed here). */
  get closed(): boolean {
    return this.#closed;
  }

  write(bytes: Uint8Array): void {
    if (!this.#closed && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** Sends one frame on `channel`, in the clear. */
  writeFrame(channel: Channel, payload: Uint8Array): void {
    this.write(encodeFrame(channel, payload));
  }

  /** The next whole frame, or why there is none within `ms`. */
  async nextFrame(ms: number): Promise<NextFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.#error) return { kind: 'error', error: this.#error };
      try {
        const frame = this.deframer.next();
        if (frame) return { kind: 'frame', frame };
      } catch (err) {
        this.#error = toTesseraError(err);
        continue;
      }
      if (this.#closed) return { kind: 'closed' };
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'timeout' };
      await this.#waitForBytes(left);
    }
  }

  /** Waits up to `ms` for the host to close the connection; true if it did. Bytes that arrive meanwhile are kept. */
  async waitClosed(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.#closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.#waitForBytes(left);
    }
    return true;
  }

  /** From now on every chunk goes to `data` (a session), and the close to `closed`. */
  handOver(sink: { data: (chunk: Uint8Array) => void; closed: () => void }): void {
    this.#sink = sink;
    if (this.#closed) sink.closed();
  }

  close(): void {
    this.socket.destroy();
  }

  #waitForBytes(ms: number): Promise<void> {
    return this.#waker.wait(ms);
  }

  #notify(): void {
    this.#waker.wake();
  }
}

/** How a handshake run ended. */
export interface HandshakeRun {
  /** done: Welcome opened; refused: a refusal (see error); error: a message this side rejects; closed; timeout. */
  readonly end: 'done' | 'refused' | 'error' | 'closed' | 'timeout';
  /** Whether a ServerHello arrived and proved the pinned key. */
  readonly helloReceived: boolean;
  readonly error?: TesseraError;
  readonly result?: HandshakeResult;
}

/**
 * Runs the helper's handshake over a raw connection, one message at a time. On 'done' the connection's deframer
 * holds the protector and the post-handshake cap (spec/framing.md §2.2), like the driver's.
 */
export async function runHandshake(conn: RawConnection, initiator: HandshakeInitiator, ms: number): Promise<HandshakeRun> {
  conn.writeFrame(Channel.Handshake, initiator.next()!);
  let helloReceived = false;
  for (;;) {
    const n = await conn.nextFrame(ms);
    if (n.kind === 'closed' || n.kind === 'timeout') return { end: n.kind, helloReceived };
    if (n.kind === 'error') return { end: 'error', helloReceived, error: n.error };
    if (n.frame.channel !== Channel.Handshake) {
      return { end: 'error', helloReceived, error: new TesseraError(ErrorCode.UnexpectedMessage, `frame on channel ${n.frame.channel} during the handshake`) };
    }
    try {
      const step = initiator.receive(n.frame.payload);
      if (step.type === 'send') {
        helloReceived = true;
        conn.writeFrame(Channel.Handshake, initiator.next()!);
        continue;
      }
      const result = initiator.finish();
      conn.deframer.setProtector(result.protector);
      conn.deframer.setMaxBodyBytes(DEFAULT_MAX_BODY_BYTES);
      return { end: 'done', helloReceived: true, result };
    } catch (err) {
      if (err instanceof HandshakeError && err.refusal !== 'HOST_KEY_MISMATCH') return { end: 'refused', helloReceived, error: err };
      return { end: 'error', helloReceived, error: toTesseraError(err) };
    }
  }
}

/** One display update as received. */
export interface ReceivedUpdate {
  readonly seq: number;
  readonly update: Uint8Array;
  readonly at: number;
}

/** One thing the host sent, as ProbeSession.log records it. */
export type ProbeLogEntry =
  | { readonly type: 'update'; readonly seq: number }
  | { readonly type: 'screen'; readonly width: number; readonly height: number }
  | { readonly type: 'mode'; readonly mode: string; readonly paused: boolean }
  | { readonly type: 'chat'; readonly text: string };

/**
 * A helper session over a raw connection after the handshake, on the sans-IO HelperSession: it records what the
 * host sends (updates, chat, its close) and acknowledges updates only while `autoAck` is on.
 */
export class ProbeSession {
  readonly session: HelperSession;
  readonly conn: RawConnection;
  readonly #protector: HandshakeResult['protector'];
  readonly updates: ReceivedUpdate[] = [];
  readonly chats: string[] = [];
  /** What the host sent, in the order it arrived: updates (by display seq), `screen` messages, mode changes and chat. */
  readonly log: ProbeLogEntry[] = [];
  /** The close the host sent, if any. */
  peerClose: { reason: string; message?: string } | undefined;
  /** This side's verdict on what the host sent, when it broke the protocol. */
  localError: TesseraError | undefined;
  transportClosed = false;
  pongs = 0;
  autoAck: boolean;
  #lastAcked = 0;
  readonly #waker = new Waker();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(conn: RawConnection, result: HandshakeResult, o: { autoAck?: boolean; signal: AbortSignal }) {
    this.conn = conn;
    this.#protector = result.protector;
    this.autoAck = o.autoAck ?? true;
    this.session = new HelperSession({ deframer: conn.deframer, seal: result.protector, now: Date.now(), mode: result.mode });
    this.#timer = setInterval(() => {
      this.session.handleTimeout(Date.now());
      this.#pump();
    }, 1_000);
    o.signal.addEventListener('abort', () => clearInterval(this.#timer), { once: true });
    conn.handOver({
      data: (chunk) => {
        this.session.handleBytes(chunk, Date.now());
        this.#pump();
      },
      closed: () => {
        this.transportClosed = true;
        this.session.handleTransportClosed();
        clearInterval(this.#timer);
        this.#pump();
      },
    });
    // Frames that came with Welcome are already in the deframer.
    this.session.handleBytes(new Uint8Array(0), Date.now());
    this.#pump();
  }

  /** The last update acknowledged. */
  get lastAcked(): number {
    return this.#lastAcked;
  }

  /** Acknowledges every update received so far. */
  ackAll(): void {
    const seq = this.session.receivedSeq;
    if (seq > this.#lastAcked) {
      this.#lastAcked = seq;
      this.session.acknowledge(seq, Date.now());
      this.#pump();
    }
  }

  /** Sends a control message as it is, sealed, outside the session's own checks (for probes of the host's checks). */
  sendControlRaw(msg: ControlMessage, tamper = false): void {
    this.sendSealed(Channel.Control, encodeControl(msg), tamper);
  }

  /** Seals and sends one frame; with `tamper`, one bit of the sealed body is flipped first. */
  sendSealed(channel: Channel, payload: Uint8Array, tamper = false): void {
    this.#flush();
    const frame = encodeFrame(channel, payload, this.#protector);
    if (tamper) frame[frame.byteLength - 1]! ^= 0x01;
    this.conn.write(frame);
  }

  ping(): void {
    this.session.ping(Date.now());
    this.#pump();
  }

  chat(text: string): void {
    this.session.chat(text, Date.now());
    this.#pump();
  }

  /** Waits until `predicate` holds (checked after everything the host sends) or `ms` passes; true if it held. */
  waitFor(predicate: () => boolean, ms: number): Promise<boolean> {
    return this.#waker.waitFor(predicate, ms);
  }

  /** Waits until nothing arrived for `quietMs` (or `ms` passed); true if it went quiet. */
  async waitQuiet(quietMs: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    let count = this.#events;
    let since = Date.now();
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (this.#events !== count) {
        count = this.#events;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) return true;
    }
    return false;
  }

  #events = 0;

  #pump(): void {
    for (let ev = this.session.pollEvent(); ev; ev = this.session.pollEvent()) {
      this.#events++;
      this.#onEvent(ev);
    }
    this.#flush();
    this.#waker.wake();
  }

  #flush(): void {
    for (let out = this.session.pollTransmit(); out; out = this.session.pollTransmit()) this.conn.write(out);
  }

  #onEvent(ev: ReturnType<HelperSession['pollEvent']> & object): void {
    switch (ev.type) {
      case 'update':
        this.log.push({ type: 'update', seq: ev.seq });
        this.updates.push({ seq: ev.seq, update: ev.update, at: Date.now() });
        if (this.autoAck) {
          this.#lastAcked = ev.seq;
          this.session.acknowledge(ev.seq, Date.now());
        }
        return;
      case 'chat':
        this.log.push({ type: 'chat', text: ev.text });
        this.chats.push(ev.text);
        return;
      case 'resize':
        this.log.push({ type: 'screen', width: ev.width, height: ev.height });
        return;
      case 'mode':
        this.log.push({ type: 'mode', mode: ev.mode, paused: ev.paused });
        return;
      case 'rtt':
        this.pongs++;
        return;
      case 'closed': {
        const closed = ev as Extract<CoreEvent, { type: 'closed' }>;
        // A transport that closes is reported as a close too (connection-lost); only a close message counts here.
        if (closed.byPeer && !this.transportClosed) this.peerClose = { reason: closed.reason, ...(closed.message !== undefined ? { message: closed.message } : {}) };
        else if (closed.error && !this.transportClosed) this.localError = closed.error;
        clearInterval(this.#timer);
        return;
      }
      default:
        return;
    }
  }
}

/** The fixed part of a codec update header (spec/codec.md §2): version, flags, seq, width, height. */
export interface UpdateHeader {
  readonly version: number;
  readonly key: boolean;
  readonly width: number;
  readonly height: number;
}

/** Reads the header of a codec update, or undefined when it is too short to hold one. */
export function updateHeader(update: Uint8Array): UpdateHeader | undefined {
  if (update.byteLength < 10) return undefined;
  const v = new DataView(update.buffer, update.byteOffset, update.byteLength);
  return { version: v.getUint8(0), key: (v.getUint8(1) & 1) === 1, width: v.getUint16(6), height: v.getUint16(8) };
}
