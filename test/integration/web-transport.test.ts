/**
 * The WebSocket transport and the web server without a browser: a Node helper over WebSocket, the static files
 * and their headers, the upgrade checks, binary-only messages and message splitting.
 */
import t from 'tap';
import { request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket } from 'ws';
import { Helper, Host, VirtualScreen } from '../../src/index.js';
import { serveWeb, buildWebAssets } from '../../src/node/web-server.js';
import { WEBSOCKET_PATH, WebSocketAcceptor, connectWebSocket, type WebSocketStream } from '../../src/transport/websocket.js';

const DESKTOP_TIME = () => Date.UTC(2026, 10, 25, 10, 0, 0);

async function setup(t: { teardown(fn: () => unknown): void }) {
  const screen = new VirtualScreen({ width: 640, height: 400, now: DESKTOP_TIME });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', name: 'test-host' });
  const web = await serveWeb(host, { port: 0 });
  t.teardown(async () => {
    await host.close();
    await web.close();
  });
  return { screen, host, web };
}

function get(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('a Node helper over WebSocket sees the screen pixel-exactly and types', async (t) => {
  const { screen, web, host } = await setup(t);
  const inv = await host.createInvitation({ mode: 'control', expires: '30m' });
  const stream = await connectWebSocket(`ws://127.0.0.1:${web.port}${WEBSOCKET_PATH}`);
  const helper = await Helper.attach(stream, { handshake: { invitation: inv.invitation, requestMode: 'control' } });
  t.teardown(() => helper.close());
  t.equal(helper.mode, 'control');
  const expected = (await screen.capture()).frame.data.slice();
  await helper.waitForFrame((fb) => Buffer.from(fb.data).equals(Buffer.from(expected)));
  t.pass('the framebuffer equals the host screen');
  helper.type('over ws');
  await helper.waitForFrame(() => screen.text === 'over ws');
  const after = (await screen.capture()).frame.data.slice();
  await helper.waitForFrame((fb) => Buffer.from(fb.data).equals(Buffer.from(after)));
  t.equal(screen.text, 'over ws');
  t.match(host.sessions[0]!.peer, /^127\.0\.0\.1:\d+$/);
});

t.test('the server serves the viewer with strict headers and nothing else', async (t) => {
  const { web } = await setup(t);
  const page = await get(`${web.origin}/`);
  t.equal(page.status, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.body, /<canvas id="screen"/);
  t.match(page.headers['content-security-policy'], /default-src 'none'/);
  t.match(page.headers['content-security-policy'], /connect-src 'self' ws:\/\/127\.0\.0\.1:\d+/);
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.equal(page.headers['referrer-policy'], 'no-referrer');
  const js = await get(`${web.origin}/viewer.js`);
  t.equal(js.status, 200);
  t.match(js.headers['content-type'], /^text\/javascript/);
  t.ok(js.body.length > 10_000, 'the bundle is served');
  t.equal((await get(`${web.origin}/style.css`)).status, 200);
  t.equal((await get(`${web.origin}/../package.json`)).status, 404);
  t.equal((await get(`${web.origin}/src/index.ts`)).status, 404);
  t.equal((await get(`${web.origin}/`, { method: 'POST' })).status, 405);
  t.equal((await get(`${web.origin}/`, { headers: { Host: `evil.example:${web.port}` } })).status, 421, 'a loopback server answers only to loopback names (DNS rebinding)');
  t.equal((await get(`${web.origin}/`, { headers: { Host: `localhost:${web.port}` } })).status, 200);
  t.match(web.url('tessera://h:1/#abc'), new RegExp(`^${web.origin}/#tessera%3A%2F%2Fh%3A1%2F%23abc$`));
});

t.test('upgrades are refused from foreign origins, other paths and foreign host names', async (t) => {
  const { web } = await setup(t);
  const base = `ws://127.0.0.1:${web.port}`;
  await t.rejects(connectWebSocket(`${base}${WEBSOCKET_PATH}`, { origin: 'http://evil.example' }), { code: 'TESSERA_ERR_IO', received: 403 });
  await t.rejects(connectWebSocket(`${base}/other`), { code: 'TESSERA_ERR_IO', received: 404 });
  const ok = await connectWebSocket(`${base}${WEBSOCKET_PATH}`, { origin: web.origin });
  t.ok(ok, 'the page origin may connect');
  ok.destroy();
});

t.test('at most maxConnections WebSockets are open at once', async (t) => {
  const screen = new VirtualScreen({ width: 320, height: 240, now: DESKTOP_TIME });
  const host = new Host({ source: screen, consent: () => 'view' });
  const web = await serveWeb(host, { port: 0, maxConnections: 2 });
  t.teardown(async () => {
    await host.close();
    await web.close();
  });
  const url = `ws://127.0.0.1:${web.port}${WEBSOCKET_PATH}`;
  const a = await connectWebSocket(url);
  const b = await connectWebSocket(url);
  await t.rejects(connectWebSocket(url), { code: 'TESSERA_ERR_IO', received: 503 });
  a.destroy();
  b.destroy();
});

/** A bare acceptor on an HTTP server, to test WebSocketStream alone. */
async function acceptorServer(t: { teardown(fn: () => unknown): void }) {
  const acceptor = new WebSocketAcceptor();
  const streams: WebSocketStream[] = [];
  const waiters: ((s: WebSocketStream) => void)[] = [];
  const server = createServer();
  server.on('upgrade', (req, socket: Socket, head: Buffer) =>
    acceptor.upgrade(req, socket, head, (s) => {
      const w = waiters.shift();
      if (w) w(s);
      else streams.push(s);
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    await acceptor.close(100);
    await new Promise((r) => server.close(r));
  });
  const port = (server.address() as AddressInfo).port;
  const next = () => new Promise<WebSocketStream>((resolve) => (streams.length ? resolve(streams.shift()!) : waiters.push(resolve)));
  return { url: `ws://127.0.0.1:${port}/`, next };
}

t.test('a text message is a protocol error and closes with 1003', async (t) => {
  const { url, next } = await acceptorServer(t);
  const client = new WebSocket(url);
  await new Promise((r) => client.once('open', r));
  const server = await next();
  const failed = new Promise<{ code?: string }>((resolve) => server.once('error', resolve));
  const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
  const data: Buffer[] = [];
  server.on('data', (c: Buffer) => data.push(c));
  client.send('hello', { binary: false });
  t.equal((await failed).code, 'TESSERA_ERR_UNEXPECTED_MESSAGE');
  t.equal(await closed, 1003);
  t.same(data, [], 'no text reached the stream');
});

t.test('large writes are split into bounded messages and arrive intact, in order', async (t) => {
  const { url, next } = await acceptorServer(t);
  const clientP = connectWebSocket(url);
  const server = await next();
  const client = await clientP;
  const sizes: number[] = [];
  client.ws.on('message', (m: Buffer) => sizes.push(m.byteLength));
  const big = new Uint8Array(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 11)) & 0xff;
  server.write(big);
  server.write(Uint8Array.of(1, 2, 3));
  const got: Buffer[] = [];
  let total = 0;
  await new Promise<void>((resolve) => {
    client.on('data', (c: Buffer) => {
      got.push(c);
      total += c.byteLength;
      if (total === big.length + 3) resolve();
    });
  });
  const all = Buffer.concat(got);
  t.ok(all.subarray(0, big.length).equals(Buffer.from(big)), 'the bytes arrive unchanged');
  t.same([...all.subarray(big.length)], [1, 2, 3]);
  t.ok(Math.max(...sizes) <= 1024 * 1024, `no message exceeds 1 MiB (largest ${Math.max(...sizes)})`);
  t.equal(sizes.length, 5, '3 MiB + 17 bytes go as four messages, then the small write');
  // Ending one side closes the WebSocket normally and ends the other side's stream.
  const ended = new Promise<void>((resolve) => client.once('end', resolve));
  server.end();
  await ended;
  t.pass('end closes the stream on the other side');
  client.destroy();
});

t.test('a reader that stops reading makes the writer wait (backpressure)', async (t) => {
  const { url, next } = await acceptorServer(t);
  const clientP = connectWebSocket(url);
  const server = await next();
  const client = await clientP;
  client.pause();
  const chunk = new Uint8Array(64 * 1024);
  let accepted = 0;
  // Write, waiting for 'drain' whenever the stream is full, until a drain does not come: the writer is stalled.
  for (;;) {
    if (server.write(chunk)) {
      accepted += chunk.byteLength;
      continue;
    }
    accepted += chunk.byteLength;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => server.once('drain', () => resolve(true))),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500)),
    ]);
    if (!drained || accepted > 256 * 1024 * 1024) break;
  }
  t.ok(accepted < 64 * 1024 * 1024, `the writer stalled after ${(accepted / 1048576).toFixed(1)} MiB (socket buffers, not an unbounded queue)`);
  let received = 0;
  const all = new Promise<void>((resolve) => {
    client.on('data', (c: Buffer) => {
      received += c.byteLength;
      if (received === accepted) resolve();
    });
  });
  client.resume();
  await all;
  t.equal(received, accepted, 'reading again delivers every byte');
  client.destroy();
  server.destroy();
});

