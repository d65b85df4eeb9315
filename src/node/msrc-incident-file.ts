/**
 * Reading Windows Remote Assistance invitation files (`*.MsRcIncident`) from disk: the bytes are decoded
 * (UTF-8, or UTF-16LE/BE as Windows writes them, found by byte-order mark, by `encoding="Unicode"`, or by the
 * zero bytes of UTF-16 text) and handed to the pure parser in src/handshake/msrc-incident.ts.
 */
import { readFileBounded } from './bounded-read.js';
import { ErrorCode } from '../core/index.js';
import { InvitationError } from '../handshake/invitation.js';
import { MAX_MSRC_INCIDENT_CHARS, parseMsRcIncident, type MsRcIncident } from '../handshake/msrc-incident.js';

/** Most bytes read from a `.MsRcIncident` file (UTF-16 takes two bytes per character). */
export const MAX_MSRC_INCIDENT_BYTES = MAX_MSRC_INCIDENT_CHARS * 2 + 2;

/** The encodings decodeMsRcIncidentBytes recognizes. */
export type MsRcEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

/**
 * Decodes the bytes of a `.MsRcIncident` file to text.
 * Order: a byte-order mark; else UTF-16 recognized by its zero bytes (ASCII markup in UTF-16 has one in every pair);
 * else UTF-8 (strict). A file declaring `encoding="Unicode"` without a BOM is UTF-16LE by the zero-byte rule.
 * @throws {InvitationError} TESSERA_ERR_INVALID_INVITATION when the bytes are too many or not valid text
 */
export function decodeMsRcIncidentBytes(bytes: Uint8Array): { text: string; encoding: MsRcEncoding } {
  if (bytes.byteLength > MAX_MSRC_INCIDENT_BYTES) throw invalid(`file is larger than ${MAX_MSRC_INCIDENT_BYTES} bytes`);
  const b0 = bytes[0];
  const b1 = bytes[1];
  let encoding: MsRcEncoding = 'utf-8';
  let body = bytes;
  if (b0 === 0xff && b1 === 0xfe) {
    encoding = 'utf-16le';
    body = bytes.subarray(2);
  } else if (b0 === 0xfe && b1 === 0xff) {
    encoding = 'utf-16be';
    body = bytes.subarray(2);
  } else if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) {
    body = bytes.subarray(3);
  } else if (bytes.byteLength >= 2 && b0 !== 0 && b1 === 0) {
    encoding = 'utf-16le';
  } else if (bytes.byteLength >= 2 && b0 === 0 && b1 !== 0) {
    encoding = 'utf-16be';
  }
  if (encoding !== 'utf-8' && body.byteLength % 2 !== 0) throw invalid(`file is ${encoding} but has an odd number of bytes`);
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(body);
  } catch (err) {
    throw invalid(`file is not valid ${encoding} text`, err);
  }
  // eslint-disable-next-line no-control-regex
  if (text.includes('\u0000')) throw invalid('file contains zero characters (is it UTF-16 without a byte-order mark?)');
  return { text, encoding };
}

/**
 * Reads and parses a `.MsRcIncident` file (at most MAX_MSRC_INCIDENT_BYTES bytes are read).
 * @throws {InvitationError} TESSERA_ERR_INVALID_INVITATION (unreadable, too large, bad encoding, or malformed)
 */
export function readMsRcIncidentFile(path: string): MsRcIncident {
  return parseMsRcIncident(decodeMsRcIncidentBytes(readFileBounded(path, MAX_MSRC_INCIDENT_BYTES, invalid)).text);
}


function invalid(why: string, cause?: unknown): InvitationError {
  return new InvitationError(ErrorCode.InvalidInvitation, `invalid remote assistance invitation: ${why}`, cause === undefined ? { context: 'msrc-incident' } : { context: 'msrc-incident', cause });
}
