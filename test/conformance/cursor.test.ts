// Replays spec/vectors/cursor.json (spec/session.md §6.9): valid Cursor payloads decode to their message and encode to
// their bytes, invalid ones fail with their code, and sequences follow the shared cache rule, through a CursorReceiver
// and through a HelperSession that took the `cursor` feature.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fromHex, toHex, TesseraError } from '../../src/core/index.js';
import { Channel, Deframer, DEFAULT_MAX_BODY_BYTES, NullProtector, encodeFrame } from '../../src/framing/index.js';
import { HelperSession } from '../../src/session/helper-session.js';
import { CursorReceiver, decodeCursorMessage, encodeCursorPosition, encodeCursorShape } from '../../src/session/cursor.js';

interface Vectors {
  messages: {
    valid: { name: string; hex: string; message: Record<string, unknown> }[];
    invalid: { name: string; hex: string; code: string }[];
  };
  sequences: { name: string; payloads: string[]; states: { x: number; y: number; visible: boolean; shapeId: number }[]; error?: string }[];
}

const vectors = JSON.parse(readFileSync(new URL('../../spec/vectors/cursor.json', import.meta.url), 'utf8')) as Vectors;

function bytes(hex: string): Uint8Array {
  const out = fromHex(hex);
  if (out === undefined) throw new Error(`bad hex in vector: ${hex}`);
  return out;
}

t.test('valid cursor messages decode to their message and encode to their bytes', async (t) => {
  t.ok(vectors.messages.valid.length >= 5);
  for (const v of vectors.messages.valid) {
    const m = decodeCursorMessage(bytes(v.hex));
    if (m.type === 'shape') {
      const { rgba, ...rest } = m.shape;
      t.same({ type: 'shape', ...rest, rgba: toHex(rgba) }, v.message, `decode: ${v.name}`);
      const w = v.message as { id: number; width: number; height: number; hotX: number; hotY: number; rgba: string };
      t.equal(toHex(encodeCursorShape({ ...w, rgba: bytes(w.rgba) })), v.hex, `encode: ${v.name}`);
    } else {
      t.same(m, v.message, `decode: ${v.name}`);
      t.equal(toHex(encodeCursorPosition(m.x, m.y, m.visible, m.shapeId)), v.hex, `encode: ${v.name}`);
    }
  }
});

t.test('invalid cursor messages fail with their codes', async (t) => {
  t.ok(vectors.messages.invalid.length >= 15);
  for (const v of vectors.messages.invalid) {
    let err: unknown;
    try {
      decodeCursorMessage(bytes(v.hex));
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof TesseraError && err.code === v.code, `${v.name}: ${v.code}`);
  }
});

t.test('sequences follow the cache rule in a CursorReceiver and in a HelperSession', async (t) => {
  for (const seq of vectors.sequences) {
    const r = new CursorReceiver();
    const states: unknown[] = [];
    let code: string | undefined;
    for (const p of seq.payloads) {
      try {
        const s = r.receive(bytes(p));
        if (s) states.push({ x: s.x, y: s.y, visible: s.visible, shapeId: s.shape?.id ?? 0 });
      } catch (e) {
        code = (e as TesseraError).code;
        break;
      }
    }
    t.same(states, seq.states, `receiver states: ${seq.name}`);
    t.equal(code, seq.error, `receiver error: ${seq.name}`);

    const helper = new HelperSession({ deframer: new Deframer({ maxBodyBytes: DEFAULT_MAX_BODY_BYTES }), seal: NullProtector, now: 0, mode: 'view', offeredFeatures: ['cursor'], features: ['cursor'] });
    for (const p of seq.payloads) helper.handleBytes(encodeFrame(Channel.Cursor, bytes(p), NullProtector), 0);
    const got: unknown[] = [];
    let closed: string | undefined;
    for (let e; (e = helper.pollEvent()); ) {
      if (e.type === 'cursor') got.push({ x: e.cursor.x, y: e.cursor.y, visible: e.cursor.visible, shapeId: e.cursor.shape?.id ?? 0 });
      if (e.type === 'closed') closed = e.error?.code;
    }
    t.same(got, seq.states, `session states: ${seq.name}`);
    t.equal(closed, seq.error, `session close: ${seq.name}`);
  }
});
