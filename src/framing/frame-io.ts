/**
 * Channel multiplexing over one byte stream; spec/framing.md §2.2 (Channels) and §2.6 (Control messages).
 * `FrameWriter` turns (channel, payload) and control messages into frames; `FrameReader` turns received
 * bytes back into frames, decodes control messages and refuses channels the session does not expect.
 * Both are sans-IO: bytes in, bytes or frames out. The seal stage plugs in later through
 * `setProtector` on both sides, once the handshake has keys.
 */
import { ErrorCode, ProtocolError, StateError } from '../core/index.js';
import { Channel, FRAME_HEADER_BYTES, MIN_BODY_BYTES, PRE_AUTH_MAX_BODY_BYTES, ABSOLUTE_MAX_BODY_BYTES } from './constants.js';
import { controlCodec, type ControlCodec, type ControlMessage } from './control.js';
import { Deframer } from './deframer.js';
import { encodeFrame } from './frame.js';
import { NullProtector, type FrameProtector } from './protector.js';

/** Channels other than control, whose payloads are handed over as bytes. */
export type BinaryChannel = Exclude<Channel, typeof Channel.Control>;

/** What `FrameReader.next` returns: a decoded control message, or another channel's payload. */
export type IncomingFrame<M = ControlMessage> =
  | { readonly channel: typeof Channel.Control; readonly message: M }
  | { readonly channel: BinaryChannel; readonly payload: Uint8Array };

/** Every channel after the handshake: all but Handshake. */
export const SESSION_CHANNELS: readonly Channel[] = Object.freeze([
  Channel.Control,
  Channel.Display,
  Channel.Input,
  Channel.Clipboard,
  Channel.Chat,
]);

/** Options of a FrameWriter. */
export interface FrameWriterOptions<M extends { readonly t: string } = ControlMessage> {
  /** The peer's cap on a body; larger frames are refused before they are sent. Default PRE_AUTH_MAX_BODY_BYTES. */
  readonly maxBodyBytes?: number;
  /** Codec for control messages. Default: this version's `controlCodec`. */
  readonly codec?: ControlCodec<M>;
}

/** Builds outgoing frames; one per connection direction. */
export class FrameWriter<M extends { readonly t: string } = ControlMessage> {
  #protector: FrameProtector = NullProtector;
  #maxBodyBytes: number;
  readonly #codec: ControlCodec<M>;

  constructor(options: FrameWriterOptions<M> = {}) {
    this.#maxBodyBytes = checkCap(options.maxBodyBytes ?? PRE_AUTH_MAX_BODY_BYTES);
    this.#codec = options.codec ?? (controlCodec as unknown as ControlCodec<M>);
  }

  /** The peer's current cap on a body. */
  get maxBodyBytes(): number {
    return this.#maxBodyBytes;
  }

  /** Largest payload that fits one frame under the peer's cap with the current protector. */
  get maxPayloadBytes(): number {
    return this.#maxBodyBytes - MIN_BODY_BYTES - this.#protector.overhead;
  }

  /** Changes the peer's cap (raised after the handshake). */
  setMaxBodyBytes(n: number): void {
    this.#maxBodyBytes = checkCap(n);
  }

  /** Installs the seal stage for all later frames. */
  setProtector(p: FrameProtector): void {
    this.#protector = p;
  }

