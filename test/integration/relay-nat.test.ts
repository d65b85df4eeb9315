/**
 * The relay in a real network (issue #15): a small internet built in network namespaces (test/helpers/netlab.ts),
 * the relay on it, the host behind one NAT router with no inbound and no listening socket, the helper behind another.
 * A session works through the relay (pixel-exact, chat both ways), the relay's traffic on the internet carries no
 * plaintext, a relay killed mid-session ends both sides with a clear reason, the host re-registers when the relay
 * returns and the same invitation works again, and a helper on the host's own LAN takes the direct path.
 * Headless Chromium in the helper's namespace opens the viewer page on the relay and paints the host's screen.
 * Skips with the reason where namespaces cannot be made (not root, no nftables).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { relayViewerUrl } from '../../src/index.js';
import { CHROMIUM_PATH, chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { containsBytes, createLab, labAvailable, REPO_ROOT, type Lab, type LabProcess, nextEvent } from '../helpers/netlab.js';

const available = labAvailable();
const skip = available.ok ? false : available.why;
const browserMissing = chromiumMissing();
const skipBrowser = skip || (browserMissing ? `skip: headless Chromium is not available: ${browserMissing}` : false);
const RELAY_PORT = 8080;

/** The host: a VirtualScreen on a fixed clock (so its picture is stable), waiting at the relay; optionally listening. */
const HOST = `
import { createHash } from 'node:crypto';
import { Host, VirtualScreen } from '${REPO_ROOT}/src/index.ts';
const [relayUrl, listenAddress] = process.argv.slice(2);
const screen = new VirtualScreen({ width: 640, height: 400, now: () => Date.UTC(2026, 11, 2, 9, 30, 0) });
const host = new Host({ source: screen, sink: screen, consent: () => 'control', name: 'nat-host' });
const say = (o) => console.log(JSON.stringify(o));
host.on('error', () => {});
host.on('relay-lost', (err) => say({ event: 'relay-lost', code: err.code }));
host.on('session', (s) => {
  say({ event: 'session', peer: s.peer });
  s.on('chat', (text) => { say({ event: 'chat', text }); s.chat('host says: ' + text); });
  s.on('close', (info) => say({ event: 'session-closed', reason: info.reason, code: info.error?.code ?? null }));
});
if (listenAddress) await host.listen({ port: 3389, host: listenAddress });
let announced = false;
host.on('relay-registered', async () => {
  say({ event: 'relay-registered' });
  if (announced) return;
  announced = true;
  const frame = (await screen.capture()).frame;
  const invitation = await host.createInvitation({ mode: 'control', expires: '30m', uses: 5, ...(listenAddress ? { addresses: [listenAddress + ':3389'] } : {}) });
  say({ event: 'invitation', url: invitation.toURL(), frame: createHash('sha256').update(frame.data).digest('hex') });
});
host.useRelay(relayUrl, { initialBackoffMs: 200, maxBackoffMs: 1000 });
`;

/** A helper: connects with the invitation, reports its path and picture, chats, then waits for the session to end. */
const HELPER = `
import { createHash } from 'node:crypto';
import { Helper } from '${REPO_ROOT}/src/index.ts';
const [url, marker, stay] = process.argv.slice(2);
const say = (o) => console.log(JSON.stringify(o));
const helper = await Helper.connect(url, { timeoutMs: 15000 });
helper.on('error', () => {});
const fb = await helper.waitForFrame(() => true);
say({ event: 'connected', path: helper.path, frame: createHash('sha256').update(fb.data).digest('hex') });
helper.on('chat', (text) => say({ event: 'chat', text }));
helper.chat(marker);
const info = await helper.closedPromise();
say({ event: 'closed', reason: info.reason, code: info.error?.code ?? null });
process.exit(0);
`;

const event = nextEvent;

async function startRelay(lab: Lab): Promise<LabProcess> {
  const relay = lab.spawnNode('relay', 'src/cli/main.ts', ['relay', '--port', String(RELAY_PORT), '--bind', lab.addresses.relay, '--json']);
  await event(relay, 'listening');
  return relay;
}

