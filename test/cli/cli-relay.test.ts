/**
 * tessera relay, tessera host --port none --relay, tessera connect through it, tessera inspect; then the relay
 * process killed (SIGKILL) mid-session: the helper ends with RELAY_LOST and the host reports the relay lost.
 */
import t from 'tap';
import { selfSignedCert } from '../helpers/tls.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli, CliProcess } from '../helpers/cli.js';
import { natsSkip, startNatsServer } from '../helpers/nats.js';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-relay-cli-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

t.test('a host with no open port, reached through a relay process; the relay killed ends the session clearly', async (t) => {
  const relay = new CliProcess(['relay', '--port', '0', '--bind', '127.0.0.1', '--json']);
  t.teardown(() => relay.stop());
  const listening = await relay.waitFor('listening');
  t.match(listening, { port: Number, url: /^ws:\/\/127\.0\.0\.1:\d+$/, open: true, tls: false, web: true });

  // Two helper processes use the invitation below (each with its own holder key): it admits two (spec/handshake.md §2.5).
  const host = new CliProcess(['host', '--port', 'none', '--relay', String(listening.url), '--json', '--accept', 'auto', '--mode', 'view', '--uses', '2']);
  t.teardown(() => host.stop());
  const hostListening = await host.waitFor('listening');
  t.equal(hostListening.port, null, 'no listening socket');
  t.equal(hostListening.relay, listening.url);
  const registered = await host.waitFor('relay-registered');
  t.match(registered, { relay: listening.url });
  // The browser link: the relay's own origin serves the viewer page, and the invitation rides only in the fragment.
  const viewer = new URL(String(registered.viewer));
  t.equal(viewer.origin, String(listening.url).replace(/^ws:/, 'http:'), 'the viewer link is on the relay');
  t.equal(decodeURIComponent(viewer.hash.slice(1)), hostListening.url, 'its fragment is the invitation');
  t.equal(viewer.search, '', 'nothing in the query');
  const page = await fetch(new URL(viewer.pathname, viewer.origin));
  t.equal(page.status, 200, 'the relay serves the viewer page by default');
  t.match(await page.text(), /<canvas/i);
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

t.test('a relay with --hosts refuses a host that is not on it, and says why on both sides', async (t) => {
  const hosts = join(tmp, 'hosts.json');
  writeFileSync(hosts, JSON.stringify([randomBytes(32).toString('base64')]));
  const relay = new CliProcess(['relay', '--port', '0', '--bind', '127.0.0.1', '--hosts', hosts, '--json']);
  t.teardown(() => relay.stop());
  const listening = await relay.waitFor('listening');
  t.match(listening, { open: false, hosts: 1 });
  const host = new CliProcess(['host', '--port', 'none', '--relay', String(listening.url), '--json', '--accept', 'auto']);
  t.teardown(() => host.stop());
  t.match(await host.waitFor('relay-lost'), { code: 'TESSERA_ERR_RELAY_REFUSED', refusal: 'HOST_NOT_ALLOWED', retryInMs: Number });
  t.match(await relay.waitFor('audit', (e) => e.action === 'register-refused'), { reason: 'HOST_NOT_ALLOWED', host: /^[0-9a-f]{12}$/ });
  writeFileSync(join(tmp, 'bad.json'), '{"not":"a list"}');
  const bad = await runCli(['relay', '--port', '0', '--hosts', join(tmp, 'bad.json')]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /must hold a JSON list/);
});

t.test('offers through a cluster: host at relay A, tessera offer --relay B is redirected to A and the host user is asked', { skip: natsSkip() }, async (t) => {
  const nats = await startNatsServer();
  t.teardown(() => nats.stop());
  const refused = await runCli(['relay', '--port', '0', '--nats', 'nats://user:secret@127.0.0.1:4222']);
  t.equal(refused.code, 2, 'credentials in argv are refused');
  t.match(refused.stderr, /TESSERA_NATS_URL/);
  t.notMatch(refused.stderr, /secret/);

  const startRelayCli = async (): Promise<{ proc: CliProcess; url: string }> => {
    // The public URL names the port, so pick a free one first.
    const probe = new CliProcess(['relay', '--port', '0', '--bind', '127.0.0.1', '--json']);
    const port = Number((await probe.waitFor('listening')).port);
    await probe.stop();
    const url = `ws://127.0.0.1:${port}`;
    const proc = new CliProcess(['relay', '--port', String(port), '--bind', '127.0.0.1', '--json'], { env: { ...process.env, TESSERA_NATS_URL: nats.url } });
    t.teardown(() => proc.stop());
    t.match(await proc.waitFor('listening'), { cluster: url });
    return { proc, url };
  };
  const A = await startRelayCli();
  const B = await startRelayCli();

  const id = join(tmp, 'offer-id.json');
  const k = await runCli(['keygen', '--out', id, '--json']);
  const policy = join(tmp, 'offer-policy.json');
  writeFileSync(policy, JSON.stringify({ offer: { enabled: true, permit: 'control', helpers: ['user:alice'] } }));
  const helpers = join(tmp, 'offer-helpers.json');
  writeFileSync(helpers, JSON.stringify({ users: { alice: [String(k.events[0]!.publicKey)] } }));
  const host = new CliProcess(['host', '--port', 'none', '--relay', A.url, '--policy', policy, '--helpers', helpers, '--json', '--accept', 'auto']);
  t.teardown(() => host.stop());
  const registered = await host.waitFor('relay-registered');
  // Relay B hears of the standing registration within a snapshot or the add; try until it redirects (bounded).
  let r: Awaited<ReturnType<typeof runCli>> | undefined;
  for (let i = 0; i < 20; i++) {
    r = await runCli(['offer', '--relay', B.url, '--identity', id, '--host-key', String(registered.hostKey), '--frames', '1', '--json']);
    if (r.code === 0) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  t.equal(r!.code, 0, r!.stderr);
  t.match(r!.events.find((e) => e.event === 'connected'), { path: 'relay' });
  t.match(await B.proc.waitFor('audit', (e) => e.action === 'redirected'), { reason: 'ELSEWHERE' });
  t.match(await A.proc.waitFor('audit', (e) => e.action === 'paired'), { host: /^[0-9a-f]{12}$/ });
  t.match(await host.waitFor('helper-joined'), {});
});

const selfSigned = (): { cert: string; key: string } | undefined => selfSignedCert(tmp);

t.test('over TLS: the relay speaks wss:// and a host and a helper that trust its certificate pair through it', async (t) => {
  const pem = selfSigned();
  if (!pem) {
    t.comment('skip: openssl is not available');
    return;
  }
  const relay = new CliProcess(['relay', '--port', '0', '--bind', '127.0.0.1', '--tls-cert', pem.cert, '--tls-key', pem.key, '--json']);
  t.teardown(() => relay.stop());
  const listening = await relay.waitFor('listening');
  t.match(listening, { tls: true, url: /^wss:\/\/127\.0\.0\.1:\d+$/ });
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: pem.cert };
  const host = new CliProcess(['host', '--port', 'none', '--relay', String(listening.url), '--json', '--accept', 'auto', '--mode', 'view'], { env });
  t.teardown(() => host.stop());
  const hostListening = await host.waitFor('listening');
  await host.waitFor('relay-registered');
  const r = await runCli(['connect', String(hostListening.url), '--frames', '1', '--json'], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.events.find((e) => e.event === 'connected'), { path: 'relay' });
  // A helper that does not trust the certificate cannot reach the relay.
  const untrusted = await runCli(['connect', String(hostListening.url), '--frames', '1', '--json', '--timeout', '5']);
  t.equal(untrusted.code, 4, untrusted.stderr);
});

t.test('tessera relay refuses a bad host list and a lone TLS option', async (t) => {
  const r = await runCli(['relay', '--port', '0', '--tls-cert', 'x.pem']);
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, /--tls-cert and --tls-key go together/);
  const h = await runCli(['host', '--port', 'none']);
  t.equal(h.code, 2);
  t.match(h.stderr, /--port none needs --relay/);
});
