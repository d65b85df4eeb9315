import t from 'tap';
import { printable, printableLines, terminalSafeJson } from '../../../src/cli/printable.js';

/** True when `s` holds a character a terminal would act on (the classes printable removes). */
function hasUnsafe(s: string): boolean {
  return /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

t.test('C0 controls are escaped visibly, newline and carriage return included', async (t) => {
  t.equal(printable('\x1b[2J\x1b[Hit is safe to answer y'), '\\x1b[2J\\x1b[Hit is safe to answer y');
  t.equal(printable('line one\nline two\r\n'), 'line one\\nline two\\r\\n', 'a peer cannot start a line of its own');
  t.equal(printable('a\tb'), 'a\\tb');
  t.equal(printable('\x00\x07\x08\x0b\x0c\x1f'), '\\x00\\x07\\x08\\x0b\\x0c\\x1f');
  for (let c = 0; c <= 0x1f; c++) {
    const out = printable(`<${String.fromCharCode(c)}>`);
    t.notOk(hasUnsafe(out), `U+${c.toString(16).padStart(4, '0')} is gone: ${out}`);
    t.ok(out.length > 3, 'and shown, not silently dropped');
  }
});

t.test('DEL and every C1 code (U+0080 to U+009F) are escaped', async (t) => {
  t.equal(printable('x\x7fy'), 'x\\x7fy');
  t.equal(printable('\u009b31m red'), '\\x9b31m red', 'the 8-bit CSI');
  t.equal(printable('\u009d0;title\u009c'), '\\x9d0;title\\x9c', 'the 8-bit OSC and ST');
  for (let c = 0x80; c <= 0x9f; c++) t.equal(printable(String.fromCharCode(c)), `\\x${c.toString(16)}`);
});

t.test('bidirectional marks, overrides and isolates are escaped', async (t) => {
  const bidi = [0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069];
  for (const c of bidi) t.equal(printable(`a${String.fromCharCode(c)}b`), `a\\u${c.toString(16).padStart(4, '0')}b`);
  t.equal(printable('invoice_\u202egpj.exe'), 'invoice_\\u202egpj.exe', 'the classic right-to-left override trick is visible');
  t.equal(printable('a\u2028b\u2029c'), 'a\\u2028b\\u2029c', 'line and paragraph separators too');
});

t.test('lone surrogates become U+FFFD; pairs, emoji and other scripts pass unchanged', async (t) => {
  t.equal(printable('a\ud800b'), 'a\ufffdb', 'a lone high surrogate');
  t.equal(printable('a\udc00b'), 'a\ufffdb', 'a lone low surrogate');
  t.equal(printable('\udc00\ud800'), '\ufffd\ufffd', 'a reversed pair is two lone halves');
  const fine = 'héllo wörld 你好 مرحبا שלום 👩‍💻 🇫🇷 café ~!@#$%^&*()\\ "quoted"';
  t.equal(printable(fine), fine);
  t.equal(printable(''), '');
});

t.test('maxChars bounds the result in code points, ends with an ellipsis and never cuts an escape', async (t) => {
  t.equal(printable('abcdef', 10), 'abcdef', 'short enough: unchanged');
  t.equal(printable('abcdef', 6), 'abcdef', 'exactly the limit: unchanged');
  t.equal(printable('abcdefg', 6), 'abcde…');
  t.equal(printable('ab\x1bcdef', 6), 'ab…', 'the escape \\x1b does not fit whole, so it is left out whole');
  t.equal(printable('ab\x1bcdef', 7), 'ab\\x1b…');
  t.equal(printable('😀😀😀😀', 3), '😀😀…', 'emoji count as one each and are not split');
  t.equal(printable('abc', 1), '…');
  t.equal(printable('a', 1), 'a');
  const long = '\x1b'.repeat(10_000);
  const cut = printable(long, 100);
  t.ok(Array.from(cut).length <= 100, 'a long hostile string is bounded');
  t.notOk(hasUnsafe(cut));
});

t.test('printableLines keeps newlines and escapes everything else', async (t) => {
  t.equal(printableLines('one\ntwo\x1b[2J\r\u202e'), 'one\ntwo\\x1b[2J\\r\\u202e');
});

t.test('terminalSafeJson parses to the same value and holds no raw C1 or bidi character', async (t) => {
  const value = { text: 'a\x1b[2J\u009b\u202e\u2066\x7f\u2028b\ud800', n: 1 };
  const json = terminalSafeJson(JSON.stringify(value));
  t.notOk(hasUnsafe(json), json);
  t.same(JSON.parse(json), value, 'lossless for programs');
});

t.test('no input of random code units leaves an unsafe character (seeded)', async (t) => {
  let seed = 0x5eed;
  const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8);
  const pool = [0x00, 0x0a, 0x0d, 0x1b, 0x7f, 0x85, 0x9b, 0x061c, 0x200e, 0x202e, 0x2069, 0x2028, 0xd83d, 0xde00, 0xdc00, 0x41, 0x20, 0x5c];
  for (let i = 0; i < 2000; i++) {
    const len = next() % 24;
    let s = '';
    for (let j = 0; j < len; j++) s += String.fromCharCode(pool[next() % pool.length]!);
    const max = next() % 2 ? undefined : 1 + (next() % 20);
    const out = printable(s, max);
    if (hasUnsafe(out) || (max !== undefined && Array.from(out).length > max)) {
      t.fail(`input ${JSON.stringify(s)} max ${max} gave ${JSON.stringify(out)}`);
      return;
    }
  }
  t.pass('2000 random strings');
});
