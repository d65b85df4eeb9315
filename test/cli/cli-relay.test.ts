/**
 * tessera relay, tessera host --port none --relay, tessera connect through it, tessera inspect; then the relay
 * process killed (SIGKILL) mid-session: the helper ends with RELAY_LOST and the host reports the relay lost.
 */
import t from 'tap';
import { runCli, CliProcess } from '../helpers/cli.js';

t.test('a host with no open port, reached through a relay process; the relay killed ends the session clearly', async (t) => {
  const relay = new CliProcess(['relay', '--port', '0', '--bind', '127.0.0.1', '--json']);
  t.teardown(() => relay.stop());
  const listening = await relay.waitFor('listening');
  t.match(listening, { port: Number, url: /^ws:\/\/127\.0\.0\.1:\d+$/, open: true, tls: false });

  const host = new CliProcess(['host', '--port', 'none', '--relay', String(listening.url), '--json', '--accept', 'auto', '--mode', 'view']);
  t.teardown(() => host.stop());
  const hostListening = await host.waitFor('listening');
  t.equal(hostListening.port, null, 'no listening socket');
  t.equal(hostListening.relay, listening.url);
  t.match(await host.waitFor('relay-registered'), { relay: listening.url });
  await relay.waitFor('audit', (e) => e.action === 'registered');
  t.match(relay.stderr, /this relay is open/, 'an open relay says so at start');
  const url = String(hostListening.url);

  const inspect = await runCli(['inspect', url, '--json']);
  t.equal(inspect.code, 0, inspect.stderr);
  t.match(inspect.events.find((e) => e.event === 'invitation'), { addresses: [], relay: listening.url, rendezvous: /^[0-9a-f]{12}$/ });
  const human = await runCli(['inspect', url]);
  t.match(human.stdout, /relay: +ws:\/\/127\.0\.0\.1:\d+ \(rendezvous [0-9a-f]{12}\)/);

  const one = await runCli(['connect', url, '--frames', '1', '--json']);
  t.equal(one.code, 0, one.stderr);
  t.match(one.events.find((e) => e.event === 'connected'), { path: 'relay', mode: 'view' });
  t.match(await relay.waitFor('audit', (e) => e.action === 'paired'), { host: /^[0-9a-f]{12}$/, id: /^[0-9a-f]{12}$/ });

  const helper = new CliProcess(['connect', url, '--duration', '120', '--json']);
  t.teardown(() => helper.stop());
  t.match(await helper.waitFor('connected'), { path: 'relay' });
  relay.child.kill('SIGKILL');
  const closed = await helper.waitFor('closed');
  t.match(closed, { reason: 'connection-lost', code: 'TESSERA_ERR_RELAY_LOST' });
  t.equal(await helper.exited, 0);
  t.match(await host.waitFor('relay-lost'), { code: 'TESSERA_ERR_RELAY_LOST', relay: listening.url });
});

t.test('tessera relay refuses a bad host list and a lone TLS option', async (t) => {
  const r = await runCli(['relay', '--port', '0', '--tls-cert', 'x.pem']);
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, /--tls-cert and --tls-key go together/);
  const h = await runCli(['host', '--port', 'none']);
  t.equal(h.code, 2);
  t.match(h.stderr, /--port none needs --relay/);
});
