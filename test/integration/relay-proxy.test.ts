/**
 * Relay connections through an HTTP proxy (issue #15 item 5), on loopback: a small CONNECT proxy written here
 * tunnels to a real relay; a host registers through it and a helper reaches the host through it. Then proxies that
 * refuse (403, 407), send garbage, never answer, answer without end, or send tunnel bytes in the same write as
 * their 200; NO_PROXY and the environment's variables; credentials kept out of every message.
 * The same over a real corporate network (tinyproxy, the proxy the only way out) is test/integration/relay-proxy-lab.test.ts.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { WebSocket } from 'ws';
import { Host, Helper, VirtualScreen, startRelay, relayEndpoint, encodeRelayMessage, decodeRelayMessage, RelayRegistration, type HostSessionHandle } from '../../src/index.js';
import { ErrorCode, ProtocolError, TesseraError, MAX_PROXY_RESPONSE_BYTES } from '../../src/core/index.js';
import { RelayPath } from '../../src/handshake/index.js';
import { bypassesProxy, connectThroughProxy, openTunnel, parseProxyUrl, resolveProxy } from '../../src/relay/proxy.js';
import { dhKeyPair } from '../../src/handshake/index.js';
import { nodeRandom } from '../../src/node/crypto.js';

type Teardown = { teardown(fn: () => unknown): void };
const SCREEN_NOW = () => Date.UTC(2026, 10, 25, 10, 0, 0);

function equalFrames(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** What the test proxy saw of one request. */
interface SeenRequest {
  readonly method: string;
  readonly target: string;
  readonly authorization: string | undefined;
}

/**
 * A CONNECT proxy on 127.0.0.1. `answer` decides per request: 'tunnel' (200, then bytes both ways), or bytes to
 * write (the socket then stays open, answering nothing more, until the client closes it), or bytes to write before
 * closing.
 */
async function testProxy(t: Teardown, answer: (req: SeenRequest) => 'tunnel' | Buffer | { readonly thenClose: Buffer } = () => 'tunnel') {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let clientsClosed = 0;
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => {
      sockets.delete(client);
      clientsClosed++;
    });
    client.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 16 * 1024) client.destroy();
        return;
      }
      client.off('data', onData);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const [method = '', target = ''] = lines[0]!.split(' ');
      const auth = lines.find((l) => l.toLowerCase().startsWith('proxy-authorization:'));
      const req = { method, target, authorization: auth?.slice(auth.indexOf(':') + 1).trim() };
      seen.push(req);
      const what = answer(req);
      if (Buffer.isBuffer(what)) {
        client.write(what);
        return;
      }
      if (what !== 'tunnel') {
        client.end(what.thenClose);
        return;
      }
      const at = target.lastIndexOf(':');
      const upstream = netConnect({ host: target.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(target.slice(at + 1)) });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      upstream.on('connect', () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        const rest = head.subarray(end + 4);
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  t.teardown(() => stop());
  const stop = (): void => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  return { url: `http://127.0.0.1:${port}`, port, seen, stop, closed: () => clientsClosed, open: () => sockets.size };
}

async function relayedHost(t: Teardown, relayUrl: string, proxy: string | false | undefined) {
  const screen = new VirtualScreen({ width: 320, height: 240, now: SCREEN_NOW });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', name: 'proxied-host' });
  t.teardown(() => host.close());
  const registered = new Promise<void>((resolve) => host.once('relay-registered', () => resolve()));
  host.useRelay(relayUrl, { initialBackoffMs: 50, maxBackoffMs: 200, ...(proxy !== undefined ? { proxy } : {}) });
  await registered;
  const invitation = await host.createInvitation({ expires: '30m' });
  return { screen, host, invitation };
}

