/**
 * Text from a peer made safe for a terminal. A chat message, a close message, a display name or any other field a
 * peer (or a file a peer sent, such as an invitation or an email) controls is printed through `printable`, so it
 * cannot move the cursor, clear the screen, retitle the window, reorder what is shown beside it, or start a line of
 * its own next to the host's consent prompt.
 *
 * What is escaped, visibly:
 * - C0 controls U+0000–U+001F, newline and carriage return included (`\n`, `\r`, `\t`, otherwise `\x1b` style);
 * - DEL U+007F and the C1 controls U+0080–U+009F (`\x7f`, `\x9b`: some terminals read U+009B as CSI);
 * - bidirectional marks, embeddings, overrides and isolates: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069
 *   (`\u202e` style), which reorder the rest of the line;
 * - the line and paragraph separators U+2028 and U+2029, which some terminals and viewers break lines on.
 * Lone surrogates (half of a UTF-16 pair) become U+FFFD. Everything else, including emoji and other scripts,
 * passes unchanged. Pure: no I/O, no Node imports.
 */

/** Characters escaped by `printable`; newline is among them. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The same without newline, for text that is several lines of our own making. */
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Marks that text was shortened. */
const ELLIPSIS = '\u2026';

/** The visible form of one unsafe character. */
function escapeChar(ch: string): string {
  const c = ch.charCodeAt(0);
  if (c >= 0xd800 && c <= 0xdfff) return '\ufffd';
  if (c === 0x0a) return '\\n';
  if (c === 0x0d) return '\\r';
  if (c === 0x09) return '\\t';
  if (c <= 0xff) return `\\x${c.toString(16).padStart(2, '0')}`;
  return `\\u${c.toString(16).padStart(4, '0')}`;
}

/**
 * Returns `text` safe to print inside one terminal line: every control character (newline and carriage return
 * too), DEL, C1 code and bidirectional control escaped visibly (`\x1b`, `\n`, `\u202e`), lone surrogates replaced
 * by U+FFFD.
 * @param text any string, typically from a peer
 * @param maxChars when given (at least 1), the result has at most this many code points; a shortened result ends
 *   with '…' and never cuts an escape in half
 * @returns the printable text
 */
export function printable(text: string, maxChars?: number): string {
  const s = String(text);
  if (maxChars === undefined) return s.replace(UNSAFE, escapeChar);
  const limit = Math.max(1, Math.floor(maxChars));
  let out = '';
  let points = 0;
  // The longest prefix of `out` that still leaves room for the ellipsis.
  let cutAt = 0;
  for (const ch of s) {
    // for..of yields a surrogate pair as one string of length 2 and a lone surrogate as a string of length 1.
    const piece = ch.length === 1 && isUnsafe(ch.charCodeAt(0)) ? escapeChar(ch) : ch;
    const size = piece.length === 1 || piece === ch ? 1 : piece.length;
    if (points + size > limit) return out.slice(0, cutAt) + ELLIPSIS;
    out += piece;
    points += size;
    if (points <= limit - 1) cutAt = out.length;
  }
  return out;
}

/** True for a UTF-16 code unit that `printable` escapes when it stands alone. */
function isUnsafe(c: number): boolean {
  return (
    c <= 0x1f ||
    (c >= 0x7f && c <= 0x9f) ||
    c === 0x061c ||
    c === 0x200e ||
    c === 0x200f ||
    (c >= 0x2028 && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069) ||
    (c >= 0xd800 && c <= 0xdfff)
  );
}

/**
 * Like `printable`, but keeps newlines: for a message of several lines that we composed, as a second line of
 * defence under the per-field `printable` (a field that slipped through can still not send an escape sequence).
 * @param text any string
 * @returns the text with every unsafe character but '\n' escaped
 */
export function printableLines(text: string): string {
  return String(text).replace(UNSAFE_BUT_NEWLINE, escapeChar);
}

/**
 * Escapes, losslessly for a JSON parser, the characters JSON.stringify leaves raw that a terminal would act on:
 * DEL, C1 controls, bidirectional controls and U+2028/U+2029 (JSON.stringify already escapes C0 and lone
 * surrogates). They can only occur inside JSON strings, where `\uXXXX` decodes to the same character.
 * @param json the output of JSON.stringify
 * @returns the same JSON text, parsing to the same value
 */
export function terminalSafeJson(json: string): string {
  return json.replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
