/**
 * Relay connections through an HTTP proxy (corporate networks whose only way out is a proxy): which proxy a relay
 * URL goes through (an option, or the environment's HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY, read as
 * curl reads them), and a small HTTP CONNECT client whose parser of the proxy's answer is bounded and total.
 *
 * Every relay connection tunnels with CONNECT, ws:// as well as wss:// (a proxy never forwards the WebSocket upgrade
 * itself); wss:// then runs TLS over the tunnel with the relay's own name, so the proxy sees only ciphertext and
 * the relay's certificate is checked as on a direct connection. The tessera handshake runs end to end inside.
 *
 * Proxy credentials (`http://user:pass@proxy:3128`) are sent only in Proxy-Authorization and never appear in an
 * error message, `toString()`, JSON or `util.inspect` output.
 */
import { BlockList, connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { inspect } from 'node:util';
import { AbortError, ConfigError, ErrorCode, MAX_PROXY_RESPONSE_BYTES, ProtocolError, TesseraError } from '../core/index.js';

/** An HTTP proxy to tunnel through: its address and, kept private, the Basic credentials it wants. */
export class ProxyServer {
  /** The proxy's host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  readonly #authorization: string | undefined;

  constructor(host: string, port: number, credentials?: { readonly username: string; readonly password: string }) {
    this.host = host;
    this.port = port;
    this.#authorization = credentials ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}` : undefined;
  }

  /** True when the proxy URL carried credentials (sent as Proxy-Authorization). */
  get hasCredentials(): boolean {
    return this.#authorization !== undefined;
  }

  /** `http://host:port`, never the credentials. */
  toString(): string {
    return `http://${hostPort(this.host, this.port)}`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return `ProxyServer <${this.toString()}${this.hasCredentials ? ' with credentials' : ''}>`;
  }

  /** The CONNECT request for `host:port`. */
  connectRequest(host: string, port: number): string {
    const target = hostPort(host, port);
    const auth = this.#authorization ? `Proxy-Authorization: ${this.#authorization}\r\n` : '';
    return `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`;
  }
}

function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/**
 * Parses a proxy URL: `http://[user:password@]host[:port]` (port 80 when absent; no scheme means http://).
 * Messages never repeat the URL, which may hold a password.
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG (field 'proxy') for another scheme (https://, socks5://) or a malformed URL
 */
export function parseProxyUrl(text: string, what = 'the proxy url'): ProxyServer {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`);
  } catch {
    throw new ConfigError(`${what} is not a valid url`, { field: 'proxy' });
  }
  if (url.protocol === 'https:') {
    throw new ConfigError(`${what} is https://, which is not supported: give the proxy's http:// address (the tunnel to the relay is end to end either way)`, { field: 'proxy' });
  }
  if (url.protocol !== 'http:') throw new ConfigError(`${what} has the scheme ${url.protocol.slice(0, 16)} but only http:// proxies are supported`, { field: 'proxy' });
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new ConfigError(`${what} has no host`, { field: 'proxy' });
  const port = url.port === '' ? 80 : Number(url.port);
  if (url.username === '' && url.password === '') return new ProxyServer(host, port);
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    throw new ConfigError(`${what} has malformed percent-escapes in its credentials`, { field: 'proxy' });
  }
  return new ProxyServer(host, port, { username, password });
}

/** The environment variables read, first non-empty wins; lowercase first, as curl does. */
const WSS_PROXY_VARS = ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'] as const;
/** ws:// relays read HTTP_PROXY first, then fall back to HTTPS_PROXY: both are tunnelled with CONNECT alike. */
const WS_PROXY_VARS = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'] as const;
const NO_PROXY_VARS = ['no_proxy', 'NO_PROXY'] as const;

/**
 * The proxy a relay URL goes through, or undefined for a direct connection.
 * - `option` false: never a proxy; a string: that proxy for every relay (NO_PROXY does not apply; '' means none).
 * - `option` undefined: the environment. wss:// reads https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY; ws:// reads
 *   http_proxy and HTTP_PROXY before those. NO_PROXY (or no_proxy) then exempts hosts, see {@link bypassesProxy}.
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG when the proxy URL is not usable (the message names the variable, not its value)
 */
