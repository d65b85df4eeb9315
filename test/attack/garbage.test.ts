/**
 * Hostile bytes at a live host over real TCP on 127.0.0.1: random bytes, oversized length fields, and a real
 * handshake cut at every offset (closed, or stalled until the handshake deadline). Each bad peer is dropped with an
 * audit entry naming a tessera error code; a legitimate helper keeps getting frames throughout; the host's heap
 * and sockets stay bounded. Seeded (FUZZ_SEED); bounded loops.
 */
import t from 'tap';
import { isErrorCode } from '../../src/core/index.js';
import { Refusal, WIRE_REFUSALS } from '../../src/handshake/refusal.js';
import { Prng, fuzzSeed } from '../helpers/prng.js';
import { auditFor, clientHello, type RawSocket, closed, count, expectFrames, helloThenAuth, legitHelper, measure, rawSocket, settleHandles, startHost, waitFor } from './lib.js';

const SEED = fuzzSeed();

/** Sends `bytes` (in a few random pieces), half-closes, and waits until the host has dropped the socket. */
async function sendAndClose(port: number, bytes: Uint8Array, rng: Prng, end = true): Promise<RawSocket> {
  const s = await rawSocket(port);
  let at = 0;
  while (at < bytes.length) {
    const n = rng.range(1, Math.max(1, bytes.length - at));
    s.write(bytes.subarray(at, at + n));
    at += n;
  }
  if (end) s.end();
  await closed(s);
  return s;
}

