/**
 * One address cannot hold every handshake slot (spec/handshake.md §8): past maxHandshakesPerAddress (default 8) a new
 * connection from it evicts that address's oldest connection that has sent nothing, or, when all of them are talking,
 * is dropped at once with an audit entry; a helper from another address still gets in.
 */
import t from 'tap';
import { Helper, createDuplexPair } from '../../src/index.js';
import { auditFor, closed, expectFrames, rawSocket, sleep, startHost, waitFor, type RawSocket } from './lib.js';

t.test('idle connections from one address are capped per address; another address is served', async (t) => {
  const live = await startHost({ handshakeTimeoutMs: 5_000, firstByteTimeoutMs: 5_000 });
  t.teardown(() => live.close());
  const sockets: RawSocket[] = [];
  for (let i = 0; i < 20; i++) sockets.push(await rawSocket(live.port));
  await waitFor(() => sockets.slice(0, 12).every((s) => auditFor(live.audit, s).length > 0), 'the oldest twelve are audited', 5_000).catch(() => {});
  const evicted = sockets.filter((s) => auditFor(live.audit, s).some((e) => e.decision === 'error' && e.code === 'TESSERA_ERR_LIMIT_EXCEEDED'));
  t.same(evicted.map((s) => sockets.indexOf(s)), [...Array(12).keys()], 'beyond 8 silent connections from 127.0.0.1, each newcomer evicts the oldest');
  t.equal(live.audit.filter((e) => e.code === 'TOO_MANY_HANDSHAKES').length, 0, 'no newcomer was refused');
  await Promise.all(evicted.map(closed));

  // A helper from another address is admitted while 127.0.0.1 still holds its eight slots.
  const [hostEnd, helperEnd] = createDuplexPair();
  const sessionP = live.host.attach(hostEnd, '192.0.2.7:40000');
  const helper = await Helper.attach(helperEnd, { handshake: { invitation: live.invitation.invitation } });
  t.teardown(() => helper.close());
  await sessionP;
  await expectFrames(helper, 2);
  t.pass('a helper from another address connects and gets frames');
  for (const s of sockets) s.destroy();
  await waitFor(() => live.host.sessions.length === 1, 'only the helper remains', 5_000);
});

t.test('connections that are talking are never evicted: past the per-address cap the newcomer is refused', async (t) => {
  const live = await startHost({ handshakeTimeoutMs: 5_000 });
  t.teardown(() => live.close());
  // Eight connections that each sent the first byte of a frame header: talking, not silent.
  const talking: RawSocket[] = [];
  for (let i = 0; i < 8; i++) {
    const s = await rawSocket(live.port);
    s.write(Uint8Array.of(0));
    talking.push(s);
  }
  await sleep(200);
  const ninth = await rawSocket(live.port);
  await closed(ninth);
  await waitFor(() => auditFor(live.audit, ninth).length > 0, 'audit of the ninth');
  t.same(auditFor(live.audit, ninth).map((e) => [e.decision, e.code]), [['refused', 'TOO_MANY_HANDSHAKES']], 'the ninth is refused');
  t.ok(talking.every((s) => !s.destroyed && auditFor(live.audit, s).length === 0), 'the eight talking connections are kept');
  for (const s of talking) s.destroy();
});
