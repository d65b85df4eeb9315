/**
 * `tessera conformance helper`: probes that act as a host towards the helper under test, one connection each. Every
 * probe waits for the helper to connect with the run's invitation, then sends a scripted session: valid updates of
 * every record type (the sessions of spec/vectors/codec.json), a resize, a seq wrap, sixteen updates in flight; or a
 * malformed update the helper must refuse (the `reject-*` vectors and a few display payloads broken on purpose).
 *
 * A helper's picture is not visible on the wire and the spec has no checksum of it, so the probes see only what the
 * helper sends back: an `ack` for each update it decoded (spec/session.md §6.3) and, for a malformed one, its close.
 */
import { createFramebuffer, TileEncoder, type Framebuffer } from '../codec/index.js';
import { ZlibDeflateBackend } from '../node/zlib-backend.js';
import { CloseReason } from '../session/constants.js';
import { codecVector, type CodecVector } from './codec-vectors.js';
import { HelperTarget, ProbeHostSession } from './helper-wire.js';
import { fail, notApplicable, pass, type Probe, type ProbeContext, type ProbeVerdict } from './probe.js';

/** How long a probe waits for one answer of the helper (an ack, or its close). */
const ANSWER_MS = 5_000;
/** How long after its close message the helper has to close the stream (SES-19). */
const CLOSE_MS = 3_000;
/** The most updates a host may have in flight (spec/session.md §6.3, SES-9, SES-10). */
const MAX_IN_FLIGHT = 16;
/** What the valid probes can and cannot see. */
const ACKS_ONLY = 'pixel exactness is not visible on the wire (the spec has no checksum): checked by acks only';

type Ctx = ProbeContext<HelperTarget>;