t.test(`random bytes, oversized lengths and truncated handshakes (seed ${SEED})`, async (t) => {
  const live = await startHost({ handshakeTimeoutMs: 1_000 });
  t.teardown(() => live.close());
  const helper = await legitHelper(live);
  t.teardown(() => helper.close());
  await expectFrames(helper, 2);
  const base = measure();
  const rng = new Prng(SEED);
  const dropped: RawSocket[] = [];
  // Regression: the eleventh concurrent handshake used to print Node's "possible EventTarget memory leak" warning.
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));

  // Random bytes: 60 connections, 1..4096 bytes each, 10 at a time; half of them well framed (a frame header with a
  // length under the cap, then random bytes), so they reach the handshake decoders instead of the length check.
  for (let batch = 0; batch < 6; batch++) {
    dropped.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => {
      if (i % 2 === 0) return sendAndClose(live.port, rng.bytes(rng.range(1, 4096)), rng);
      const body = rng.bytes(rng.range(1, 300));
      if (i % 4 === 1) body[0] = 0; // the handshake channel
      const n = body.length;
      const framed = new Uint8Array(4 + n);
      framed.set([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
      framed.set(body, 4);
      return sendAndClose(live.port, framed, rng);
    }))));
  }
  await expectFrames(helper, 2);
  t.pass('60 random-byte peers dropped; the legitimate helper still gets frames');

  // Oversized lengths: before auth the cap is 8 KiB; announce more, up to 4 GiB, with and without a body.
  const header = (n: number, channel = 0) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, channel);
  for (const n of [8 * 1024 + 1, 16 * 1024 * 1024, 0x7fffffff, 0xffffffff]) {
    dropped.push(await sendAndClose(live.port, header(n), rng, false));
    const body = new Uint8Array(8200);
    body.set(header(n));
    dropped.push(await sendAndClose(live.port, body, rng, false));
  }
  // A real ClientHello, then a frame announcing 16 MiB + 1 on the handshake channel.
  const { bytes: hello } = clientHello(live.invitation.invitation);
  const withHuge = new Uint8Array(hello.length + 5);
  withHuge.set(hello);
  withHuge.set(header(16 * 1024 * 1024 + 1), hello.length);
  dropped.push(await sendAndClose(live.port, withHuge, rng, false));
  t.pass('oversized length fields are refused without waiting for the body');

  // A ClientHello of another version (the byte after the type): spec/handshake.md §3.1 answers Refusal VERSION_MISMATCH,
  // whatever follows. Random framed bytes hit this too, now and then (FUZZ_SEED=696577061 does).
  const otherVersion = hello.slice();
  otherVersion[5 + 1] = 2;
  const versionPeer = await sendAndClose(live.port, otherVersion, rng, false);
  dropped.push(versionPeer);

  // The real ClientHello cut at every offset, then closed.
  for (let cut = 0; cut < hello.length; cut++) dropped.push(await sendAndClose(live.port, hello.subarray(0, cut), rng));
  // ... and every offset again, stalled: the host drops each at its handshake deadline.
  const stalled = await Promise.all(Array.from({ length: hello.length }, async (_, cut) => {
    const s = await rawSocket(live.port);
    s.write(hello.subarray(0, cut));
    return s;
  }));
  await Promise.all(stalled.map(closed));
  dropped.push(...stalled);
  // The real Auth (sent after a real ServerHello) cut at 8 offsets, then closed.
  for (let i = 0; i < 8; i++) {
    const { socket, auth } = await helloThenAuth(live.port, live.invitation.invitation);
    socket.end(auth.subarray(0, Math.floor((auth.length * i) / 8)));
    await closed(socket);
    dropped.push(socket);
  }
  await expectFrames(helper, 2);
  t.pass(`the ClientHello (${hello.length} bytes) cut at every offset, closed and stalled`);

  // Every bad peer was dropped with an audit entry carrying a tessera error code.
  await waitFor(() => dropped.every((s) => auditFor(live.audit, s).length > 0), 'an audit entry for every dropped peer', 5_000).catch(() => {});
  const missing = dropped.filter((s) => auditFor(live.audit, s).length === 0);
  t.equal(missing.length, 0, `every one of ${dropped.length} bad peers has an audit entry`);
  const entries = dropped.flatMap((s) => auditFor(live.audit, s));
  // The audit vocabulary (src/handshake/audit.ts): errors and timeouts carry a tessera error code; refusals carry a
  // refusal the host may send (spec/handshake.md §6) or TOO_MANY_HANDSHAKES (§8), never an error code.
  const hostRefusals = new Set<string>([...Object.entries(Refusal)].filter(([, n]) => WIRE_REFUSALS.has(n)).map(([k]) => k));
  const wellCoded = (e: (typeof entries)[number]): boolean =>
    e.code !== null &&
    (e.decision === 'refused' ? hostRefusals.has(e.code) || e.code === 'TOO_MANY_HANDSHAKES' : (e.decision === 'error' || e.decision === 'timeout') && isErrorCode(e.code));
  const badlyCoded = entries.filter((e) => !wellCoded(e));
  t.same(badlyCoded, [], 'each entry is an error or timeout with a tessera error code, or a refusal with a refusal code');
  t.ok(auditFor(live.audit, versionPeer).some((e) => e.decision === 'refused' && e.code === 'VERSION_MISMATCH'), 'a ClientHello of version 2 is refused as VERSION_MISMATCH');
  t.ok(entries.some((e) => e.code === 'TESSERA_ERR_FRAME_TOO_LARGE'), 'oversized lengths are audited as FRAME_TOO_LARGE');
  t.ok(entries.some((e) => e.decision === 'timeout' && e.code === 'TESSERA_ERR_HANDSHAKE_TIMEOUT'), 'stalled handshakes are audited as timeouts');
  t.ok(entries.some((e) => e.code === 'TESSERA_ERR_CLOSED'), 'cut handshakes are audited as CLOSED');
  t.comment(`audit codes: ${JSON.stringify(count(entries, (e) => `${e.decision}:${e.code}`))}`);
  t.notOk(live.audit.some((e) => e.decision === 'accepted' && e.peer !== helper.remote && dropped.some((s) => e.peer === `127.0.0.1:${s.clientPort}`)), 'no bad peer was accepted');

  // Bounded: no socket or timer left behind; the heap did not grow with the number of bad peers.
  const after = await settleHandles(base);
  t.ok((after.handles['TCPSocketWrap'] ?? 0) <= (base.handles['TCPSocketWrap'] ?? 0) + 2, `sockets back to the baseline (${JSON.stringify(base.handles)} -> ${JSON.stringify(after.handles)})`);
  t.ok(after.heapUsedMiB - base.heapUsedMiB < 32, `heap ${base.heapUsedMiB} -> ${after.heapUsedMiB} MiB`);
  t.equal(live.host.sessions.length, 1, 'only the legitimate helper holds a session');
  t.notOk(warnings.includes('MaxListenersExceededWarning'), 'no listener-leak warning with dozens of handshakes at once');
  await expectFrames(helper, 2);
  t.comment(`rss ${base.rssMiB} -> ${after.rssMiB} MiB, heap ${base.heapUsedMiB} -> ${after.heapUsedMiB} MiB`);
});
