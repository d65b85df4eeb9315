/**
 * The recording format (spec/recording.md): chain, seal, tamper detection with offsets, crash-cut files, encryption.
 */
import t from 'tap';
import nacl from 'tweetnacl';
import { decryptRecording, parseRecording, readRecording, recordingSigningKey, RecordingWriter, toB64url, type RecordingHeader } from '../../../src/recording/format.js';
import { TesseraError } from '../../../src/core/errors.js';

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
  t.same(r.records.map((e) => e.type), ['header', 'update', 'input', 'input-dropped', 'mode', 'chat', 'clipboard', 'screen', 'control-request', 'close', 'seal']);
  const dropped = r.records[3]!;
  t.equal(dropped.type === 'input-dropped' && dropped.reason, 'outOfBounds');
  const chat = r.records[5]!;
  t.equal(chat.type === 'chat' && chat.text, 'hi \u001b[31m');
  t.equal(r.records[1]!.time, 1010);
});

t.test('a changed byte anywhere is reported at the offset of its record', async (t) => {
  const { bytes, offsets } = sample();
  for (let i = 8; i < bytes.byteLength; i += 3) {
    const copy = bytes.slice();
    copy[i]! ^= 0x40;
    const r = readRecording(copy);
    if (!r.problem) { t.fail(`flip at ${i} not detected`); continue; }
    const record = offsets.filter((o) => o <= i).pop()!;
    // A changed length field may make the record run past the file or into the next: still reported at its start.
    if (r.problem.offset !== record) t.fail(`flip at ${i}: reported ${r.problem.offset}, record at ${record} (${r.problem.message})`);
  }
  t.pass('every flip detected at its record');
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
  t.equal(r.records.length, 10, 'every record before the crash');
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
  t.equal(r.records.length, 11);
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
