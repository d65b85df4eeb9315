/**
 * Frame encoding and body parsing; implements spec/framing.md §2.1 (Frame format) and §2.2 (Channels).
 */
import { ErrorCode, ProtocolError, StateError, truncated } from '../core/index.js';
import { ABSOLUTE_MAX_BODY_BYTES, Channel, FRAME_HEADER_BYTES, MAX_CHANNEL } from './constants.js';
import type { FrameProtector } from './protector.js';
import { NullProtector } from './protector.js';
import { allocBytes } from './alloc.js';

/** One frame: a channel and its payload. spec/framing.md §2.1 */
export interface Frame {
  readonly channel: Channel;
  readonly payload: Uint8Array;
}

/**
 * Encodes a frame: u32 body length, then the (possibly sealed) body of channel byte + payload.
 * The receiver's cap is not known here; `FrameWriter` checks it.
 * @param channel a defined channel id (0..MAX_CHANNEL)
 * @param payload the channel's payload; copied, so the caller may reuse it
 * @param protector the seal stage; NullProtector (plain text) by default
 * @returns a new buffer holding header and body
 * @throws {StateError} TESSERA_ERR_BAD_STATE for an undefined channel or a body over ABSOLUTE_MAX_BODY_BYTES
 */
export function encodeFrame(channel: Channel, payload: Uint8Array, protector: FrameProtector = NullProtector): Uint8Array {
  if (!((channel & 0xff) === channel && channel <= MAX_CHANNEL)) throw new StateError(`cannot encode a frame on undefined channel ${String(channel)}`);
  const plainBytes = 1 /* channel */ + payload.byteLength;
  if (!(plainBytes + protector.overhead <= ABSOLUTE_MAX_BODY_BYTES)) {
    throw new StateError(`frame body of ${plainBytes + protector.overhead} bytes is over the ${ABSOLUTE_MAX_BODY_BYTES}-byte ceiling`);
  }
  if (protector === NullProtector) {
    // Plain text: write header, channel and payload into one buffer with a single copy of the payload.
    const out = allocBytes(FRAME_HEADER_BYTES + plainBytes);
    writeU32(out, plainBytes);
    out[FRAME_HEADER_BYTES] = channel;
    out.set(payload, FRAME_HEADER_BYTES + 1);
    return out;
  }
  const plain = new Uint8Array(plainBytes);
  plain[0] = channel;
  plain.set(payload, 1);
  const body = protector.seal(plain);
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.byteLength);
  writeU32(out, body.byteLength);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

function writeU32(out: Uint8Array, v: number): void {
  out[0] = v >>> 24;
  out[1] = (v >>> 16) & 0xff;
  out[2] = (v >>> 8) & 0xff;
  out[3] = v & 0xff;
}

/**
 * Splits an opened body into channel and payload (spec/framing.md §2.1.1).
 * The payload is a view of `body`.
 * @throws {ProtocolError} TESSERA_ERR_TRUNCATED for an empty body, TESSERA_ERR_UNKNOWN_CHANNEL for an undefined channel
 */
export function parseBody(body: Uint8Array): Frame {
  // Hot path: one byte to read, so no ByteReader (and its DataView) per frame.
  if (body.byteLength < 1) throw truncated('frame-body', 'channel', 0, 1, 0);
  const channel = body[0]!;
  if (!(channel <= MAX_CHANNEL)) {
    throw new ProtocolError(ErrorCode.UnknownChannel, `unknown channel ${channel} in frame body`, {
      context: 'frame-body',
      field: 'channel',
      offset: 0,
      received: channel,
    });
  }
  return { channel: channel as Channel, payload: body.subarray(1) };
}