/** Waits for the helper's next connection and runs `body` on a session over it, then ends the session. */
async function withHelper(ctx: Ctx, body: (s: ProbeHostSession) => Promise<ProbeVerdict>): Promise<ProbeVerdict> {
  let est;
  try {
    est = await ctx.target.nextHelper(ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    return fail((err as Error).message);
  }
  const s = new ProbeHostSession(est, ctx.signal);
  try {
    return await body(s);
  } finally {
    s.close();
  }
}

/** Describes how a session ended, for a reason. */
function ended(s: ProbeHostSession): string {
  if (s.localError) return `the helper sent something this host must reject: ${s.localError.message}`;
  if (s.peerClose) return `the helper closed the session (${s.peerClose.reason}${s.peerClose.message ? `: ${s.peerClose.message}` : ''})`;
  return 'the helper closed the connection';
}

/** Sends one valid update and waits for its ack; undefined when it came, else the failure. */
async function sendAcked(s: ProbeHostSession, update: Uint8Array, what: string): Promise<ProbeVerdict | undefined> {
  if (!s.open) return fail(`${ended(s)} before ${what}`);
  const seq = s.send(update);
  const ok = await s.waitFor(() => s.lastAck >= seq || !s.open, ANSWER_MS);
  if (s.oddAck) return fail(`the helper sent ack {seq: ${s.oddAck.seq}, decoded: ${s.oddAck.decoded}}; version 1 sends decoded equal to seq (SES-7)`);
  if (s.lastAck >= seq) return undefined;
  if (!s.open) return fail(`${ended(s)} at ${what} (display seq ${seq}), a valid update`);
  return fail(ok ? `no ack for ${what}` : `no ack for ${what} (display seq ${seq}) within ${ANSWER_MS / 1000} s`);
}

/** Sends every update of the vectors in order, each acknowledged before the next. */
async function sendVectors(s: ProbeHostSession, vectors: readonly CodecVector[]): Promise<ProbeVerdict | undefined> {
  for (const v of vectors) {
    for (let i = 0; i < v.updates.length; i++) {
      const u = v.updates[i]!;
      if (u.error !== undefined) break;
      const failed = await sendAcked(s, u.bytes, `update ${i + 1} of vector '${v.name}'`);
      if (failed) return failed;
    }
  }
  return undefined;
}

/** A probe that sends valid vector sessions and passes when every update was acknowledged. */
function validProbe(name: string, ids: string[], title: string, vectors: readonly string[]): Probe<HelperTarget> {
  return {
    name,
    ids,
    title,
    run: (ctx) =>
      withHelper(ctx, async (s) => {
        const all = vectors.map(codecVector);
        const failed = await sendVectors(s, all);
        if (failed) return failed;
        const count = all.reduce((n, v) => n + v.updates.length, 0);
        return pass(`${count} updates acknowledged; ${ACKS_ONLY}`);
      }),
  };
}

/**
 * After a malformed update: passes when the helper closes with protocol-error and the stream, without acknowledging
 * it (`hostileSeq`, the display seq of the malformed update when it has one of the session's).
 */
async function expectRefusal(s: ProbeHostSession, hostileSeq: number | undefined, what: string): Promise<ProbeVerdict> {
  const acked = (): boolean => hostileSeq !== undefined && s.acks.some((a) => a >= hostileSeq);
  await s.waitFor(() => acked() || !s.open, ANSWER_MS);
  if (acked()) return fail(`the helper acknowledged ${what}, display seq ${hostileSeq}, instead of closing with protocol-error`);
  if (s.localError) return fail(`after ${what} the helper sent what this host must reject (${s.localError.message}); it should have closed with protocol-error`);
  if (s.peerClose) {
    if (s.peerClose.reason !== CloseReason.ProtocolError) return fail(`the helper closed with ${s.peerClose.reason}, not protocol-error, after ${what}`);
    const closed = await s.waitFor(() => s.transportClosed, CLOSE_MS);
    if (!closed) return fail(`the helper sent close {reason: protocol-error} after ${what} but did not close the stream within ${CLOSE_MS / 1000} s`);
    return pass(`closed with protocol-error${s.peerClose.message ? ` (${s.peerClose.message})` : ''}, no ack`);
  }
  if (s.transportClosed) return fail(`the helper dropped the connection after ${what} without close {reason: protocol-error}`);
  return fail(`the helper neither closed nor acknowledged ${what} within ${ANSWER_MS / 1000} s`);
}

/** A probe that sends a `reject-*` vector: its valid updates acknowledged, then its last one refused. */
function rejectProbe(vectorName: string, ids: string[], what: string): Probe<HelperTarget> {
  return {
    name: `refuse-${vectorName.replace(/^reject-/, '')}`,
    ids: [...ids, 'CODEC-37', 'SES-20'],
    title: `${what} (vector '${vectorName}') is refused: close {reason: protocol-error}, no ack`,
    run: (ctx) =>
      withHelper(ctx, async (s) => {
        const v = codecVector(vectorName);
        const hostile = v.updates[v.updates.length - 1]!;
        const before = await sendVectors(s, [{ ...v, updates: v.updates.slice(0, -1) }]);
        if (before) return before;
        if (!s.open) return fail(ended(s));
        const seq = s.send(hostile.bytes);
        return expectRefusal(s, seq, `the malformed update (which must raise ${hostile.error ?? 'an error'})`);
      }),
  };
}

/** The one-pixel KEY update of the vectors, changed by `edit`. */
function onePixel(edit?: (bytes: Uint8Array) => void): Uint8Array {
  const bytes = codecVector('one-pixel').updates[0]!.bytes.slice();
  edit?.(bytes);
  return bytes;
}

/** A display payload (spec/session.md §6.2): seq then the update. */
function displayPayload(seq: number, update: Uint8Array): Uint8Array {
  const p = new Uint8Array(4 + update.byteLength);
  new DataView(p.buffer).setUint32(0, seq);
  p.set(update, 4);
  return p;
}

const records = validProbe(
  'records',
  ['CODEC-17', 'CODEC-19', 'CODEC-21', 'CODEC-27', 'CODEC-41', 'SES-7'],
  'solid, palette, indexed and pixel records (MED_RANGE among the filters), each update acknowledged',
  ['solid-palette-pixels', 'med-range', 'med-range-hand', 'one-pixel'],
);

const copies = validProbe(
  'copies',
  ['CODEC-10', 'CODEC-14', 'CODEC-15', 'CODEC-22', 'SES-7'],
  'copies (a scroll, a window move) and PREV-filtered pixels, each update acknowledged',
  ['scroll-copy', 'window-move'],
);

const cache = validProbe('cache', ['CODEC-23', 'CODEC-32', 'CODEC-18', 'SES-7'], 'tiles from the cache and RGBA pixels with alpha, each update acknowledged', ['cache-and-alpha']);

const seqWrap = validProbe('seq-wrap', ['CODEC-9', 'CODEC-12', 'CODEC-13', 'SES-7'], 'a KEY update with codec seq 2^32-1, then seq 0 and 1 (the wrap), each acknowledged', ['seq-wrap']);

const lossy: Probe<HelperTarget> = {
  name: 'lossy',
  ids: ['CODEC-24', 'CODEC-25', 'SES-7'],
  title: 'lossy (JPEG/WebP) tiles, then their lossless refresh, each acknowledged (a helper without an image decoder: n/a)',
  run: (ctx) =>
    withHelper(ctx, async (s) => {
      const v = codecVector('lossy-then-refresh');
      const failed = await sendVectors(s, [v]);
      if (!failed) return pass(`${v.updates.length} updates acknowledged; ${ACKS_ONLY}`);
      // CODEC-38: lossy tiles are refused by a helper with no image codec; that helper does not claim them.
      if (s.peerClose?.reason === CloseReason.ProtocolError) return notApplicable(`the helper refused lossy tiles (${s.peerClose.message ?? 'protocol-error'}); a helper without an image decoder may (CODEC-38)`);
      return failed;
    }),
};

const resize: Probe<HelperTarget> = {
  name: 'resize',
  ids: ['SES-5', 'SES-6', 'CODEC-8', 'SES-7'],
  title: 'KEY updates of new sizes, with and without a screen message first, and a delta at the new size, each acknowledged',
  run: (ctx) =>
    withHelper(ctx, async (s) => {
      const first = await sendAcked(s, onePixel(), 'a 1x1 KEY update');
      if (first) return first;
      const spp = codecVector('solid-palette-pixels');
      s.screen(spp.width, spp.height);
      const withScreen = await sendAcked(s, spp.updates[0]!.bytes, `a ${spp.width}x${spp.height} KEY update after screen`);
      if (withScreen) return withScreen;
      const scroll = codecVector('scroll-copy');
      for (let i = 0; i < 2; i++) {
        const failed = await sendAcked(s, scroll.updates[i]!.bytes, i === 0 ? `a ${scroll.width}x${scroll.height} KEY update without screen` : 'the next update at that size');
        if (failed) return failed;
      }
      return pass(`1x1, ${spp.width}x${spp.height} (screen first), ${scroll.width}x${scroll.height} (no screen): all acknowledged; ${ACKS_ONLY}`);
    }),
};

/** Screens for the encoder probe: stripes of few colours (text-like), a gradient, noise, and a band of one colour. */
function encoderScreens(width: number, height: number): Framebuffer[] {
  const base = createFramebuffer(width, height);
  let seed = 0x2545f491;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const d = base.data;
      if (y < 64) {
        const on = ((x >> 2) + (y >> 3)) % 3 === 0;
        d[i] = on ? 20 : 240;
        d[i + 1] = on ? 20 : 240;
        d[i + 2] = on ? 30 : 235;
      } else if (y < 128) {
        d[i] = x & 255;
        d[i + 1] = (y * 2) & 255;
        d[i + 2] = (x + y) & 255;
      } else if (y < 192) {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        d[i] = seed & 255;
        d[i + 1] = (seed >>> 8) & 255;
        d[i + 2] = (seed >>> 16) & 255;
      } else {
        d[i] = 30;
        d[i + 1] = 90;
        d[i + 2] = 160;
      }
      d[i + 3] = 255;
    }
  }
  // The same picture scrolled up by 16 rows (copies), then one small change, then the first picture again.
  const scrolled = createFramebuffer(width, height);
  scrolled.data.set(base.data.subarray(16 * width * 4));
  scrolled.data.set(base.data.subarray(0, 16 * width * 4), (height - 16) * width * 4);
  const changed = createFramebuffer(width, height);
  changed.data.set(scrolled.data);
  for (let y = 70; y < 90; y++) changed.data.fill(200, (y * width + 10) * 4, (y * width + 60) * 4);
  return [base, scrolled, changed, base];
}