t.test('buildWebAssets bundles the viewer into a folder with a stamp of its inputs', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'tessera-web-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const build = await buildWebAssets({ outDir: out });
  for (const f of ['index.html', 'style.css', 'viewer.js', 'viewer.js.map', 'build.json']) t.ok(existsSync(join(out, f)), `${f} written`);
  t.ok(build.bundleBytes > 10_000);
  const stamp = JSON.parse(await readFile(join(out, 'build.json'), 'utf8')) as { inputs: Record<string, string> };
  t.ok(stamp.inputs['web/viewer.ts'], 'the entry is stamped');
  t.ok(stamp.inputs['src/handshake/initiator.ts'], 'the pure layers it imports are stamped');
  t.notOk(Object.keys(stamp.inputs).some((f) => f.startsWith('src/node/') || f.startsWith('src/transport/')), 'no Node-only module is bundled');
  const js = await readFile(join(out, 'viewer.js'), 'utf8');
  t.notMatch(js, /require\(["']crypto["']\)/, 'no Node built-in in the bundle');
});

t.test('on a non-loopback bind only IP addresses and the names given with hostNames are answered (DNS rebinding)', async (t) => {
  const screen = new VirtualScreen({ width: 320, height: 240, now: DESKTOP_TIME });
  const host = new Host({ source: screen, consent: () => 'view' });
  // 0.0.0.0 binds every interface; the test only ever connects to 127.0.0.1.
  const web = await serveWeb(host, { port: 0, host: '0.0.0.0', hostNames: ['helpdesk.example'] });
  t.teardown(async () => {
    await web.close();
    await host.close();
  });
  const origin = `http://127.0.0.1:${web.port}`;
  const status = async (hostHeader: string) => (await get(`${origin}/`, { headers: { Host: hostHeader } })).status;
  t.equal(await status(`127.0.0.1:${web.port}`), 200, 'an IPv4 address');
  t.equal(await status(`[::1]:${web.port}`), 200, 'an IPv6 address');
  t.equal(await status(`helpdesk.example:${web.port}`), 200, 'a name it was given');
  t.equal(await status(`HELPDESK.example:${web.port}`), 200, 'names are case-insensitive');
  t.equal(await status(`evil.example:${web.port}`), 421, 'a name it was not given is refused (an attacker rebinding evil.example to this address)');
  t.equal(await status(`helpdesk.example:${web.port + 1 === 65536 ? 1 : web.port + 1}`), 421, 'the right name with another port is refused');
  t.equal(await status(`127.0.0.1.evil.example:${web.port}`), 421);
  const upgrade = (hostHeader: string) =>
    get(`${origin}${WEBSOCKET_PATH}`, { headers: { Host: hostHeader, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
  t.equal((await upgrade(`evil.example:${web.port}`)).status, 421, 'the WebSocket upgrade is refused too');
  const ok = await connectWebSocket(`ws://127.0.0.1:${web.port}${WEBSOCKET_PATH}`, { origin });
  t.ok(ok, 'and allowed by address');
  ok.destroy();
});
