/**
 * The recording format (spec/recording.md): chain, seal, tamper detection with offsets, crash-cut files, encryption.
 */
import t from 'tap';
import nacl from 'tweetnacl';
import { decryptRecording, MAX_MSGPACK_RECORD_BYTES, parseRecording, readRecording, recordingSigningKey, RecordingWriter, toB64url, type RecordingHeader } from '../../../src/recording/format.js';
import { TesseraError } from '../../../src/core/errors.js';
import { encodeCursorPosition, encodeCursorShape } from '../../../src/session/cursor.js';

const hostSecret = new Uint8Array(32).fill(7);
const sign = recordingSigningKey(hostSecret);
const header: RecordingHeader = {
  v: 1, session: 'ab'.repeat(16), host: toB64url(nacl.scalarMult.base(hostSecret)), signer: toB64url(sign.publicKey),
  kind: 'ticket', ticketId: '0011', peer: '192.0.2.1:1', path: 'direct', mode: 'control', width: 64, height: 32, codec: 1, quality: 'lossless',
};

function sample(seal = true, auditor?: Uint8Array): { bytes: Uint8Array; offsets: number[] } {
  const parts: Uint8Array[] = [];
  let random = 1;
  const w = new RecordingWriter({ sink: (b) => parts.push(b), signSecretKey: sign.secretKey, ...(auditor ? { auditorPublicKey: auditor, random: (n) => new Uint8Array(n).fill(random++) } : {}) });
  const offsets: number[] = [];
  const mark = () => offsets.push(parts.reduce((n, p) => n + p.byteLength, 0));
  mark(); w.header(1000, header);
  mark(); w.update(1010, 1, new Uint8Array([1, 2, 3, 4, 5]));
  mark(); w.input(1020, [{ type: 'keyDown', code: 'KeyA', modifiers: 0 }]);
  mark(); w.inputDropped(1021, 'outOfBounds', { type: 'pointerMove', x: 9999, y: 1, buttons: 0 });
  mark(); w.mode(1030, 'view', false);
  mark(); w.chat(1040, 'helper', 'hi \u001b[31m');
  mark(); w.clipboard(1050, 'host', 'secret-ish');
  mark(); w.screen(1060, 80, 40);
  mark(); w.controlRequest(1070);
  mark(); w.cursor(1072, encodeCursorShape({ id: 3, width: 2, height: 1, hotX: 0, hotY: 0, rgba: new Uint8Array(8).fill(255) }));
  mark(); w.cursor(1073, encodeCursorPosition(5, 6, true, 3));
  mark(); w.file(1074, { event: 'refused', direction: 'in', name: 'a.txt', size: 3, sha256: new Uint8Array(32).fill(9), code: 'declined' });
  mark(); w.close(1080, 'normal', 'bye');
  if (seal) { mark(); w.seal(1090); }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.byteLength; }
  return { bytes, offsets };
}

t.test('a sealed recording reads back every record, in order, and verifies', async (t) => {
  const { bytes } = sample();
  const r = parseRecording(bytes);
  t.equal(r.sealed, true);
  t.same(r.header, header);
  t.same(r.records.map((e) => e.type), ['header', 'update', 'input', 'input-dropped', 'mode', 'chat', 'clipboard', 'screen', 'control-request', 'cursor', 'cursor', 'file', 'close', 'seal']);
  const position = r.records[10]!;
  t.same(position.type === 'cursor' && position.cursor, { type: 'position', x: 5, y: 6, visible: true, shapeId: 3 });
  const file = r.records[11]!;
  t.same(file.type === 'file' && file.file, { event: 'refused', direction: 'in', name: 'a.txt', size: 3, sha256: new Uint8Array(32).fill(9), code: 'declined' }, 'the file record: metadata only');
  const dropped = r.records[3]!;
  t.equal(dropped.type === 'input-dropped' && dropped.reason, 'outOfBounds');
  const chat = r.records[5]!;
  t.equal(chat.type === 'chat' && chat.text, 'hi \u001b[31m');
  t.equal(r.records[1]!.time, 1010);
});