t.test('a host behind NAT with no open port is helped from behind another NAT through the relay', { skip }, async (t) => {
  const lab = await createLab({ t });
  const relayUrl = `ws://${lab.addresses.relay}:${RELAY_PORT}`;
  const hostScript = lab.writeScript('nat-host.mts', HOST);
  const helperScript = lab.writeScript('nat-helper.mts', HELPER);
  let relay = await startRelay(lab);
  const host = lab.spawnNode('host', hostScript, [relayUrl]);
  t.teardown(() => host.kill());
  const invitation = await event(host, 'invitation');
  t.same(await lab.listeningTcp('host'), [], 'the host has no listening socket (ss -tln in its namespace is empty)');

  // A session through the relay, captured on the internet segment.
  const capture = await lab.tcpdump('internet');
  const marker = `chat-marker-${process.pid}-${Date.now()}`;
  const helper = lab.spawnNode('helper', helperScript, [String(invitation['url']), marker]);
  t.teardown(() => helper.kill());
  const connected = await event(helper, 'connected');
  t.equal(connected['path'], 'relay', 'the helper behind the other NAT reached the host through the relay');
  t.equal(connected['frame'], invitation['frame'], "the helper's picture is the host's, pixel for pixel");
  t.equal((await event(host, 'chat'))['text'], marker, 'chat reaches the host');
  t.equal((await event(helper, 'chat'))['text'], `host says: ${marker}`, 'and the host answers');
  const pcap = await capture.stop();
  const payload = Buffer.concat(pcap.packets.map((p) => Buffer.from(p.data)));
  // The capture saw this session: the helper's WebSocket upgrade to the relay is readable (ws:// here), the rest is not.
  t.ok(containsBytes(payload, new TextEncoder().encode('/tessera-relay/1/connect')), `the capture holds the helper's connection to the relay (${payload.length} bytes)`);
  t.notOk(containsBytes(payload, new TextEncoder().encode(marker)), 'the chat message is not on the wire in plaintext');
  t.notOk(containsBytes(payload, new TextEncoder().encode('nat-host')), "nor is the host's name");

  // The relay dies mid-session: both ends learn it within seconds, with a clear reason.
  const killedAt = Date.now();
  await relay.kill();
  const helperClosed = await event(helper, 'closed', 15_000);
  t.equal(helperClosed['code'], 'TESSERA_ERR_RELAY_LOST', 'the helper ends with RELAY_LOST');
  t.match(await event(host, 'session-closed', 15_000), { reason: 'connection-lost', code: 'TESSERA_ERR_RELAY_LOST' }, 'the host session ends too, with RELAY_LOST');
  t.ok(Date.now() - killedAt < 15_000, `both ends noticed in ${Date.now() - killedAt} ms`);
  await event(host, 'relay-lost', 15_000);

  // The relay comes back: the host registers again and the same invitation works.
  relay = await startRelay(lab);
  t.teardown(() => relay.kill());
  await event(host, 'relay-registered', 20_000);
  const again = lab.spawnNode('helper', helperScript, [String(invitation['url']), `${marker}-again`]);
  t.teardown(() => again.kill());
  t.match(await event(again, 'connected'), { path: 'relay' }, 'the same invitation works through the returned relay');
  await event(host, 'session');
});