export function resolveProxy(relayUrl: string, option: string | false | undefined, env: Readonly<Record<string, string | undefined>> = process.env): ProxyServer | undefined {
  if (option === false || option === '') return undefined;
  if (typeof option === 'string') return parseProxyUrl(option);
  let url: URL;
  try {
    url = new URL(relayUrl);
  } catch {
    return undefined; // The relay URL itself is refused where it is opened.
  }
  const secure = url.protocol === 'wss:';
  const name = (secure ? WSS_PROXY_VARS : WS_PROXY_VARS).find((n) => (env[n] ?? '').trim() !== '');
  if (name === undefined) return undefined;
  const noProxy = NO_PROXY_VARS.map((n) => env[n]).find((v) => (v ?? '').trim() !== '');
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  if (bypassesProxy(url.hostname, port, noProxy)) return undefined;
  return parseProxyUrl(env[name]!, `the proxy in ${name}`);
}

/**
 * Whether NO_PROXY exempts `host:port` from the proxy. Entries are separated by commas or spaces; matching ignores case.
 * - `*` exempts every host.
 * - A name exempts itself and its subdomains: `example.com` and `.example.com` (and `*.example.com`) both exempt
 *   `example.com` and `relay.example.com`, not `badexample.com`.
 * - An IP address exempts that address (IPv6 with or without brackets); `10.0.0.0/8` or `fd00::/8` a whole range.
 *   Names are not resolved: `127.0.0.1` does not exempt `localhost`.
 * - `:port` after an entry (`relay.example.com:8443`, `[::1]:8080`) limits it to that port.
 * Loopback is not exempt unless listed (as in curl): list `localhost,127.0.0.1,::1` to reach a local relay directly.
 */
export function bypassesProxy(host: string, port: number, noProxy: string | undefined): boolean {
  const target = normalHost(host);
  const family = isIP(target);
  for (const raw of (noProxy ?? '').split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: number | undefined;
    const bracket = /^\[([^\]]*)\](?::(\d+))?$/.exec(entry);
    if (bracket) {
      entry = bracket[1]!;
      if (bracket[2] !== undefined) entryPort = Number(bracket[2]);
    } else {
      const colon = entry.indexOf(':');
      // One colon is name:port or ipv4:port; more are a bare IPv6 address (or range), which has no port.
      if (colon >= 0 && colon === entry.lastIndexOf(':')) {
        const p = entry.slice(colon + 1);
        if (!/^\d{1,5}$/.test(p)) continue;
        entryPort = Number(p);
        entry = entry.slice(0, colon);
      }
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    const slash = entry.indexOf('/');
    if (slash >= 0) {
      if (family !== 0 && inRange(target, family, entry.slice(0, slash), entry.slice(slash + 1))) return true;
      continue;
    }
    if (isIP(entry) !== 0) {
      if (family !== 0 && inRange(target, family, entry, isIP(entry) === 4 ? '32' : '128')) return true;
      continue;
    }
    const name = normalHost(entry.replace(/^\*?\.+/, ''));
    if (name === '' || family !== 0) continue;
    if (target === name || target.endsWith(`.${name}`)) return true;
  }
  return false;
}

function normalHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.+$/, '');
}

function inRange(address: string, family: number, network: string, prefixText: string): boolean {
  const netFamily = isIP(network);
  if (netFamily !== family || !/^\d{1,3}$/.test(prefixText)) return false;
  const prefix = Number(prefixText);
  if (prefix > (family === 4 ? 32 : 128)) return false;
  const list = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  list.addSubnet(network, prefix, type);
  return list.check(address, type);
}

/** A proxy's complete answer to CONNECT: its status, and how many bytes the status line and headers took. */
export interface ConnectResponse {
  readonly status: number;
  /** The reason phrase, printable ASCII only, at most 80 characters. */
  readonly reason: string;
  /** Bytes up to and including the empty line; whatever follows is the tunnel's first bytes. */
  readonly headerBytes: number;
}