t.test('a changed byte anywhere is reported at the offset of its record', async (t) => {
  const { bytes, offsets } = sample();
  let flips = 0;
  // Every byte after the magic, the varint continuation bit and a low bit: lengths, time deltas, payloads, the
  // 16-byte stored chain tags and the seal.
  for (let i = 8; i < bytes.byteLength; i++) {
    for (const mask of [0x80, 0x01]) {
      const copy = bytes.slice();
      copy[i]! ^= mask;
      const r = readRecording(copy);
      flips++;
      if (!r.problem) { t.fail(`flip ${mask} at ${i} not detected`); continue; }
      const record = offsets.filter((o) => o <= i).pop()!;
      // A changed length field may make the record run past the file or into the next: still reported at its start.
      if (r.problem.offset !== record) t.fail(`flip ${mask} at ${i}: reported ${r.problem.offset}, record at ${record} (${r.problem.message})`);
    }
  }
  t.ok(flips > 2 * 400, `every one of ${flips} flips detected at its record`);
});

t.test('reordered records and a forged seal are detected; an unsealed (crashed) file is readable', async (t) => {
  const { bytes, offsets } = sample();
  const a = bytes.slice(offsets[4]!, offsets[5]!);
  const b = bytes.slice(offsets[5]!, offsets[6]!);
  const swapped = bytes.slice();
  swapped.set(b, offsets[4]!);
  swapped.set(a, offsets[4]! + b.byteLength);
  t.equal(readRecording(swapped).problem?.offset, offsets[4]);
  const cut = sample(false).bytes;
  const r = readRecording(cut);
  t.equal(r.problem, undefined);
  t.equal(r.sealed, false);
  t.equal(r.records.length, 13, 'every record before the crash');
  const mid = readRecording(bytes.subarray(0, offsets[6]! + 5));
  t.equal(mid.problem?.code, 'TESSERA_ERR_TRUNCATED');
  t.equal(mid.problem?.offset, offsets[6]);
  // A seal by another key: the chain is intact but the signature is not the header's signer's.
  const other = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(9));
  const parts: Uint8Array[] = [];
  const w = new RecordingWriter({ sink: (x) => parts.push(x), signSecretKey: other.secretKey });
  w.header(1, header);
  w.seal(2);
  const forged = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) { forged.set(p, at); at += p.byteLength; }
  const f = readRecording(forged);
  t.equal(f.sealed, false);
  t.equal(f.problem?.field, 'seal');
});

t.test('an encrypted recording opens only with the auditor key', async (t) => {
  const auditor = nacl.box.keyPair.fromSecretKey(new Uint8Array(32).fill(3));
  const { bytes } = sample(true, auditor.publicKey);
  t.equal(readRecording(bytes).problem?.code, 'TESSERA_ERR_DECRYPT_FAILED', 'not without the key');
  t.throws(() => decryptRecording(bytes, new Uint8Array(32).fill(4)), { code: 'TESSERA_ERR_DECRYPT_FAILED' }, 'not with another key');
  const plain = decryptRecording(bytes, auditor.secretKey);
  const r = parseRecording(plain);
  t.equal(r.sealed, true);
  t.equal(r.records.length, 14);
  const copy = bytes.slice();
  copy[100]! ^= 1;
  const err = (() => { try { decryptRecording(copy, auditor.secretKey); } catch (e) { return e as TesseraError; } return undefined; })();
  t.equal(err?.code, 'TESSERA_ERR_DECRYPT_FAILED');
  t.ok(err!.offset! <= 100, 'reported at the chunk that holds the changed byte');
});

