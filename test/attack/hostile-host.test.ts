/**
 * A hostile host cannot hurt a helper (issue #16): a scripted host runs the real handshake and then sends crafted
 * display updates to a real Helper running in a child process. For each attack the helper must end the session with
 * a TesseraError code (no crash) and its peak RSS (process.resourceUsage().maxRSS in the child) must stay under
 * 300 MB. Each attack's peak RSS is printed as a comment.
 *
 * Image bombs are in hostile-images.test.ts (split so each file stays well within the runner's time limit).
 */
import zlib from 'node:zlib';
import t from 'tap';
import { ErrorCode, MAX_UNDECODED_UPDATES } from '../../src/core/index.js';
import { buildUpdate, expectRefused, runAttack, sendAll, small, solidRecords, tileImage, LOSSY_JPEG, MAX_RSS_MIB } from './hostile-lib.js';











t.test('huge screens are refused by the default 8192x8192 budget', async (t) => {
  const { records } = solidRecords(64, 64, [1, 2, 3]);
  await expectRefused(t, '16384x16384 announced', { welcome: { width: 16384, height: 16384 } },
    sendAll(buildUpdate({ width: 16384, height: 16384, records, tileCount: 1 })), ErrorCode.LimitExceeded);
  await expectRefused(t, '65535x65535 announced', small,
    sendAll(buildUpdate({ width: 65535, height: 65535, records, tileCount: 1 })), ErrorCode.LimitExceeded);
});

t.test('a solid key frame at the largest screen plus overlapping copies holds one picture', async (t) => {
  // The default 8192x8192 picture alone is 256 MiB; the 300 MB budget is checked with the limit configured down to
  // 5120x5120 (100 MiB), where a second, snapshot-sized picture would show.
  const size = 5120;
  const options = { welcome: { width: size, height: size }, helper: { maxWidth: size, maxHeight: size } };
  const { records, tiles } = solidRecords(size, size, [40, 80, 120]);
  const key = buildUpdate({ width: size, height: size, records, tileCount: tiles });
  // A scroll up whose destination another copy writes first: the pair interferes (the old decoder snapshotted the
  // picture for it) but has an order that applies it in place.
  const pair = [[0, 128, 0, 0, size, 64], [0, 64, 0, 0, size, size - 64]];
  const deltas = [1, 2, 3].map((seq) => buildUpdate({ key: false, seq, width: size, height: size, copies: pair }));
  // Two copies that each overwrite the other's source: a cycle, an error since spec/codec.md §3 forbids it.
  const cycle = buildUpdate({ key: false, seq: 4, width: size, height: size, copies: [[0, 0, 0, 64, size, size - 64], [0, 64, 0, 0, size, size - 64]] });
  const r = await expectRefused(t, `solid ${size}x${size} key frame, 3 updates of overlapping copies, then a cycle`, options, sendAll(key, ...deltas, cycle), ErrorCode.InvalidField);
  t.equal(r.frames, 4, 'the key frame and the three copy updates were decoded');
});

t.test('an update that expands past four screens is refused before anything is allocated', async (t) => {
  const { records, tiles } = solidRecords(1024, 1024, [1, 2, 3]);
  const key = buildUpdate({ width: 1024, height: 1024, records, tileCount: tiles });
  const copies = Array.from({ length: 4096 }, () => [0, 0, 0, 0, 1024, 1024]);
  await expectRefused(t, '4096 full-screen copies', { welcome: { width: 1024, height: 1024 } },
    sendAll(key, buildUpdate({ key: false, seq: 1, width: 1024, height: 1024, copies })), ErrorCode.LimitExceeded);
});

/** A raw deflate stream of about `gib` GiB of zeros in about 1 MB: one 64 MiB sync-flushed part, repeated. */
function deflateBomb(gib: number): Uint8Array {
  const part = zlib.deflateRawSync(new Uint8Array(64 * 1024 * 1024), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const copies = gib * 16;
  const out = new Uint8Array(part.length * copies);
  for (let i = 0; i < copies; i++) out.set(part, i * part.length);
  return out;
}

t.test('deflate bombs stop at the declared length', async (t) => {
  const body = deflateBomb(2);
  t.comment(`deflate bomb: ${body.length} bytes inflating to 2 GiB`);
  const size = 4096;
  const tiles = (size / 64) ** 2;
  await expectRefused(t, 'deflate bomb declaring 64 KiB', { welcome: { width: size, height: size } },
    sendAll(buildUpdate({ width: size, height: size, body, tileCount: tiles, rawLength: 65536 })), ErrorCode.LimitExceeded);
  await expectRefused(t, 'deflate bomb declaring the most a 4096x4096 key frame may hold', { welcome: { width: size, height: size } },
    sendAll(buildUpdate({ width: size, height: size, body, tileCount: tiles, rawLength: tiles * 17420 })), ErrorCode.LimitExceeded);
});

t.test('a flood of updates that ignores acks', async (t) => {
  // Every update carries a real 64x64 JPEG padded with 60 comment segments (about 4 MB), so decoding each takes a
  // trip through sharp while the next ones keep arriving; the host never waits for an ack.
  const jpeg = await tileImage('jpeg');
  const comment = new Uint8Array(4 + 65533);
  comment.set([0xff, 0xfe, 0xff, 0xff]);
  const padded = new Uint8Array(jpeg.length + 60 * comment.length);
  padded.set(jpeg.subarray(0, 2));
  for (let i = 0; i < 60; i++) padded.set(comment, 2 + i * comment.length);
  padded.set(jpeg.subarray(2), 2 + 60 * comment.length);
  const { records } = solidRecords(64, 64, [9, 9, 9]);
  const maxBytes = 256 * 1024 * 1024;
  let sent = 0;
  const r = await runAttack({ ...small, deadlineMs: 20_000 }, async (h) => {
    if (!(await h.send(buildUpdate({ width: 64, height: 64, records, tileCount: 1 })))) return;
    for (let seq = 1; sent < maxBytes; seq++) {
      const u = buildUpdate({ key: false, seq, width: 64, height: 64, lossy: [{ tile: 0, format: LOSSY_JPEG, data: padded }] });
      if (!(await h.send(u))) return;
      sent += u.length;
    }
    h.close();
  });
  const name = 'flood of 4 MB updates, acks ignored';
  t.comment(`${name}: host sent ${Math.round(sent / 1048576)} MiB and saw ${r.acks} acks; helper decoded ${r.frames} updates, peak RSS ${r.maxRssMiB} MiB, closed ${r.closed} with ${r.code ?? 'no error'}${r.message ? ` (${r.message})` : ''}`);
  t.equal(r.exitCode, 0, `${name}: the helper process did not crash${r.exitCode === 0 ? '' : `: ${r.stderr}`}`);
  // A helper holds at most MAX_UNDECODED_UPDATES updates it has not acknowledged (spec/session.md §6.3): either it
  // kept up (when the host closed, at most that many were still waiting, and were dropped with the session), or the
  // host outran it and the session ended with LIMIT_EXCEEDED.
  const { updatesSent } = r;
  const keptUp = r.code === undefined && r.frames >= updatesSent - MAX_UNDECODED_UPDATES;
  t.ok(r.code === ErrorCode.LimitExceeded || keptUp, `${name}: the helper decoded ${r.frames} of ${updatesSent} updates, or ended with LIMIT_EXCEEDED (${r.code ?? 'no error'})`);
  t.ok(r.maxRssMiB < MAX_RSS_MIB, `${name}: peak RSS ${r.maxRssMiB} MiB is under ${MAX_RSS_MIB} MB`);
});