const STATUS_PREFIX = 'HTTP/1.';
const STATUS_LINE = /^HTTP\/1\.[01] ([1-5]\d\d)(?: (.*))?$/;
const HEADER_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/;

/**
 * Parses the start of a proxy's answer to CONNECT: undefined until the empty line that ends the headers arrived,
 * then the status (100-599). Lines end with CRLF (a bare LF is accepted); bytes other than tab, CR, LF, printable ASCII and
 * 0x80-0xff are malformed. Total: any input returns or throws one of the errors below.
 * @param bytes everything the proxy sent so far
 * @param maxBytes the cap on status line and headers (default MAX_PROXY_RESPONSE_BYTES)
 * @throws {ProtocolError} TESSERA_ERR_INVALID_FIELD for a malformed answer, TESSERA_ERR_LIMIT_EXCEEDED when no
 *   empty line came within maxBytes
 */
export function parseConnectResponse(bytes: Uint8Array, maxBytes = MAX_PROXY_RESPONSE_BYTES): ConnectResponse | undefined {
  const malformed = (field: string, offset: number): ProtocolError =>
    new ProtocolError(ErrorCode.InvalidField, `the proxy's answer to CONNECT is not http (${field} at byte ${offset})`, { context: 'proxy-response', field, offset });
  const prefix = Math.min(bytes.length, STATUS_PREFIX.length);
  for (let i = 0; i < prefix; i++) if (bytes[i] !== STATUS_PREFIX.charCodeAt(i)) throw malformed('status-line', i);
  const scan = Math.min(bytes.length, maxBytes);
  let end = -1;
  for (let i = 0; i < scan; i++) {
    const b = bytes[i]!;
    if (b < 0x20 ? b !== 0x09 && b !== 0x0a && b !== 0x0d : b === 0x7f) throw malformed('control-byte', i);
    // An empty line: LF LF or LF CR LF.
    if (b === 0x0a && i > 0 && (bytes[i - 1] === 0x0a || (bytes[i - 1] === 0x0d && i > 1 && bytes[i - 2] === 0x0a))) {
      end = i + 1;
      break;
    }
  }
  if (end < 0) {
    if (bytes.length >= maxBytes) {
      throw new ProtocolError(ErrorCode.LimitExceeded, `the proxy's answer to CONNECT has no end within ${maxBytes} bytes`, { context: 'proxy-response', expected: maxBytes });
    }
    return undefined;
  }
  let text = '';
  for (let i = 0; i < end; i++) text += String.fromCharCode(bytes[i]!);
  const lines: string[] = [];
  let offset = 0;
  for (const raw of text.split('\n').slice(0, -2)) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const cr = line.indexOf('\r');
    if (cr >= 0) throw malformed('bare-cr', offset + cr);
    if (lines.length > 0 && !HEADER_LINE.test(line)) throw malformed('header', offset);
    lines.push(line);
    offset += raw.length + 1;
  }
  const status = STATUS_LINE.exec(lines[0] ?? '');
  if (!status) throw malformed('status-line', 0);
  return { status: Number(status[1]), reason: (status[2] ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 80), headerBytes: end };
}

/** Options of openTunnel and connectThroughProxy. */
export interface TunnelOptions {
  readonly signal?: AbortSignal;
  /** Deadline for reaching the proxy and hearing its whole answer. */
  readonly timeoutMs: number;
  /** Cap on the answer's status line and headers (default MAX_PROXY_RESPONSE_BYTES). */
  readonly maxResponseBytes?: number;
}

/**
 * Opens a TCP connection to the proxy and asks it with CONNECT for a tunnel to `host:port`; resolves with the
 * socket once the proxy answered 2xx, with any bytes that followed the answer put back to be read first.
 * @throws {TesseraError} TESSERA_ERR_IO (the proxy cannot be reached, closed, or refused: `received` holds the
 *   http status; 407 says authentication), TESSERA_ERR_TIMEOUT, or the ProtocolError of parseConnectResponse
 * @throws {AbortError} when `signal` aborts
 */