t.test('the policy file\'s recording setting: mode and retention, strictly', async (t) => {
  const { parsePolicy } = await import('../../../src/handshake/policy.js');
  t.same(parsePolicy({ recording: { mode: 'required', retentionDays: 30 } }).recording, { mode: 'required', retentionDays: 30 });
  t.equal(parsePolicy({}).recording, undefined, 'absent: off');
  t.throws(() => parsePolicy({ recording: { mode: 'always' } }), { code: 'TESSERA_ERR_INVALID_CONFIG' });
  t.throws(() => parsePolicy({ recording: { mode: 'optional', retentionDays: 0 } }), { code: 'TESSERA_ERR_INVALID_CONFIG' });
});

t.test('each record stores 16 bytes of the chain value: a changed record with its own tag recomputed is caught at the next', async (t) => {
  const { bytes, offsets } = sample();
  // Each record costs its varint length, type, varint time delta and 16-byte tag: the mode record is 1 + 1 + 1 + 2 + 16.
  t.equal(offsets[5]! - offsets[4]!, 21, 'a mode record 9 ms after the one before is 21 bytes');
  // The update changed and its tag recomputed (as anyone can, without the host key): the next record's tag is over
  // the original chain, so the change is found there; the seal, over the full 32-byte value, could not be redone.
  const parts: Uint8Array[] = [];
  const w = new RecordingWriter({ sink: (b) => parts.push(b), signSecretKey: sign.secretKey });
  w.header(1000, header);
  w.update(1010, 1, new Uint8Array([1, 2, 3, 4, 9]));
  const head = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) { head.set(p, at); at += p.byteLength; }
  const spliced = new Uint8Array(head.byteLength + bytes.byteLength - offsets[2]!);
  spliced.set(head, 0);
  spliced.set(bytes.subarray(offsets[2]!), head.byteLength);
  const r = readRecording(spliced);
  t.equal(r.sealed, false);
  t.equal(r.problem?.offset, offsets[2], 'the first record after the changed one breaks the chain');
});

t.test('varint lengths are bounded and minimal: an overlong or padded length is refused at the record', async (t) => {
  const { bytes } = sample();
  const magic = bytes.subarray(0, 8);
  const at = (tail: number[]): Uint8Array => new Uint8Array([...magic, ...tail]);
  t.equal(readRecording(at([0xff, 0xff, 0xff, 0xff, 0x01])).problem?.code, 'TESSERA_ERR_LIMIT_EXCEEDED', 'five length bytes');
  t.equal(readRecording(at([0x80, 0x80, 0x80, 0x7f])).problem?.code, 'TESSERA_ERR_LIMIT_EXCEEDED', 'over 16 MiB + 64 KiB');
  t.equal(readRecording(at([0x85, 0x00])).problem?.code, 'TESSERA_ERR_LIMIT_EXCEEDED', 'not minimal');
  t.equal(readRecording(at([0x01])).problem?.code, 'TESSERA_ERR_LIMIT_EXCEEDED', 'under a type and a time');
  t.equal(readRecording(at([0x85])).problem?.code, 'TESSERA_ERR_TRUNCATED', 'cut inside the length');
  t.equal(readRecording(at([0x85])).problem?.offset, 8);
});

t.test('a MessagePack record over 64 KiB is refused before it is decoded, at its offset', async (t) => {
  const parts: Uint8Array[] = [];
  const w = new RecordingWriter({ sink: (b) => parts.push(b), signSecretKey: sign.secretKey });
  w.header(1000, header);
  w.update(1010, 1, new Uint8Array([1, 2, 3, 4]));
  const at = parts.reduce((n, p) => n + p.byteLength, 0);
  // A close record whose map is a megabyte of empty arrays would build a million objects: refused by its size alone.
  w.close(1020, 'normal', 'x'.repeat(MAX_MSGPACK_RECORD_BYTES));
  w.seal(1030);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) { bytes.set(p, off); off += p.byteLength; }
  const r = readRecording(bytes);
  t.match(r.problem, { code: 'TESSERA_ERR_INVALID_FIELD', offset: at });
  t.match(r.problem?.message, /over 65536/);
  t.equal(r.records.filter((e) => e.type === 'update').length, 1, 'the records before it are read');
});