const encoder: Probe<HelperTarget> = {
  name: 'encoder',
  ids: ['CODEC-10', 'CODEC-30', 'CODEC-31', 'SES-7'],
  title: "a session from tessera's own TileEncoder (text-like stripes, a gradient, noise, a scroll, tiles seen before), each update acknowledged",
  run: (ctx) =>
    withHelper(ctx, async (s) => {
      const width = 256;
      const height = 256;
      const enc = new TileEncoder({ width, height, deflate: new ZlibDeflateBackend() });
      let sent = 0;
      const used = new Map<string, number>();
      for (const frame of encoderScreens(width, height)) {
        const update = enc.encode(frame);
        if (!update) continue;
        for (const kind of ['solid', 'palette', 'indexed', 'pixels', 'prev', 'cache', 'copies'] as const) {
          const n = (update.stats as unknown as Record<string, number | undefined>)[kind] ?? 0;
          if (n > 0) used.set(kind, (used.get(kind) ?? 0) + n);
        }
        const failed = await sendAcked(s, update.bytes.slice(), `encoded update ${sent + 1}`);
        if (failed) return failed;
        sent++;
      }
      const kinds = [...used].map(([k, n]) => `${k} ${n}`).join(', ');
      return pass(`${sent} encoded updates (${kinds}) acknowledged; ${ACKS_ONLY}`);
    }),
};

