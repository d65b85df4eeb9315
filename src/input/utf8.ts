/** Strict UTF-8 helpers shared by input batches and the text channels; spec/input.md §4. */
import { ErrorCode, ProtocolError } from '../core/index.js';

// `ignoreBOM: true` keeps a leading U+FEFF as a character, so decode(encode(s)) is always s.
const STRICT_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ENCODER = new TextEncoder();

/** True when `text` has no lone surrogate, so UTF-8 encoding is lossless. */
export function isWellFormedText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** UTF-8 bytes of a well-formed string. */
export function utf8Bytes(text: string): Uint8Array {
  return ENCODER.encode(text);
}

/**
 * Decodes strict UTF-8 (no replacement characters, BOM kept).
 * @throws {ProtocolError} TESSERA_ERR_INVALID_UTF8
 */
export function decodeUtf8Strict(bytes: Uint8Array, context: string, field: string, offset: number): string {
  try {
    return STRICT_DECODER.decode(bytes);
  } catch {
    throw new ProtocolError(ErrorCode.InvalidUtf8, `invalid ${context}: ${field} at offset ${offset} is not valid utf-8`, {
      context,
      field,
      offset,
    });
  }
}
