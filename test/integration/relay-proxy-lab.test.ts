/**
 * A host on a corporate network whose only way out is its HTTP proxy (issue #15 item 5), in the network lab
 * (test/helpers/netlab.ts): the corporate router refuses everything from its LAN but the proxy machine, and
 * tinyproxy there allows CONNECT to port 443 only. The `tessera host` command on `corp`, with HTTPS_PROXY in its
 * environment, registers at the relay through tinyproxy and a helper behind a home NAT reaches it through the relay.
 * Without the variable the same host cannot register (the test is real); a relay port the proxy does not allow is
 * refused by tinyproxy with http 403, and the host says so.
 * Skips with the reason where the lab cannot be built (not root, nftables or tinyproxy missing).
 */
import t from 'tap';
import { createLab, labAvailable, LAB_ADDRESSES, REPO_ROOT, type Lab, type LabProcess, nextEvent } from '../helpers/netlab.js';

const available = labAvailable({ corporate: true });
const skip = available.ok ? false : available.why;
const RELAY_PORT = 443; // The one port tinyproxy lets CONNECT through (the lab's default proxyConnectPorts).
const PROXY_URL = `http://${LAB_ADDRESSES.corpProxy}:${LAB_ADDRESSES.proxyPort}`;
const PROXY_VARS = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY'];
/** An environment with no proxy variables (empty counts as unset), plus `vars`. */
const env = (vars: Record<string, string> = {}): Record<string, string> => ({ ...Object.fromEntries(PROXY_VARS.map((k) => [k, ''])), ...vars });

/** A helper: connects with the invitation and reports its path and the size of its first frame. */
const HELPER = `
import { Helper } from '${REPO_ROOT}/src/index.ts';
const [url] = process.argv.slice(2);
const say = (o) => console.log(JSON.stringify(o));
const helper = await Helper.connect(url, { timeoutMs: 15000 });
helper.on('error', () => {});
const fb = await helper.waitForFrame(() => true);
say({ event: 'connected', path: helper.path, width: fb.width, height: fb.height, nonBlank: fb.data.some((b, i) => i % 4 !== 3 && b !== 0) });
await helper.closedPromise();
process.exit(0);
`;

const event = nextEvent;

function corpHost(lab: Lab, relayUrl: string, vars: Record<string, string>): LabProcess {
  return lab.spawnNode('corp', 'src/cli/main.ts', ['host', '--port', 'none', '--relay', relayUrl, '--accept', 'auto', '--json'], env(vars));
}

t.test('a host whose only way out is the corporate proxy is helped through the relay', { skip, timeout: 180_000 }, async (t) => {
  const lab = await createLab({ t, corporate: true });
  t.ok(lab.proxy, 'tinyproxy runs on the corporate proxy machine');
  const relayUrl = `ws://${lab.addresses.relay}:${RELAY_PORT}`;
  const relay = lab.spawnNode('relay', 'src/cli/main.ts', ['relay', '--port', String(RELAY_PORT), '--bind', lab.addresses.relay, '--json']);
  t.teardown(() => relay.kill());
  await event(relay, 'listening');

  // Without the proxy in its environment the host cannot get out: the corporate router refuses it.
  const stranded = corpHost(lab, relayUrl, {});
  t.teardown(() => stranded.kill());
  const lost = await event(stranded, 'relay-lost');
  t.match(lost, { code: /^TESSERA_ERR_(IO|TIMEOUT)$/ }, `without HTTPS_PROXY the registration fails (${String(lost['message'])})`);
  await event(stranded, 'relay-lost');
  t.notOk(stranded.stdout().includes('"event":"relay-registered"'), 'and it never registers');
  await stranded.kill();

  // A relay port tinyproxy does not allow: the proxy's 403 reaches the host as a clear reason.
  const blocked = corpHost(lab, `ws://${lab.addresses.relay}:8080`, { HTTPS_PROXY: PROXY_URL });
  t.teardown(() => blocked.kill());
  const refused = await event(blocked, 'relay-lost');
  t.match(refused, { code: 'TESSERA_ERR_IO', message: /refused CONNECT .*http 403/ }, `tinyproxy refuses CONNECT to port 8080: ${String(refused['message'])}`);
  await blocked.kill();

  // With HTTPS_PROXY: registered through tinyproxy, and a helper behind a home NAT gets a session through the relay.
  const host = corpHost(lab, relayUrl, { HTTPS_PROXY: PROXY_URL });
  t.teardown(() => host.kill());
  await event(host, 'relay-registered');
  const listening = await event(host, 'listening');
  t.equal(listening['relay'], relayUrl);
  t.same(await lab.listeningTcp('corp'), [], 'the host has no listening socket');
  const helperScript = lab.writeScript('proxy-helper.mts', HELPER);
  const helper = lab.spawnNode('helper', helperScript, [String(listening['url'])]);
  t.teardown(() => helper.kill());
  const connected = await event(helper, 'connected');
  t.match(connected, { path: 'relay', nonBlank: true }, 'the helper reached the host through the relay and sees its screen');
  t.ok(Number(connected['width']) > 0 && Number(connected['height']) > 0, `a ${String(connected['width'])}x${String(connected['height'])} frame`);
  await event(host, 'helper-joined');
  t.notOk(host.stdout().includes('"event":"relay-lost"'), 'the proxied registration never dropped');
});
