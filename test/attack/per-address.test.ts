/**
 * One address cannot hold every handshake slot: past maxHandshakesPerAddress (default 8) its further connections are
 * dropped at once with an audit entry, while a helper from another address still gets in.
 */
import t from 'tap';
import { Helper, createDuplexPair } from '../../src/index.js';
import { auditFor, closed, expectFrames, rawSocket, sleep, startHost, waitFor, type RawSocket } from './lib.js';

t.test('idle connections from one address are capped per address; another address is served', async (t) => {
  const live = await startHost({ handshakeTimeoutMs: 5_000 });
  t.teardown(() => live.close());
  const sockets: RawSocket[] = [];
  for (let i = 0; i < 20; i++) sockets.push(await rawSocket(live.port));
  await sleep(200);
  const refused = sockets.filter((s) => auditFor(live.audit, s).some((e) => e.decision === 'refused' && e.code === 'TOO_MANY_HANDSHAKES'));
  t.equal(refused.length, 12, 'beyond 8 handshakes from 127.0.0.1 each connection is refused at once and audited');
  await Promise.all(refused.map(closed));

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
