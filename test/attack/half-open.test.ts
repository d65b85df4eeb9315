/**
 * Resource exhaustion at a live host over real TCP on 127.0.0.1: many half-open connections (connect, send
 * nothing) and slow senders (one byte per second). The first-byte deadline, the handshake deadline (a short
 * handshakeTimeoutMs here) and the caps on handshakes in progress (a newcomer evicts the oldest connection that has
 * sent nothing; spec/handshake.md §8) bound what they hold; each is dropped with an audit entry; the
 * connected helper keeps getting frames; once they are gone a new helper connects; sockets and heap return to the
 * baseline. ATTACK_SOCKETS sets the number of half-open sockets (default 300 here; `npm run soak` uses 1,000).
 */
import t from 'tap';
import { auditFor, clientHello, closed, count, expectFrames, legitHelper, measure, rawSocket, settleHandles, sleep, startHost, waitFor, type RawSocket } from './lib.js';

const SOCKETS = Number(process.env['ATTACK_SOCKETS'] ?? 300);

t.test(`${SOCKETS} half-open connections`, async (t) => {
  const live = await startHost({ handshakeTimeoutMs: 1_500 });
  t.teardown(() => live.close());
  const helper = await legitHelper(live);
  t.teardown(() => helper.close());
  await expectFrames(helper, 2);
  const base = measure();

  const sockets: RawSocket[] = [];
  for (let i = 0; i < SOCKETS; i += 100) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, SOCKETS - i) }, () => rawSocket(live.port).catch(() => undefined)))).filter((s): s is RawSocket => s !== undefined));
  }
  const peak = measure();
  t.comment(`${sockets.length} connected; handles at the peak ${JSON.stringify(peak.handles)}`);
  await expectFrames(helper, 2);
  t.pass('the connected helper keeps getting frames while the half-open sockets are held');

  await Promise.all(sockets.map(closed));
  t.pass(`the host dropped all ${sockets.length} half-open sockets`);
  await waitFor(() => sockets.every((s) => auditFor(live.audit, s).length > 0), 'audit entries', 5_000).catch(() => {});
  const entries = sockets.flatMap((s) => auditFor(live.audit, s));
  const byCode = count(entries, (e) => `${e.decision}:${e.code}`);
  t.comment(`audit: ${JSON.stringify(byCode)}`);
  t.equal(sockets.filter((s) => auditFor(live.audit, s).length === 0).length, 0, 'every half-open socket has an audit entry');
  t.ok(entries.every((e) => (e.decision === 'timeout' && e.code === 'TESSERA_ERR_HANDSHAKE_TIMEOUT') || (e.decision === 'error' && e.code === 'TESSERA_ERR_LIMIT_EXCEEDED')), 'each timed out (sent nothing in time) or was evicted for a newer connection');
  t.ok((byCode['timeout:TESSERA_ERR_HANDSHAKE_TIMEOUT'] ?? 0) <= 64 + 8, 'at most maxHandshakes (64) waited for their deadline (and a few that arrived while others left)');
  t.equal(byCode['refused:TOO_MANY_HANDSHAKES'] ?? 0, 0, 'no newcomer was refused: silent connections make room');

  // The slots are free again: a new helper connects and is served.
  const second = await legitHelper(live);
  t.teardown(() => second.close());
  await expectFrames(second, 2);
  await expectFrames(helper, 2);
  t.pass('a new helper connects once the half-open sockets are gone');

  const after = await settleHandles(base);
  t.ok((after.handles['TCPSocketWrap'] ?? 0) <= (base.handles['TCPSocketWrap'] ?? 0) + 2 + 2, `sockets back to the baseline plus the new helper (${JSON.stringify(base.handles)} -> ${JSON.stringify(after.handles)})`);
  t.ok(after.heapUsedMiB - base.heapUsedMiB < 32, `heap ${base.heapUsedMiB} -> ${peak.heapUsedMiB} (peak) -> ${after.heapUsedMiB} MiB`);
  t.comment(`rss ${base.rssMiB} -> ${peak.rssMiB} (peak) -> ${after.rssMiB} MiB`);
});

t.test('slow senders (one byte per second) are dropped at the handshake deadline and free their slot', async (t) => {
  const live = await startHost({ handshakeTimeoutMs: 1_500, maxHandshakes: 2 });
  t.teardown(() => live.close());
  const helper = await legitHelper(live);
  t.teardown(() => helper.close());
  const { bytes: hello } = clientHello(live.invitation.invitation);

  const slow = await Promise.all([rawSocket(live.port), rawSocket(live.port)]);
  const sent = [0, 0];
  let stop = false;
  const drips = slow.map(async (s, i) => {
    while (!stop && !s.destroyed && sent[i]! < hello.length) {
      s.write(hello.subarray(sent[i]!, sent[i]! + 1));
      sent[i]!++;
      await sleep(1_000);
    }
  });
  t.teardown(() => {
    stop = true;
  });
  await sleep(200);
  // Both handshake slots are held by connections that are talking: a third connection is refused at once, with an
  // audit entry (only a silent connection is evicted for a newcomer).
  const third = await rawSocket(live.port);
  await closed(third);
  await waitFor(() => auditFor(live.audit, third).length > 0, 'audit of the third');
  t.same(auditFor(live.audit, third).map((e) => [e.decision, e.code]), [['refused', 'TOO_MANY_HANDSHAKES']], 'beyond maxHandshakes a connection is refused and audited');

  // Still sending, but the deadline counts from the start of the handshake: both are dropped.
  await Promise.all(slow.map(closed));
  stop = true;
  await Promise.all(drips);
  t.ok(sent.every((n) => n < hello.length), `dropped before their ClientHello was complete (${sent.join(', ')} of ${hello.length} bytes)`);
  for (const s of slow) t.same(auditFor(live.audit, s).map((e) => [e.decision, e.code]), [['timeout', 'TESSERA_ERR_HANDSHAKE_TIMEOUT']], 'a slow sender is audited as a handshake timeout');

  // The slots are free: a helper connects and gets frames; the first helper was served throughout.
  const second = await legitHelper(live);
  t.teardown(() => second.close());
  await expectFrames(second, 2);
  await expectFrames(helper, 2);
  t.pass('a new helper is served once the slow senders are gone');
});
