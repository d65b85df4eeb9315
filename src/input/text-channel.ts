/**
 * Payloads of the text channels (Channel.Clipboard and Channel.Chat): the whole payload is UTF-8 text; spec/input.md §4.
 */
import { ErrorCode, ProtocolError, StateError } from '../core/index.js';
import { decodeUtf8Strict, isWellFormedText, utf8Bytes } from './utf8.js';

/**
 * Encodes text for a text channel.
 * @param text well-formed text (no lone surrogates); may be empty (an empty clipboard)
 * @param maxBytes the receiver's cap in UTF-8 bytes
 * @returns a new byte array
 * @throws {StateError} TESSERA_ERR_BAD_STATE when the text is ill-formed or longer than `maxBytes` (split or truncate first)
 */
export function encodeText(text: string, maxBytes: number): Uint8Array {
  if (!isWellFormedText(text)) throw new StateError('text has a lone surrogate');
  const bytes = utf8Bytes(text);
  if (bytes.length > maxBytes) throw new StateError(`text of ${bytes.length} utf-8 bytes is longer than the limit of ${maxBytes}`);
  return bytes;
}

/**
 * Decodes a text-channel payload.
 * @param bytes the payload (the frame body after its channel byte)
 * @param maxBytes the cap; longer payloads are refused before decoding
 * @throws {ProtocolError} TESSERA_ERR_TEXT_TOO_LONG, TESSERA_ERR_INVALID_UTF8
 */
export function decodeText(bytes: Uint8Array, maxBytes: number): string {
  if (bytes.length > maxBytes) {
    throw new ProtocolError(ErrorCode.TextTooLong, `text payload of ${bytes.length} bytes is longer than the limit of ${maxBytes}`, {
      context: 'text-payload',
      field: 'text',
      offset: 0,
      expected: maxBytes,
      received: bytes.length,
    });
  }
  return decodeUtf8Strict(bytes, 'text-payload', 'text', 0);
}

/**
 * The longest prefix of `text` that fits in `maxBytes` of UTF-8 without splitting a character
 * (for a host that prefers to send a truncated clipboard rather than none).
 */
export function truncateText(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const unit = text.charCodeAt(i);
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    const pair = unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
    const size = unit < 0x80 ? 1 : unit < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + size > maxBytes) break;
    bytes += size;
    i += pair ? 2 : 1;
  }
  return text.slice(0, i);
}