  /**
   * Encodes one frame (header and sealed body).
   * @returns a new buffer the caller owns
   * @throws {StateError} TESSERA_ERR_BAD_STATE when the payload exceeds `maxPayloadBytes` or the channel is undefined
   */
  frame(channel: Channel, payload: Uint8Array): Uint8Array {
    if (!(payload.byteLength <= this.maxPayloadBytes)) {
      throw new StateError(`a ${payload.byteLength}-byte payload does not fit the peer's ${this.#maxBodyBytes}-byte frame limit`, {
        expected: this.maxPayloadBytes,
        received: payload.byteLength,
      });
    }
    return encodeFrame(channel, payload, this.#protector);
  }

  /**
   * Encodes a control message as one frame on the control channel.
   * @throws {StateError} TESSERA_ERR_BAD_STATE when the message does not match its schema
   */
  control(message: M): Uint8Array {
    return this.frame(Channel.Control, this.#codec.encode(message));
  }
}

/** Options of a FrameReader. */
export interface FrameReaderOptions<M extends { readonly t: string } = ControlMessage> {
  /** Cap on a received body. Default PRE_AUTH_MAX_BODY_BYTES. Ignored when `deframer` is given. */
  readonly maxBodyBytes?: number;
  /** Channels accepted; a frame on any other defined channel is TESSERA_ERR_UNEXPECTED_MESSAGE. Default SESSION_CHANNELS. */
  readonly channels?: readonly Channel[];
  /** Codec for control messages. Default: this version's `controlCodec`. */
  readonly codec?: ControlCodec<M>;
  /** An existing deframer to continue from (the handshake's, so bytes it already buffered are not lost). */
  readonly deframer?: Deframer;
}

/** Parses incoming frames and control messages; one per connection direction. After an error it stays failed. */
export class FrameReader<M extends { readonly t: string } = ControlMessage> {
  readonly #deframer: Deframer;
  readonly #codec: ControlCodec<M>;
  #accepted = new Set<number>();
  #failed: ProtocolError | undefined;

  constructor(options: FrameReaderOptions<M> = {}) {
    this.#deframer = options.deframer ?? new Deframer({ maxBodyBytes: options.maxBodyBytes ?? PRE_AUTH_MAX_BODY_BYTES });
    this.#codec = options.codec ?? (controlCodec as unknown as ControlCodec<M>);
    this.setChannels(options.channels ?? SESSION_CHANNELS);
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#deframer.bufferedBytes;
  }

  /** The current cap on a received body. */
  get maxBodyBytes(): number {
    return this.#deframer.maxBodyBytes;
  }

  /** The error that failed this reader, if any. */
  get error(): ProtocolError | undefined {
    return this.#failed;
  }

  /** Changes the cap on a received body. */
  setMaxBodyBytes(n: number): void {
    this.#deframer.setMaxBodyBytes(n);
  }

  /** Installs the open stage for all later frames. */
  setProtector(p: FrameProtector): void {
    this.#deframer.setProtector(p);
  }

  /** Replaces the set of accepted channels. */
  setChannels(channels: readonly Channel[]): void {
    const next = new Set<number>();
    for (const c of channels) {
      if (!(Number.isInteger(c) && c >= 0 && c <= 0xff)) throw new StateError(`channel ${String(c)} is not a channel id`);
      next.add(c);
    }
    this.#accepted = next;
  }

  /**
   * Appends received bytes; call `next()` until it returns undefined before pushing again.
   * @throws {ProtocolError} as Deframer.push
   */
  push(chunk: Uint8Array): void {
    if (this.#failed) throw this.#failed;
    try {
      this.#deframer.push(chunk);
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /**
   * Returns the next frame, with control messages decoded, or undefined when more bytes are needed.
   * @throws {ProtocolError} as Deframer.next, TESSERA_ERR_UNEXPECTED_MESSAGE for a channel not accepted,
   *   and every ControlCodec.decode error for a bad control message
   */
  next(): IncomingFrame<M> | undefined {
    if (this.#failed) throw this.#failed;
    try {
      const frame = this.#deframer.next();
      if (frame === undefined) return undefined;
      if (!this.#accepted.has(frame.channel)) {
        throw new ProtocolError(ErrorCode.UnexpectedMessage, `frame on channel ${frame.channel} is not expected now`, {
          context: 'frame-body',
          field: 'channel',
          received: frame.channel,
        });
      }
      if (frame.channel === Channel.Control) return { channel: Channel.Control, message: this.#codec.decode(frame.payload) };
      return { channel: frame.channel, payload: frame.payload };
    } catch (err) {
      throw this.#fail(err);
    }
  }

  #fail(err: unknown): ProtocolError {
    this.#failed = err instanceof ProtocolError ? err : new ProtocolError(ErrorCode.InvalidField, 'frame could not be parsed', { cause: err });
    return this.#failed;
  }
}

function checkCap(n: number): number {
  if (!(Number.isInteger(n) && n >= MIN_BODY_BYTES && n <= ABSOLUTE_MAX_BODY_BYTES)) {
    throw new StateError(`maxBodyBytes must be an integer from ${MIN_BODY_BYTES} to ${ABSOLUTE_MAX_BODY_BYTES}, got ${n}`);
  }
  return n;
}

/** Bytes on the wire for a payload of `payloadBytes` under a protector with `overhead`. */
export function frameBytes(payloadBytes: number, overhead = 0): number {
  return FRAME_HEADER_BYTES + MIN_BODY_BYTES + overhead + payloadBytes;
}
