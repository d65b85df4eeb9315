/**
 * Addresses and links that work (tessera host): the invitation lists addresses a helper elsewhere can reach (never
 * the bare host name), --advertise names come first, an invitation that names only loopback is warned about and not
 * emailed without --force, the email carries a browser link on the relay with the invitation in the fragment, and
 * --web serves over TLS when given a certificate and warns when it is plain HTTP on a non-loopback address.
 * Every connection stays on loopback: the wildcard binds are listened on, never dialled.
 */
import t from 'tap';
import { selfSignedCert } from '../helpers/tls.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIPv4 } from 'node:net';
import { get as httpsGet } from 'node:https';
import { simpleParser } from 'mailparser';
import { runCli, CliProcess } from '../helpers/cli.js';
import { startSmtp } from '../integration/email-smtp-server.js';
import { loadInvitation, isLoopback, relayViewerUrl } from '../../src/index.js';
import { parseAddress } from '../../src/handshake/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-links-cli-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** This machine's addresses, and whether it has an IPv4 address other machines could reach. */
const own = new Set(Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address.toLowerCase())));
const hasExternalV4 = [...own].some((a) => isIPv4(a) && !isLoopback(a) && !a.startsWith('169.254.'));

function host(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const p = new CliProcess(['host', '--port', '0', '--json', '--accept', 'auto', ...args], options);
  t.teardown(() => p.stop());
  return p;
}

const warnings = (p: CliProcess): string[] => p.events.filter((e) => e.event === 'warning').map((e) => String(e.code));

t.test('bound to 0.0.0.0: the invitation lists this machine\'s addresses, no loopback and no host name', async (t) => {
  const p = host(['--bind', '0.0.0.0']);
  const listening = await p.waitFor('listening');
  const addresses = listening.addresses as string[];
  const hosts = addresses.map((a) => parseAddress(a).host);
  t.ok(hosts.length >= 1 && hosts.length <= 8, addresses.join(', '));
  t.notOk(hosts.includes(hostname()), 'not the bare host name');
  t.ok(hosts.every((h) => own.has(h)), 'each is an address of this machine');
  t.same(loadInvitation(String(listening.url)).addresses.map((a) => a.host), hosts, 'the invitation holds exactly those');
  if (hasExternalV4) {
    t.notOk(hosts.some(isLoopback), 'no loopback address');
    t.notOk(warnings(p).includes('loopback-only'), 'no loopback warning');
  } else {
    t.comment('this machine has no non-loopback IPv4 address: only loopback can be listed');
    t.ok(warnings(p).includes('loopback-only'));
  }
});

t.test('--advertise puts the name first; a name that is not one is a usage error', async (t) => {
  const p = host(['--bind', '127.0.0.1', '--advertise', 'help.example.test', '--advertise', 'gw.example.test:4443']);
  const listening = await p.waitFor('listening');
  const port = Number(listening.port);
  t.same(listening.addresses, [`help.example.test:${port}`, 'gw.example.test:4443', `127.0.0.1:${port}`]);
  t.match(String(listening.url), new RegExp(`^tessera://help\\.example\\.test:${port}/#`), 'the link names the advertised host');
  t.notOk(warnings(p).includes('loopback-only'), 'an advertised name is not loopback: no warning');
  const bad = await runCli(['host', '--port', '0', '--advertise', 'not a name']);
  t.equal(bad.code, 2, bad.stderr);
  t.match(bad.stderr, /advertised address/);
  const noPort = await runCli(['host', '--port', 'none', '--relay', 'ws://127.0.0.1:9', '--advertise', 'help.example.test']);
  t.equal(noPort.code, 2);
  t.match(noPort.stderr, /--advertise .* needs a --port/);
});

