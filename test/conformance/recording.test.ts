/**
 * Replays spec/vectors/recording.json (spec/recording.md) both ways: the writer with the vector keys makes exactly the
 * vector's bytes (plain and encrypted), and the reader finds the vector's records, seal and problems at their offsets.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptRecording, readRecording, recordingSigningKey } from '../../src/recording/format.js';
import { repoRoot } from '../helpers/codec-corpus.js';
import { buildRecording, VECTOR_KEYS, VECTOR_RECORDS, type VectorRecord } from './recording-vectors.js';

interface Vector {
  name: string;
  file: string;
  offsets?: number[];
  signature?: string;
  plaintext?: string;
  sealed?: boolean;
  records?: number;
  problem?: { code: string; offset: number };
}
const json = JSON.parse(readFileSync(join(repoRoot, 'spec/vectors/recording.json'), 'utf8')) as { keys: Record<string, string>; records: VectorRecord[]; vectors: Vector[] };
const vector = (name: string): Vector => json.vectors.find((v) => v.name === name)!;
const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('plain session: the writer makes the vector bytes and the reader reads the records back, sealed', async (t) => {
  t.same(json.records, JSON.parse(JSON.stringify(VECTOR_RECORDS)), 'the vector inputs are the ones built here');
  const v = vector('plain session');
  t.equal(hex(recordingSigningKey(bytes(json.keys.hostSecretKey!)).publicKey), json.keys.signerPublicKey, 'the signing key derived from the host key (REC-8)');
  t.equal(hex(buildRecording(json.records).bytes), v.file, 'encode');
  const r = readRecording(bytes(v.file));
  t.equal(r.problem, undefined);
  t.equal(r.sealed, true);
  t.same(r.records.map((e) => e.offset), v.offsets);
  t.same(r.records.map((e) => e.type), json.records.map((e) => e.type));
  const seal = r.records[r.records.length - 1]!;
  t.equal(seal.type === 'seal' ? hex(seal.signature) : '', v.signature);
  const dropped = r.records[5]!;
  t.equal(dropped.type === 'input-dropped' ? dropped.reason : '', 'outOfBounds');
  const cursor = r.records.flatMap((e) => (e.type === 'cursor' ? [e.cursor] : []));
  t.same(cursor.map((c) => (c.type === 'shape' ? ['shape', c.shape.id, c.shape.width, c.shape.height, c.shape.hotX, c.shape.hotY] : ['position', c.x, c.y, c.visible, c.shapeId])), [
    ['shape', 7, 2, 2, 1, 1],
    ['position', 30, 40, true, 7],
  ], 'the cursor records: the channel-6 payloads (REC-16)');
  const files = r.records.flatMap((e) => (e.type === 'file' ? [e.file] : []));
  t.same(files.map((f) => ({ ...f, sha256: hex(f.sha256) })), json.records.flatMap((e) => (e.type === 'file' ? [(({ type: _t, time: _time, ...rest }) => rest)(e)] : [])), 'the file records (REC-17)');
  t.same(r.records.map((e) => e.time), json.records.map((e) => e.time), 'times rebuilt from the deltas');
});

t.test('encrypted session: the vector bytes, opened with the auditor key, are the plain session', async (t) => {
  const v = vector('encrypted session');
  t.equal(hex(buildRecording(json.records, true).bytes), v.file, 'encode with the fixed ephemeral key');
  t.equal(hex(decryptRecording(bytes(v.file), VECTOR_KEYS.auditorSecretKey)), v.plaintext);
  t.throws(() => decryptRecording(bytes(v.file), VECTOR_KEYS.hostSecretKey), { code: 'TESSERA_ERR_DECRYPT_FAILED' });
});

t.test('damaged files: the problem at the record\'s offset; an unsealed file reads without a problem', async (t) => {
  for (const name of ['flipped byte', 'cut inside a record']) {
    const v = vector(name);
    const r = readRecording(bytes(v.file));
    t.equal(r.problem?.code, v.problem!.code, `${name}: code`);
    t.equal(r.problem?.offset, v.problem!.offset, `${name}: offset`);
    t.equal(r.sealed, false);
  }
  const u = vector('unsealed');
  const r = readRecording(bytes(u.file));
  t.equal(r.problem, undefined);
  t.equal(r.sealed, false);
  t.equal(r.records.length, u.records);
});