const inFlight: Probe<HelperTarget> = {
  name: 'in-flight',
  ids: ['SES-7', 'SES-10'],
  title: `${MAX_IN_FLIGHT} updates sent at once (the most a host may have in flight): acknowledged up to the last`,
  run: (ctx) =>
    withHelper(ctx, async (s) => {
      let last = 0;
      for (let i = 0; i < MAX_IN_FLIGHT; i++) last = s.send(onePixel());
      await s.waitFor(() => s.lastAck >= last || !s.open, ANSWER_MS);
      if (s.oddAck) return fail(`the helper sent ack {seq: ${s.oddAck.seq}, decoded: ${s.oddAck.decoded}}; version 1 sends decoded equal to seq (SES-7)`);
      if (s.lastAck >= last) return pass(`${s.acks.length} acks covered ${last} updates`);
      if (!s.open) return fail(`${ended(s)} with ${MAX_IN_FLIGHT} updates in flight, which a host may send`);
      return fail(`after ${MAX_IN_FLIGHT} updates the last ack was for display seq ${s.lastAck} within ${ANSWER_MS / 1000} s`);
    }),
};

const refuseDisplaySeq: Probe<HelperTarget> = {
  name: 'refuse-display-seq',
  ids: ['SES-3', 'SES-20'],
  title: 'a display payload whose seq skips one (3 after 1) is refused: close {reason: protocol-error}, no ack',
  run: (ctx) =>
    withHelper(ctx, async (s) => {
      const first = await sendAcked(s, onePixel(), 'a 1x1 KEY update');
      if (first) return first;
      s.sendRawDisplay(displayPayload(s.session.sentSeq + 2, onePixel()));
      return expectRefusal(s, undefined, 'a display seq that skips one');
    }),
};

const refuseShortDisplay: Probe<HelperTarget> = {
  name: 'refuse-short-display',
  ids: ['SES-4', 'SES-20'],
  title: 'a display payload of 3 bytes is refused: close {reason: protocol-error}',
  run: (ctx) =>
    withHelper(ctx, async (s) => {
      const first = await sendAcked(s, onePixel(), 'a 1x1 KEY update');
      if (first) return first;
      s.sendRawDisplay(new Uint8Array([0, 0, 0]));
      return expectRefusal(s, undefined, 'a 3-byte display payload');
    }),
};

function refuseHeader(name: string, ids: string[], title: string, edit: (bytes: Uint8Array) => void, what: string): Probe<HelperTarget> {
  return {
    name,
    ids: [...ids, 'CODEC-37', 'SES-20'],
    title,
    run: (ctx) =>
      withHelper(ctx, async (s) => {
        const first = await sendAcked(s, onePixel(), 'a 1x1 KEY update');
        if (first) return first;
        const seq = s.send(onePixel(edit));
        return expectRefusal(s, seq, what);
      }),
  };
}

/** The helper probes, in the order they run; each takes one connection of the helper. */
export const HELPER_PROBES: readonly Probe<HelperTarget>[] = [
  records,
  copies,
  cache,
  lossy,
  resize,
  seqWrap,
  encoder,
  inFlight,
  rejectProbe('reject-med-range-start', ['CODEC-41'], 'a MED_RANGE tile whose first coded byte is not 0'),
  rejectProbe('reject-med-range-short', ['CODEC-42'], 'a MED_RANGE tile one coded byte short'),
  rejectProbe('reject-med-range-long', ['CODEC-42'], 'a MED_RANGE tile with a coded byte left over'),
  rejectProbe('reject-med-range-length', ['CODEC-40'], 'a MED_RANGE coded length past the raw pixels'),
  rejectProbe('reject-non-shortest-varint', ['CODEC-1'], 'a varuint not in its shortest form'),
  rejectProbe('reject-seq-skip', ['CODEC-9'], 'a non-KEY update whose codec seq skips one'),
  refuseHeader('refuse-version', ['CODEC-5'], 'an update of codec version 2 is refused: close {reason: protocol-error}, no ack', (b) => void (b[0] = 2), 'an update of version 2'),
  refuseHeader('refuse-flags', ['CODEC-4'], 'an update with a flag bit other than KEY set is refused: close {reason: protocol-error}, no ack', (b) => void (b[1] = b[1]! | 0x02), 'an update with flag bit 1 set'),
  refuseDisplaySeq,
  refuseShortDisplay,
];