t.test('only loopback: a warning (stderr and a JSON event), and --email refused without --force', async (t) => {
  const p = host([]);
  await p.waitFor('listening');
  const w = await p.waitFor('warning', (e) => e.code === 'loopback-only');
  t.match(w, { addresses: [/^127\.0\.0\.1:\d+$/], message: /loopback/ });
  t.ok(await p.waitForStderr(/warning: the invitation names only 127\.0\.0\.1:\d+.*loopback/), 'and on stderr');

  const smtp = await startSmtp();
  t.teardown(() => smtp.close());
  const refused = await runCli(['host', '--port', '0', '--email', 'helper@example.test', '--smtp', smtp.url, '--json']);
  t.equal(refused.code, 2, 'a usage error');
  t.match(refused.stderr, /not emailing an invitation that names only this machine's loopback address.*--force/);
  t.notOk(refused.events.some((e) => e.event === 'listening'), 'no invitation was issued');
  t.equal(smtp.messages.length, 0, 'nothing was sent');

  const forced = host(['--email', 'helper@example.test', '--smtp', smtp.url, '--force']);
  await forced.waitFor('emailed');
  t.equal(smtp.messages.length, 1, '--force sends it');
  const force = await runCli(['host', '--port', '0', '--force']);
  t.equal(force.code, 2, '--force alone is a usage error');
});

t.test('with --relay: no loopback warning, and the email leads with a browser link on the relay, the invitation in the fragment', async (t) => {
  const relay = new CliProcess(['relay', '--port', '0', '--bind', '127.0.0.1', '--json']);
  t.teardown(() => relay.stop());
  const relayUrl = String((await relay.waitFor('listening')).url);
  const smtp = await startSmtp();
  t.teardown(() => smtp.close());
  const p = host(['--relay', relayUrl, '--email', 'helper@example.test', '--smtp', smtp.url, '--method', 'mailto']);
  const listening = await p.waitFor('listening');
  await p.waitFor('emailed');
  t.notOk(warnings(p).includes('loopback-only'), 'the relay is reachable: no warning, no --force needed');
  const url = String(listening.url);
  const expected = relayViewerUrl(relayUrl, url);
  t.equal(listening.relayViewer, expected);
  t.match(expected, new RegExp(`^http://${new URL(relayUrl).host.replace(/\./g, '\\.')}/#tessera%3A`), 'ws:// gives http://, the invitation only after #');

  const mail = await simpleParser(smtp.messages.at(-1)!.raw);
  const text = mail.text ?? '';
  const links = text.match(/https?:\/\/\S+/g) ?? [];
  t.equal(links.length, 1, 'one browser link in the text');
  const link = new URL(links[0]!);
  t.equal(link.origin, new URL(relayUrl.replace(/^ws/, 'http')).origin, 'on the relay');
  t.equal(link.search, '', 'nothing in the query');
  t.notOk(link.pathname.includes('tessera'), 'nothing in the path');
  t.equal(decodeURIComponent(link.hash.slice(1)), url, 'the fragment is the invitation');
  t.equal(loadInvitation(decodeURIComponent(link.hash.slice(1))).ticketIdHex, listening.id, 'and it decodes to the same invitation');
  t.ok(text.indexOf(links[0]!) < text.indexOf('tessera connect'), 'the browser link comes before the command');
  t.match(text, /nothing to install/);
  t.ok(String(mail.html).includes(`href="${expected.replace(/&/g, '&amp;')}"`), 'the HTML body links it');
  t.equal(relayViewerUrl('wss://relay.example/base/', url), `https://relay.example/base/#${encodeURIComponent(url)}`, 'wss:// gives https://');
});

const selfSigned = (): { cert: string; key: string } | undefined => selfSignedCert(tmp);

t.test('--web with a certificate serves the viewer over https; plain http on 0.0.0.0 warns, on loopback not', async (t) => {
  const pem = selfSigned();
  if (!pem) {
    t.comment('skip the TLS part: openssl is not available');
  } else {
    const p = host(['--web', '0', '--tls-cert', pem.cert, '--tls-key', pem.key]);
    const listening = await p.waitFor('listening');
    const viewer = new URL(String(listening.viewer));
    t.equal(viewer.protocol, 'https:');
    t.equal(decodeURIComponent(viewer.hash.slice(1)), listening.url);
    const page = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      httpsGet({ host: '127.0.0.1', port: Number(viewer.port), path: '/', ca: readFileSync(pem.cert), headers: { host: viewer.host } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
    t.equal(page.status, 200, 'the page comes over TLS, with a certificate the client checked');
    t.match(page.body, /viewer\.js/);
    t.notOk(warnings(p).includes('web-plain-http'));
  }
  const noWeb = await runCli(['host', '--port', '0', '--tls-cert', 'c.pem', '--tls-key', 'k.pem']);
  t.equal(noWeb.code, 2);
  t.match(noWeb.stderr, /go with --web/);

  const plain = host(['--bind', '0.0.0.0', '--web', '0']);
  const listening = await plain.waitFor('listening');
  const w = await plain.waitFor('warning', (e) => e.code === 'web-plain-http');
  t.match(w.message, /plain HTTP.*change the page/);
  t.match(plain.stderr, /warning: the browser viewer is served over plain HTTP/);
  const viewerHost = new URL(String(listening.viewer)).hostname;
  if (hasExternalV4) t.notOk(isLoopback(viewerHost), `the viewer link names a reachable address (${viewerHost}), not 127.0.0.1`);
  t.ok(own.has(viewerHost), 'an address of this machine');

  const local = host(['--web', '0']);
  await local.waitFor('listening');
  t.notOk(warnings(local).includes('web-plain-http'), 'plain http on loopback is not warned about');
});
