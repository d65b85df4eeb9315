/** The inputs of spec/vectors/recording.json and how a recording is built from them (scripts/recording-vectors.ts). */
import nacl from 'tweetnacl';
import { recordingSigningKey, RecordingWriter, toB64url, type FileEventKind, type RecordingHeader } from '../../src/recording/format.js';
import type { InputEvent } from '../../src/input/events.js';
import type { DropReason } from '../../src/input/input-gate.js';

export const VECTOR_KEYS = {
  hostSecretKey: new Uint8Array(32).map((_, i) => i + 1),
  auditorSecretKey: new Uint8Array(32).map((_, i) => 0x80 + i),
  ephemeralSecretKey: new Uint8Array(32).map((_, i) => 0x40 + i),
};

const signer = recordingSigningKey(VECTOR_KEYS.hostSecretKey);

/** One record as the vector file states it. */
export type VectorRecord =
  | { type: 'header'; time: number; header: RecordingHeader }
  | { type: 'update'; time: number; seq: number; update: string }
  | { type: 'input'; time: number; events: InputEvent[] }
  | { type: 'input-dropped'; time: number; reason: DropReason; event: InputEvent }
  | { type: 'mode'; time: number; mode: 'view' | 'control'; paused: boolean }
  | { type: 'chat' | 'clipboard'; time: number; from: 'host' | 'helper'; text: string }
  | { type: 'screen'; time: number; width: number; height: number }
  | { type: 'control-request'; time: number }
  | { type: 'close'; time: number; reason: string; message: string }
  | { type: 'cursor'; time: number; payload: string }
  | { type: 'file'; time: number; event: FileEventKind; direction: 'in' | 'out'; name: string; size: number; sha256: string; bytes?: number; code?: string }
  | { type: 'seal'; time: number };

const T = 1_767_225_600_000; // 2026-01-01T00:00:00Z
export const VECTOR_RECORDS: VectorRecord[] = [
  {
    type: 'header',
    time: T,
    header: {
      v: 1, session: '00112233445566778899aabbccddeeff', host: toB64url(nacl.scalarMult.base(VECTOR_KEYS.hostSecretKey)), signer: toB64url(signer.publicKey),
      kind: 'ticket', ticketId: '0123456789abcdef', peer: '192.0.2.7:50000', path: 'direct', mode: 'view', width: 320, height: 240, codec: 1, quality: 'lossless',
    },
  },
  { type: 'update', time: T + 15, seq: 1, update: '0101000000010140' },
  { type: 'control-request', time: T + 1000 },
  { type: 'mode', time: T + 2000, mode: 'control', paused: false },
  { type: 'input', time: T + 2100, events: [{ type: 'keyDown', code: 'KeyA', modifiers: 0 }, { type: 'keyUp', code: 'KeyA', modifiers: 0 }] },
  { type: 'input-dropped', time: T + 2200, reason: 'outOfBounds', event: { type: 'pointerMove', x: 400, y: 10, buttons: 0 } },
  { type: 'chat', time: T + 3000, from: 'helper', text: 'ready' },
  { type: 'clipboard', time: T + 3100, from: 'host', text: 'ticket 42' },
  { type: 'screen', time: T + 4000, width: 640, height: 480 },
  // A 2x2 shape (id 7, hotspot 1,1: white pixels, one transparent), then the pointer at (30, 40) with it.
  { type: 'cursor', time: T + 4100, payload: '02' + '00000007' + '0002' + '0002' + '0001' + '0001' + 'ffffffff'.repeat(3) + '00000000' },
  { type: 'cursor', time: T + 4116, payload: '01' + '001e' + '0028' + '01' + '00000007' },
  { type: 'file', time: T + 4200, event: 'offered', direction: 'in', name: 'notes.txt', size: 5, sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' },
  { type: 'file', time: T + 4300, event: 'accepted', direction: 'in', name: 'notes.txt', size: 5, sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', bytes: 0 },
  { type: 'file', time: T + 4400, event: 'saved', direction: 'in', name: 'notes.txt', size: 5, sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', bytes: 5 },
  { type: 'file', time: T + 4500, event: 'refused', direction: 'out', name: 'big.iso', size: 4_000_000_000, sha256: '00'.repeat(32), bytes: 0, code: 'too-large' },
  { type: 'close', time: T + 5000, reason: 'helper-left', message: '' },
  { type: 'seal', time: T + 5000 },
];

/** Builds the recording of `records` with the vector keys; `encrypted` to the vector auditor key. */
export function buildRecording(records: readonly VectorRecord[], encrypted = false): { bytes: Uint8Array; offsets: number[]; signer: Uint8Array } {
  const parts: Uint8Array[] = [];
  let size = 0;
  const w = new RecordingWriter({
    sink: (b) => {
      parts.push(b);
      size += b.byteLength;
    },
    signSecretKey: signer.secretKey,
    ...(encrypted ? { auditorPublicKey: nacl.scalarMult.base(VECTOR_KEYS.auditorSecretKey), random: () => VECTOR_KEYS.ephemeralSecretKey.slice() } : {}),
  });
  const offsets: number[] = [];
  for (const r of records) {
    offsets.push(size);
    switch (r.type) {
      case 'header': w.header(r.time, r.header); break;
      case 'update': w.update(r.time, r.seq, new Uint8Array(Buffer.from(r.update, 'hex'))); break;
      case 'input': w.input(r.time, r.events); break;
      case 'input-dropped': w.inputDropped(r.time, r.reason, r.event); break;
      case 'mode': w.mode(r.time, r.mode, r.paused); break;
      case 'chat': w.chat(r.time, r.from, r.text); break;
      case 'clipboard': w.clipboard(r.time, r.from, r.text); break;
      case 'screen': w.screen(r.time, r.width, r.height); break;
      case 'control-request': w.controlRequest(r.time); break;
      case 'close': w.close(r.time, r.reason, r.message); break;
      case 'cursor': w.cursor(r.time, new Uint8Array(Buffer.from(r.payload, 'hex'))); break;
      case 'file': {
        const { type: _type, time, sha256, ...rest } = r;
        w.file(time, { ...rest, sha256: new Uint8Array(Buffer.from(sha256, 'hex')) });
        break;
      }
      case 'seal': w.seal(r.time); break;
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.byteLength;
  }
  return { bytes, offsets, signer: signer.publicKey };
}
