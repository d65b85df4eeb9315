import { ErrorCode, ProtocolError, ByteReader } from '../core/index.js';
import { Channel, FRAME_HEADER_BYTES, MAX_CHANNEL } from './constants.js';
import type { FrameProtector } from './protector.js';
import { NullProtector } from './protector.js';

/** One frame: a channel and its payload. spec/protocol.md §2.1 */
export interface Frame {
  readonly channel: Channel;
  readonly payload: Uint8Array;
}

/**
 * Encodes a frame: u32 body length, then the (possibly sealed) body of channel byte + payload.
 * @returns a new buffer holding header and body
 */
export function encodeFrame(channel: Channel, payload: Uint8Array, protector: FrameProtector = NullProtector): Uint8Array {
  const plain = new Uint8Array(1 + payload.byteLength);
  plain[0] = channel;
  plain.set(payload, 1);
  const body = protector.seal(plain);
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Splits an opened body into channel and payload.
 * @throws {ProtocolError} TESSERA_ERR_TRUNCATED for an empty body, TESSERA_ERR_UNKNOWN_CHANNEL for an undefined channel
 */
export function parseBody(body: Uint8Array): Frame {
  const r = new ByteReader(body, 'frame-body');
  const channel = r.u8('channel');
  if (!(channel <= MAX_CHANNEL)) {
    throw new ProtocolError(ErrorCode.UnknownChannel, `unknown channel ${channel} in frame body`, {
      context: 'frame-body',
      field: 'channel',
      offset: 0,
      received: channel,
    });
  }
  return { channel: channel as Channel, payload: r.rest() };
}