/** Sets environment variables for the rest of a test (process.env is what the relay client reads by default). */
function withEnv(t: Teardown, vars: Record<string, string | undefined>): void {
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(vars)) {
    saved.set(k, process.env[k]);
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  t.teardown(() => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

const PROXY_VARS = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY'];
const noProxyEnv = (): Record<string, undefined> => Object.fromEntries(PROXY_VARS.map((k) => [k, undefined]));

t.test('a host registers and a helper connects, both through the proxy; the session is pixel-exact', async (t) => {
  const relay = await startRelay({ port: 0, host: '127.0.0.1' });
  t.teardown(() => relay.close());
  const proxy = await testProxy(t);
  const { screen, host, invitation } = await relayedHost(t, relay.url, proxy.url);
  const sessionP = new Promise<HostSessionHandle>((resolve) => host.once('session', resolve));
  const helper = await Helper.connect(invitation.toURL(), { proxy: proxy.url });
  t.teardown(() => helper.close());
  t.equal(helper.path, 'relay');
  const session = await sessionP;
  await helper.waitForFrame((fb) => equalFrames(fb.data, screen.snapshot().data));
  t.pass("the helper's picture equals the host's screen");
  const got = new Promise<string>((resolve) => session.once('chat', resolve));
  helper.chat('through the proxy');
  t.equal(await got, 'through the proxy', 'chat reaches the host');

  const relayTarget = new URL(relay.url).host;
  t.ok(proxy.seen.every((r) => r.method === 'CONNECT' && r.target === relayTarget), 'every request to the proxy is CONNECT to the relay');
  // The host's control connection, its data connection for this helper, and the helper's connection.
  t.equal(proxy.seen.length, 3, 'the control, data and helper connections all went through the proxy');
});

t.test('the environment: HTTP_PROXY for ws:// relays with Basic credentials; NO_PROXY exempts the relay', async (t) => {
  const relay = await startRelay({ port: 0, host: '127.0.0.1' });
  t.teardown(() => relay.close());
  const expected = `Basic ${Buffer.from('corp user:p@ss:word').toString('base64')}`;
  const proxy = await testProxy(t, (r) => (r.authorization === expected ? 'tunnel' : Buffer.from('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\n\r\n')));
  withEnv(t, { ...noProxyEnv(), HTTP_PROXY: `http://corp%20user:p%40ss%3Aword@127.0.0.1:${proxy.port}` });
  const { invitation } = await relayedHost(t, relay.url, undefined);
  const helper = await Helper.connect(invitation.toURL());
  t.teardown(() => helper.close());
  t.equal(helper.path, 'relay');
  t.ok(proxy.seen.length >= 3 && proxy.seen.every((r) => r.authorization === expected), 'every CONNECT carried the credentials, percent-decoded');

  const before = proxy.seen.length;
  withEnv(t, { NO_PROXY: 'localhost, 127.0.0.1' });
  const second = await relayedHost(t, relay.url, undefined);
  const direct = await Helper.connect(second.invitation.toURL());
  t.teardown(() => direct.close());
  t.equal(proxy.seen.length, before, 'with the relay in NO_PROXY the proxy sees no request');

  withEnv(t, { NO_PROXY: '' });
  const third = await relayedHost(t, relay.url, false);
  const off = await Helper.connect(third.invitation.toURL(), { proxy: false });
  t.teardown(() => off.close());
  t.equal(proxy.seen.length, before, 'proxy: false connects directly despite HTTP_PROXY');
});

t.test('a proxy that refuses: 403 and 407 are TESSERA_ERR_IO with the status, and the password is in no message', async (t) => {
  const proxy = await testProxy(t, (r) =>
    Buffer.from(r.target.endsWith(':403') ? 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n' : 'HTTP/1.0 407 Proxy Authentication Required\r\n\r\n'));
  const secret = 's3cret-Pa55';
  const withCreds = parseProxyUrl(`http://alice:${secret}@127.0.0.1:${proxy.port}`);
  const bare = parseProxyUrl(proxy.url);
  const errorOf = async (p: Promise<unknown>): Promise<TesseraError> => {
    try {
      await p;
    } catch (err) {
      if (err instanceof TesseraError) return err;
      throw err;
    }
    throw new Error('expected a failure');
  };
  const forbidden = await errorOf(openTunnel(withCreds, 'relay.example', 403, { timeoutMs: 10_000 }));
  t.match(forbidden, { code: ErrorCode.Io, received: 403 }, '403 is TESSERA_ERR_IO with received 403');
  t.match(forbidden.message, /refused CONNECT .*http 403/);
  const noAuth = await errorOf(openTunnel(bare, 'relay.example', 443, { timeoutMs: 10_000 }));
  t.match(noAuth, { code: ErrorCode.Io, received: 407 });
  t.match(noAuth.message, /proxy authentication/, 'a 407 says proxy authentication is needed');
  const badAuth = await errorOf(openTunnel(withCreds, 'relay.example', 443, { timeoutMs: 10_000 }));
  t.match(badAuth, { code: ErrorCode.Io, received: 407 });
  t.match(badAuth.message, /refused the credentials/, 'a 407 with credentials says they were refused');

  // Through a host's registration: the 'lost' event carries the same error.
  const key = dhKeyPair(nodeRandom(32));
  const registration = new RelayRegistration({
    url: 'ws://relay.example:403', hostKey: key, ids: () => [], onStream: () => {}, proxy: `http://alice:${secret}@127.0.0.1:${proxy.port}`, initialBackoffMs: 60_000,
  });
  t.teardown(() => registration.close());
  const lost = await new Promise<TesseraError>((resolve) => registration.once('lost', resolve).start());
  t.match(lost, { code: ErrorCode.Io, received: 403 }, "the host's registration reports the refusal");
  for (const [name, text] of [
    ['403', `${forbidden.message} ${forbidden.stack} ${inspect(forbidden)}`],
    ['407', `${badAuth.message} ${badAuth.stack} ${inspect(badAuth)}`],
    ['registration', `${lost.message} ${inspect(lost)}`],
    ['proxy object', `${String(withCreds)} ${JSON.stringify({ p: withCreds })} ${inspect(withCreds)} ${inspect(registration, { depth: 4 })}`],
  ] as const) {
    t.notOk(text.includes(secret) || text.includes(Buffer.from(`alice:${secret}`).toString('base64')), `${name}: the password is nowhere`);
  }
  t.match(inspect(withCreds), /127\.0\.0\.1/, 'inspect shows the proxy address');
});

t.test('hostile or odd proxy answers are typed errors, bounded, and bytes after the 200 are kept', async (t) => {
  const garbage = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00]);
  const headerFlood = Buffer.from(`HTTP/1.1 200 OK\r\n${'X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(Math.ceil((MAX_PROXY_RESPONSE_BYTES * 2) / 80))}`);
  const answers: Record<string, Buffer> = {
    garbage,
    nul: Buffer.from('HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n'),
    flood: headerFlood,
    silent: Buffer.alloc(0),
    early: Buffer.from('HTTP/1.1 200 Connection established\r\nProxy-Agent: test\r\n\r\nhello-from-the-relay'),
  };
  const proxy = await testProxy(t, (r) => answers[r.target.slice(0, r.target.indexOf(':'))] ?? Buffer.alloc(0));
  const server = parseProxyUrl(proxy.url);
  const fails = async (host: string, timeoutMs = 10_000): Promise<unknown> => {
    try {
      const s = await openTunnel(server, host, 443, { timeoutMs });
      s.destroy();
    } catch (err) {
      return err;
    }
    return undefined;
  };
  t.match(await fails('garbage'), { code: ErrorCode.InvalidField, context: 'proxy-response' }, 'bytes that are not http: TESSERA_ERR_INVALID_FIELD');
  t.ok((await fails('garbage')) instanceof ProtocolError);
  t.match(await fails('nul'), { code: ErrorCode.InvalidField }, 'a control byte in a header: TESSERA_ERR_INVALID_FIELD');
  t.match(await fails('flood'), { code: ErrorCode.LimitExceeded, expected: MAX_PROXY_RESPONSE_BYTES }, `headers past ${MAX_PROXY_RESPONSE_BYTES} bytes: TESSERA_ERR_LIMIT_EXCEEDED`);
  t.match(await fails('silent', 300), { code: ErrorCode.Timeout }, 'a proxy that never answers: TESSERA_ERR_TIMEOUT at the deadline');
  const controller = new AbortController();
  const aborted = openTunnel(server, 'silent', 443, { timeoutMs: 60_000, signal: controller.signal });
  controller.abort();
  await t.rejects(aborted, { code: 'ABORT_ERR' }, 'an abort ends the wait');
  // Every refused connection was closed by the client (the proxy saw them all close).
  for (let i = 0; i < 200 && proxy.open() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(proxy.open(), 0, 'no connection to the proxy is left open after a failure');

  const tunnel = await openTunnel(server, 'early', 443, { timeoutMs: 10_000 });
  t.teardown(() => tunnel.destroy());
  const first = await new Promise<Buffer>((resolve) => tunnel.once('data', resolve));
  t.equal(first.toString(), 'hello-from-the-relay', 'bytes in the same write as the 200 are the first bytes read from the tunnel');

  const closing = await testProxy(t, () => ({ thenClose: Buffer.from('HTTP/1.1 200 O') }));
  t.match(await openTunnel(parseProxyUrl(closing.url), 'x', 1, { timeoutMs: 10_000 }).catch((e: unknown) => e), { code: ErrorCode.Io }, 'a proxy that closes mid-answer: TESSERA_ERR_IO');

  const unreachable = await testProxy(t);
  const port = unreachable.port;
  unreachable.stop();
  t.match(await openTunnel(parseProxyUrl(`http://127.0.0.1:${port}`), 'x', 1, { timeoutMs: 10_000 }).catch((e: unknown) => e), { code: ErrorCode.Io }, 'a proxy that cannot be reached: TESSERA_ERR_IO');
});

/** A self-signed certificate for 127.0.0.1, or undefined without openssl. */
function selfSigned(): { cert: string; key: string } | undefined {
  const tmp = mkdtempSync(join(tmpdir(), 'tessera-proxy-tls-'));
  try {
    const cert = join(tmp, 'cert.pem');
    const key = join(tmp, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
  } catch {
    return undefined;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const PEM = selfSigned();

t.test('wss:// through the proxy: TLS runs over the tunnel to the relay, and its certificate is checked', { skip: PEM ? false : 'openssl is not available to make a certificate' }, async (t) => {
  const pem = PEM!;
  const relay = await startRelay({ port: 0, host: '127.0.0.1', tls: pem });
  t.teardown(() => relay.close());
  t.match(relay.url, /^wss:\/\//);
  const proxy = await testProxy(t);
  const server = parseProxyUrl(proxy.url);
  const url = relayEndpoint(relay.url, RelayPath.Connect);
  const socket = await connectThroughProxy(server, url, { timeoutMs: 10_000 }, { ca: pem.cert });
  const ws = new WebSocket(url, { createConnection: (() => socket) as never });
  t.teardown(() => ws.terminate());
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(encodeRelayMessage({ type: 'connect', id: new Uint8Array(16).fill(7) }));
  const reply = await new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));
  t.match(decodeRelayMessage(new Uint8Array(reply)), { type: 'refused' }, 'the relay answered through TLS in the tunnel (an unknown id is refused)');
  t.equal(proxy.seen.at(-1)?.target, new URL(relay.url).host, 'the proxy was asked for the relay');

  const untrusted = await connectThroughProxy(server, url, { timeoutMs: 10_000 });
  const tlsError = await new Promise<Error>((resolve) => untrusted.once('error', resolve));
  t.match(tlsError.message, /self[- ]signed|certificate/i, "without the relay's certificate trusted, TLS over the tunnel fails");
  untrusted.destroy();
});

t.test('NO_PROXY decides per host and port', async (t) => {
  // [host, port, NO_PROXY, bypassed?]
  const cases: Array<[string, number, string | undefined, boolean]> = [
    ['relay.example.com', 443, undefined, false],
    ['relay.example.com', 443, '', false],
    ['relay.example.com', 443, '*', true],
    ['relay.example.com', 443, 'example.com', true],
    ['example.com', 443, 'example.com', true],
    ['relay.example.com', 443, '.example.com', true],
    ['example.com', 443, '.example.com', true],
    ['relay.example.com', 443, '*.example.com', true],
    ['badexample.com', 443, 'example.com', false],
    ['example.com.evil.net', 443, 'example.com', false],
    ['RELAY.Example.COM.', 443, 'example.com', true],
    ['relay.example.com', 443, 'other.org, example.com', true],
    ['relay.example.com', 443, 'other.org example.com', true],
    ['relay.example.com', 443, 'other.org', false],
    ['relay.example.com', 8443, 'example.com:8443', true],
    ['relay.example.com', 443, 'example.com:8443', false],
    ['10.1.2.3', 443, '10.1.2.3', true],
    ['10.1.2.4', 443, '10.1.2.3', false],
    ['10.1.2.3', 443, '10.0.0.0/8', true],
    ['11.1.2.3', 443, '10.0.0.0/8', false],
    ['10.1.2.3', 80, '10.1.2.3:80', true],
    ['10.1.2.3', 443, '10.1.2.3:80', false],
    ['[::1]', 443, '::1', true],
    ['::1', 443, '[::1]', true],
    ['::1', 443, '0:0:0:0:0:0:0:1', true],
    ['::1', 8080, '[::1]:8080', true],
    ['::1', 443, '[::1]:8080', false],
    ['fd00::5', 443, 'fd00::/8', true],
    ['fe80::5', 443, 'fd00::/8', false],
    ['127.0.0.1', 443, undefined, false],
    ['localhost', 443, '127.0.0.1', false],
    ['127.0.0.1', 443, 'localhost', false],
    ['10.1.2.3', 443, 'example.com', false],
    ['10.1.2.3', 443, '3', false],
    ['relay.example.com', 443, 'garbage:port:x, /, [', false],
  ];
  for (const [host, port, list, bypassed] of cases) {
    t.equal(bypassesProxy(host, port, list), bypassed, `${host}:${port} with NO_PROXY=${JSON.stringify(list)} ${bypassed ? 'goes direct' : 'uses the proxy'}`);
  }
});

t.test('which variable a relay URL reads, and proxy URLs that are refused without echoing them', async (t) => {
  const at = (host: string) => `http://${host}:3128`;
  const pick = (url: string, env: Record<string, string>, option?: string | false) => resolveProxy(url, option, env)?.toString();
  t.equal(pick('wss://relay.example', { HTTPS_PROXY: at('s') }), at('s'), 'wss:// reads HTTPS_PROXY');
  t.equal(pick('wss://relay.example', { https_proxy: at('lower'), HTTPS_PROXY: at('upper') }), at('lower'), 'lowercase first, as curl');
  t.equal(pick('wss://relay.example', { HTTP_PROXY: at('h') }), undefined, 'wss:// ignores HTTP_PROXY');
  t.equal(pick('ws://relay.example', { HTTP_PROXY: at('h'), HTTPS_PROXY: at('s') }), at('h'), 'ws:// reads HTTP_PROXY first');
  t.equal(pick('ws://relay.example:443', { HTTPS_PROXY: at('s') }), at('s'), 'ws:// falls back to HTTPS_PROXY');
  t.equal(pick('wss://relay.example', { ALL_PROXY: at('a') }), at('a'), 'ALL_PROXY last');
  t.equal(pick('wss://relay.example', { HTTPS_PROXY: '  ', ALL_PROXY: at('a') }), at('a'), 'an empty variable counts as unset');
  t.equal(pick('wss://relay.example', { HTTPS_PROXY: at('s'), NO_PROXY: 'example' }), undefined, 'NO_PROXY exempts');
  t.equal(pick('wss://relay.example', { HTTPS_PROXY: at('s'), NO_PROXY: 'relay.example:443' }), undefined, 'NO_PROXY with the default port of wss://');
  t.equal(pick('wss://relay.example', { HTTPS_PROXY: at('s'), NO_PROXY: 'example' }, at('opt')), at('opt'), 'an explicit proxy option ignores the environment');
  t.equal(pick('wss://relay.example', { HTTPS_PROXY: at('s') }, false), undefined, 'proxy: false means none');
  t.equal(pick('wss://relay.example', { HTTPS_PROXY: 'proxy.corp:8080' }), 'http://proxy.corp:8080', 'no scheme means http://');
  t.equal(pick('wss://relay.example', { HTTPS_PROXY: 'http://proxy.corp' }), 'http://proxy.corp:80', 'port 80 when absent');
  t.equal(pick('wss://relay.example', { HTTPS_PROXY: 'http://[fd00::1]:3128' }), 'http://[fd00::1]:3128', 'an IPv6 proxy');

  const secret = 'Hunter2-secret';
  for (const [what, url] of [
    ['https://', `https://bob:${secret}@proxy.corp:443`],
    ['socks5://', `socks5://bob:${secret}@proxy.corp:1080`],
    ['a malformed url', `http://bob:${secret}@[bad`],
  ] as const) {
    let caught: unknown;
    try {
      resolveProxy('wss://relay.example', undefined, { HTTPS_PROXY: url });
    } catch (err) {
      caught = err;
    }
    t.match(caught, { code: ErrorCode.InvalidConfig, field: 'proxy' }, `${what} is refused with TESSERA_ERR_INVALID_CONFIG`);
    t.match((caught as Error).message, /HTTPS_PROXY/, 'the message names the variable');
    t.notOk(`${(caught as Error).message} ${inspect(caught)}`.includes(secret), 'and not the password');
  }
  const host = new Host({ source: new VirtualScreen({ width: 320, height: 240 }), consent: () => 'decline' });
  t.teardown(() => host.close());
  t.throws(() => host.useRelay('wss://relay.example', { proxy: `https://bob:${secret}@proxy.corp` }), { code: ErrorCode.InvalidConfig, field: 'proxy' }, 'Host.useRelay refuses an unusable proxy at once');
});
