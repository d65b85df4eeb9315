/**
 * Writes spec/vectors/recording.json: a short recording made with fixed keys (plain and encrypted to a fixed auditor
 * key with a fixed ephemeral key), and damaged copies with the offset a reader must report. Run:
 *   node --import tsx scripts/recording-vectors.ts
 * test/conformance/recording.test.ts replays it both ways.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { buildRecording, VECTOR_KEYS, VECTOR_RECORDS } from '../test/conformance/recording-vectors.js';
import { readRecording } from '../src/recording/format.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const plain = buildRecording(VECTOR_RECORDS);
const encrypted = buildRecording(VECTOR_RECORDS, true);
const report = readRecording(plain.bytes);
const seal = report.records[report.records.length - 1]!;
const flipAt = plain.offsets[3]! + 4; // the mode byte (length 1, type 1, time delta 2)
const flipped = plain.bytes.slice();
flipped[flipAt]! ^= 0x01;
const cutAt = plain.offsets[5]! + 7;
const out = {
  about: 'spec/recording.md vectors: keys are hex; files are hex; offsets are byte offsets in the (plaintext) file',
  keys: {
    hostSecretKey: hex(VECTOR_KEYS.hostSecretKey),
    hostPublicKey: hex(nacl.scalarMult.base(VECTOR_KEYS.hostSecretKey)),
    signerPublicKey: hex(plain.signer),
    auditorSecretKey: hex(VECTOR_KEYS.auditorSecretKey),
    auditorPublicKey: hex(nacl.scalarMult.base(VECTOR_KEYS.auditorSecretKey)),
    ephemeralSecretKey: hex(VECTOR_KEYS.ephemeralSecretKey),
  },
  records: VECTOR_RECORDS,
  vectors: [
    { name: 'plain session', file: hex(plain.bytes), offsets: plain.offsets, signature: seal.type === 'seal' ? hex(seal.signature) : '', sealed: true },
    { name: 'encrypted session', file: hex(encrypted.bytes), plaintext: hex(plain.bytes) },
    { name: 'flipped byte', file: hex(flipped), problem: { code: 'TESSERA_ERR_INVALID_FIELD', offset: plain.offsets[3] } },
    { name: 'cut inside a record', file: hex(plain.bytes.subarray(0, cutAt)), problem: { code: 'TESSERA_ERR_TRUNCATED', offset: plain.offsets[5] } },
    { name: 'unsealed', file: hex(plain.bytes.subarray(0, plain.offsets[plain.offsets.length - 1])), sealed: false, records: plain.offsets.length - 1 },
  ],
};
writeFileSync(join(import.meta.dirname, '../spec/vectors/recording.json'), JSON.stringify(out, null, 2) + '\n');
console.log('wrote spec/vectors/recording.json');