t.test('a helper on the host’s own LAN takes the direct path; one behind another NAT takes the relay', { skip }, async (t) => {
  const lab = await createLab({ t });
  const relayUrl = `ws://${lab.addresses.relay}:${RELAY_PORT}`;
  const hostScript = lab.writeScript('lan-host.mts', HOST);
  const helperScript = lab.writeScript('lan-helper.mts', HELPER);
  const relay = await startRelay(lab);
  t.teardown(() => relay.kill());
  const host = lab.spawnNode('host', hostScript, [relayUrl, lab.addresses.host]);
  t.teardown(() => host.kill());
  const invitation = await event(host, 'invitation');
  const neighbour = lab.spawnNode('hostPeer', helperScript, [String(invitation['url']), 'from the LAN']);
  t.teardown(() => neighbour.kill());
  t.match(await event(neighbour, 'connected'), { path: 'direct', frame: invitation['frame'] }, 'the helper on the same LAN connects directly');
  const remote = lab.spawnNode('helper', helperScript, [String(invitation['url']), 'from outside']);
  t.teardown(() => remote.kill());
  t.match(await event(remote, 'connected'), { path: 'relay', frame: invitation['frame'] }, 'the helper outside cannot reach 198.19.1.10 and goes through the relay');
});

t.test('Chromium behind NAT opens the viewer page on the relay and paints the screen of a host behind another NAT', { skip: skipBrowser }, async (t) => {
  const lab = await createLab({ t });
  const relayUrl = `ws://${lab.addresses.relay}:${RELAY_PORT}`;
  const hostScript = lab.writeScript('browser-host.mts', HOST);
  const relay = await startRelay(lab);
  t.teardown(() => relay.kill());
  const host = lab.spawnNode('host', hostScript, [relayUrl]);
  t.teardown(() => host.kill());
  const invitation = await event(host, 'invitation');
  t.same(await lab.listeningTcp('host'), [], 'the host has no listening socket');
  // Chromium runs in the helper's namespace (behind its NAT); playwright drives it over a pipe, which crosses namespaces.
  const wrapper = join(lab.dir, 'chromium-in-helper.sh');
  lab.writeScript('chromium-in-helper.sh', `#!/bin/sh\nexec ip netns exec '${lab.ns.helper}' '${CHROMIUM_PATH}' "$@"\n`);
  chmodSync(wrapper, 0o700);
  const browser = await launchChromium({ viewport: { width: 900, height: 600 }, executablePath: wrapper });
  t.teardown(() => browser.close());
  const capture = await lab.tcpdump('internet');
  const page = await browser.newPage();
  await page.goto(relayViewerUrl(relayUrl, String(invitation['url'])));
  await page.waitForFunction(() => (window as any).tessera?.state === 'connected', undefined, { timeout: 30_000 });
  const session = await event(host, 'session');
  t.match(String(session['peer']), lab.addresses.helperRouterWan, "the host admitted the browser, which came from behind the helper's NAT (the relay names its router)");
  let got = '';
  for (let i = 0; i < 200 && got !== invitation['frame']; i++) {
    // A page on http://198.18.0.10 is not a secure context (no crypto.subtle): the pixels come out as base64.
    const pixels = await page.evaluate(() => {
      const canvas = document.getElementById('screen') as HTMLCanvasElement;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let text = '';
      for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return btoa(text);
    });
    got = createHash('sha256').update(Buffer.from(pixels, 'base64')).digest('hex');
    if (got !== invitation['frame']) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(got, invitation['frame'], "the canvas equals the host's screen, pixel for pixel");
  const marker = `browser-chat-${process.pid}-${Date.now()}`;
  await page.click('#chat-toggle');
  await page.fill('#chat-input', marker);
  await page.press('#chat-input', 'Enter');
  t.equal((await event(host, 'chat'))['text'], marker, "the browser's chat reaches the host");
  await page.waitForFunction((text) => document.getElementById('chat-log')!.textContent!.includes(text), `host says: ${marker}`, { timeout: 15_000 });
  t.pass("and the host's answer shows in the page");
  const pcap = await capture.stop();
  const payload = Buffer.concat(pcap.packets.map((p) => Buffer.from(p.data)));
  t.ok(containsBytes(payload, new TextEncoder().encode('/tessera-relay/1/connect')), `the capture holds the browser's connection to the relay (${payload.length} bytes)`);
  t.notOk(containsBytes(payload, new TextEncoder().encode(marker)), 'the chat message is not on the wire in plaintext');
  t.notOk(containsBytes(payload, new TextEncoder().encode('nat-host')), "nor is the host's name");
});