export function openTunnel(proxy: ProxyServer, host: string, port: number, options: TunnelOptions): Promise<Socket> {
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  const target = hostPort(host, port);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: proxy.host, port: proxy.port });
    let received = Buffer.alloc(0);
    let done = false;
    const timer = setTimeout(() => fail(new TesseraError(ErrorCode.Timeout, `the proxy ${proxy} did not answer CONNECT in time`, { context: 'proxy' })), options.timeoutMs);
    const cleanup = (): void => {
      done = true;
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('readable', onReadable);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error): void => {
      if (done) return;
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onConnect = (): void => {
      socket.write(proxy.connectRequest(host, port));
    };
    const onReadable = (): void => {
      for (let chunk: Buffer | null; !done && (chunk = socket.read() as Buffer | null) !== null; ) {
        received = Buffer.concat([received, chunk]);
        let answer: ConnectResponse | undefined;
        try {
          answer = parseConnectResponse(received, options.maxResponseBytes);
        } catch (err) {
          fail(err instanceof Error ? err : new TesseraError(ErrorCode.Io, 'the proxy answer could not be read', { context: 'proxy' }));
          return;
        }
        if (answer === undefined) continue;
        if (answer.status < 200 || answer.status > 299) {
          fail(refusal(proxy, target, answer.status));
          return;
        }
        // The tunnel is open: stop reading, and put back what came after the answer so the next reader sees it first.
        const rest = received.subarray(answer.headerBytes);
        cleanup();
        if (rest.length > 0) socket.unshift(rest);
        resolve(socket);
        return;
      }
    };
    const onError = (err: NodeJS.ErrnoException): void =>
      fail(new TesseraError(ErrorCode.Io, `could not reach the proxy ${proxy}: ${(err.code ?? err.message).toLowerCase()}`, { context: 'proxy', cause: err }));
    const onEnd = (): void => fail(new TesseraError(ErrorCode.Io, `the proxy ${proxy} closed the connection before answering CONNECT`, { context: 'proxy' }));
    const onAbort = (): void => fail(new AbortError(undefined, { cause: signal?.reason }));
    socket.on('connect', onConnect);
    socket.on('readable', onReadable);
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function refusal(proxy: ProxyServer, target: string, status: number): TesseraError {
  const detail = { context: 'proxy', received: status };
  if (status === 407) {
    return new TesseraError(
      ErrorCode.Io,
      proxy.hasCredentials
        ? `the proxy ${proxy} refused the credentials for CONNECT (http 407, proxy authentication required)`
        : `the proxy ${proxy} wants proxy authentication (http 407): put user:password in the proxy url of the environment`,
      detail,
    );
  }
  return new TesseraError(ErrorCode.Io, `the proxy ${proxy} refused CONNECT to ${target} with http ${status}`, detail);
}

/**
 * A connection to a relay URL's host through the proxy: the CONNECT tunnel, then for wss:// TLS over it to the
 * relay's own name (SNI and certificate check as on a direct connection). Hand it to ws as `createConnection`.
 * @param tlsOptions extra TLS options for wss:// (e.g. a test's `ca`)
 * @throws see openTunnel; TESSERA_ERR_IO for a URL that is not ws:// or wss://
 */
export async function connectThroughProxy(proxy: ProxyServer, relayUrl: string, options: TunnelOptions, tlsOptions: ConnectionOptions = {}): Promise<Socket> {
  let url: URL;
  try {
    url = new URL(relayUrl);
  } catch (err) {
    throw new TesseraError(ErrorCode.Io, 'invalid relay url', { context: 'relay', cause: err });
  }
  const secure = url.protocol === 'wss:';
  if (!secure && url.protocol !== 'ws:') throw new TesseraError(ErrorCode.Io, 'invalid relay url', { context: 'relay' });
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  const tunnel = await openTunnel(proxy, host, port, options);
  if (!secure) return tunnel;
  return tlsConnect({ ...tlsOptions, socket: tunnel, host, servername: isIP(host) === 0 ? host : '' });
}
