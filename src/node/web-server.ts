/**
 * The host's web front door: an HTTP server (HTTPS with `tls`) that serves the browser viewer (web/, bundled by
 * esbuild) and the WebSocket endpoint (src/transport/websocket.ts) whose streams go to `host.attach`. Loopback by
 * default. The page pins the host key, but a page served over plain HTTP to another machine can be replaced on the
 * way, check and all: serve it with a certificate there.
 * The helper opens `http://HOST:PORT/#<tessera:// invitation URL, URI-encoded>`: the invitation rides in the
 * fragment, which browsers never send to a server, so it never reaches a log.
 *
 * The viewer's static files come from dist/web. In a source checkout they are rebuilt on demand when missing or
 * stale (a content hash of every input is kept in dist/web/build.json), so the host works from a fresh clone
 * without a manual build step; an installed package serves the prebuilt files.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AbortError, ConfigError, ErrorCode, StateError, TesseraError } from '../core/index.js';
import type { Invitation } from '../handshake/invitation.js';
import { WEBSOCKET_PATH, WebSocketAcceptor } from '../transport/websocket.js';
import type { Duplex } from 'node:stream';

/** Options of serveWeb. */
export interface ServeWebOptions {
  /** TCP port; 0 picks a free one (default 0). */
  readonly port?: number;
  /** Address to bind (default 127.0.0.1). Pass '0.0.0.0' or '::' only to let other machines open the viewer. */
  readonly host?: string;
  /** Closes the server when aborted. */
  readonly signal?: AbortSignal;
  /** Most WebSocket connections open at once (default 64); more are refused with HTTP 503. */
  readonly maxConnections?: number;
  /** The viewer's files; default: loadWebAssets() (dist/web, rebuilt in a source checkout when stale). */
  readonly assets?: WebAssets;
  /**
   * On a non-loopback bind, the host names helpers use to reach this server (e.g. 'helpdesk.example.com'). A
   * request whose Host header is neither one of these nor an IP address is refused (HTTP 421): a page on another
   * site whose name was made to resolve here (DNS rebinding) cannot talk to the viewer or its WebSocket.
   */
  readonly hostNames?: readonly string[];
  /**
   * A certificate and its key (PEM): the page and its WebSocket are served over https:// and wss://. Without TLS, on
   * an address other machines reach, anyone on the path can replace the page's JavaScript, which voids the host-key
   * check the page performs: give a certificate there.
   */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
}

/** A running web server. */
export interface WebServer {
  readonly port: number;
  /** The bound address. */
  readonly host: string;
  /** `http://HOST:PORT` (or `https://` with TLS) of the viewer; on a wildcard bind, HOST is 127.0.0.1. */
  readonly origin: string;
  /** True when served over TLS (https://, wss://). */
  readonly secure: boolean;
  /**
   * The link a helper opens: the viewer URL with the invitation's tessera:// URL in the fragment.
   * @param at the host name or IP address the helper uses (default: the origin's host); this server's port is kept
   */
  url(invitation: { toURL(): string } | Invitation | string, at?: string): string;
  /** WebSocket connections open now. */
  readonly connections: number;
  /** Stops listening and closes every WebSocket (sessions end as 'connection-lost' unless the host closed first). */
  close(): Promise<void>;
}

/** One static file. */
export interface WebAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** The viewer's files by URL path ('/', '/viewer.js', ...). */
export type WebAssets = ReadonlyMap<string, WebAsset>;

/** Files of dist/web and where they come from: the bundle is built, the rest copied from web/. */
const STATIC_FILES = ['index.html', 'style.css'] as const;
const BUNDLE_FILES = ['viewer.js', 'viewer.js.map'] as const;
const STAMP_FILE = 'build.json';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
};

/** The repository (or installed package) root: the nearest folder above this file with tessera's package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) return dir;
    dir = dirname(dir);
  }
  throw new ConfigError('could not find the tessera package root above src/node');
}

/** Options of buildWebAssets. */
export interface BuildWebOptions {
  /** Repository root (default packageRoot()). */
  readonly root?: string;
  /** Output folder (default ROOT/dist/web); nothing is written when `write` is false. */
  readonly outDir?: string;
  /** Write the files (default true). */
  readonly write?: boolean;
  /** Minify the bundle (default true). */
  readonly minify?: boolean;
}

/** What a build produced. */
export interface WebBuild {
  readonly assets: WebAssets;
  readonly outDir: string;
  /** Bytes of viewer.js. */
  readonly bundleBytes: number;
  /** Input files and their SHA-256, relative to the root. */
  readonly inputs: Readonly<Record<string, string>>;
}

/**
 * Bundles web/viewer.ts (and the pure layers of src/ it imports) with esbuild into viewer.js, copies
 * index.html and style.css, and writes them with a build.json stamp to `outDir`.
 * esbuild is a development dependency, loaded only here.
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG when esbuild or web/ is missing, or the bundle fails
 */
export async function buildWebAssets(options: BuildWebOptions = {}): Promise<WebBuild> {
  const root = options.root ?? packageRoot();
  const outDir = options.outDir ?? join(root, 'dist', 'web');
  const entry = join(root, 'web', 'viewer.ts');
  if (!existsSync(entry)) throw new ConfigError(`the viewer sources are missing (${relative(process.cwd(), entry)})`);
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    throw new ConfigError('the web viewer is not built and esbuild is not installed; run "npm install" then "npm run build:web"', { cause: err });
  }
  let result: import('esbuild').BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome109', 'firefox115', 'safari16'],
      minify: options.minify ?? true,
      sourcemap: 'linked',
      outdir: outDir,
      write: false,
      metafile: true,
      logLevel: 'silent',
      legalComments: 'linked',
    });
  } catch (err) {
    const first = (err as { errors?: { text: string }[] }).errors?.[0]?.text;
    throw new ConfigError(`the web viewer failed to build: ${first ?? (err as Error).message}`, { cause: err });
  }
  const assets = new Map<string, WebAsset>();
  for (const file of result.outputFiles) {
    const name = relative(outDir, file.path).split(sep).join('/');
    assets.set(`/${name}`, { contentType: contentTypeOf(name), body: Buffer.from(file.contents) });
  }
  const inputs: Record<string, string> = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    // Pseudo-inputs such as '(disabled):crypto' (a package.json "browser" field mapping to false) have no file.
    if (/^\([a-z-]+\):/.test(input)) continue;
    inputs[input] = await hashFile(join(root, input));
  }
  for (const name of STATIC_FILES) {
    const body = await readFile(join(root, 'web', name));
    assets.set(`/${name}`, { contentType: contentTypeOf(name), body });
    inputs[`web/${name}`] = sha256(body);
  }
  assets.set('/', assets.get('/index.html')!);
  if (options.write ?? true) {
    await mkdir(outDir, { recursive: true });
    for (const [path, asset] of assets) if (path !== '/') await writeAtomic(join(outDir, path.slice(1)), asset.body);
    // The stamp goes last: a build interrupted before it is rebuilt next time.
    await writeAtomic(join(outDir, STAMP_FILE), Buffer.from(JSON.stringify({ inputs }, null, 1)));
  }
  return { assets, outDir, bundleBytes: assets.get('/viewer.js')?.body.byteLength ?? 0, inputs };
}

let cached: Promise<WebAssets> | undefined;

/**
 * The viewer's files, loaded once per process: dist/web when it is current, else a fresh build (in a source
 * checkout with esbuild), else dist/web as it is (an installed package).
 * @throws {ConfigError} when there is neither a usable dist/web nor a way to build it
 */
export function loadWebAssets(root = packageRoot()): Promise<WebAssets> {
  if (root !== packageRoot()) return loadFresh(root);
  cached ??= loadFresh(root).catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function loadFresh(root: string): Promise<WebAssets> {
  const outDir = join(root, 'dist', 'web');
  const hasSources = existsSync(join(root, 'web', 'viewer.ts'));
  if (hasSources) {
    if (await isCurrent(root, outDir)) return readDist(outDir);
    try {
      return (await buildWebAssets({ root, outDir })).assets;
    } catch (err) {
      // Without esbuild (or with a read-only checkout), a complete older build is still better than nothing.
      if (hasDist(outDir)) return readDist(outDir);
      throw err;
    }
  }
  if (hasDist(outDir)) return readDist(outDir);
  throw new ConfigError(`the web viewer is not built (no ${outDir}); run "npm run build:web"`);
}

function hasDist(outDir: string): boolean {
  return [...STATIC_FILES, 'viewer.js'].every((f) => existsSync(join(outDir, f)));
}

/** True when dist/web has a stamp whose every input still has the same content. */
async function isCurrent(root: string, outDir: string): Promise<boolean> {
  if (!hasDist(outDir)) return false;
  let stamp: { inputs?: Record<string, string> };
  try {
    stamp = JSON.parse(await readFile(join(outDir, STAMP_FILE), 'utf8')) as typeof stamp;
  } catch {
    return false;
  }
  const inputs = stamp.inputs;
  if (!inputs || typeof inputs !== 'object' || Object.keys(inputs).length === 0) return false;
  for (const [file, hash] of Object.entries(inputs)) {
    const path = resolve(root, file);
    if (!existsSync(path) || (await hashFile(path)) !== hash) return false;
  }
  return true;
}

async function readDist(outDir: string): Promise<WebAssets> {
  const assets = new Map<string, WebAsset>();
  for (const name of [...STATIC_FILES, ...BUNDLE_FILES, 'viewer.js.LEGAL.txt']) {
    const path = join(outDir, name);
    if (existsSync(path)) assets.set(`/${name}`, { contentType: contentTypeOf(name), body: await readFile(path) });
  }
  assets.set('/', assets.get('/index.html')!);
  return assets;
}

async function hashFile(path: string): Promise<string> {
  return sha256(await readFile(path));
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function writeAtomic(path: string, body: Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, body);
  await rename(tmp, path);
}

function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return CONTENT_TYPES[dot < 0 ? '' : name.slice(dot)] ?? (name.endsWith('.txt') ? 'text/plain; charset=utf-8' : 'application/octet-stream');
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Whether to answer a request with this Host header (a guard against DNS rebinding): on a loopback bind, only
 * loopback names with the bound port; elsewhere, an IP address literal (a name an attacker controls can be rebound,
 * an address cannot) or one of `names`, with or without the port.
 */
function hostAllowed(header: string | undefined, bound: string, port: number, names: readonly string[]): boolean {
  if (header === undefined) return false;
  if (LOOPBACK.has(bound)) return header === `127.0.0.1:${port}` || header === `localhost:${port}` || header === `[::1]:${port}`;
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(header);
  if (!match) return false;
  const name = match[1]!.toLowerCase();
  if (match[2] !== undefined && Number(match[2]) !== port) return false;
  if (isIP(name.startsWith('[') ? name.slice(1, -1) : name) !== 0) return true;
  return names.some((n) => n.toLowerCase() === name || n.toLowerCase() === `${name}:${port}`);
}

/** A Host header safe to echo into the CSP (host name, IPv4, bracketed IPv6, port). */
function cspHost(header: string): string | undefined {
  return /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(header) ? header : undefined;
}

function securityHeaders(hostHeader: string): Record<string, string> {
  const wsHost = cspHost(hostHeader);
  return {
    'Content-Security-Policy': [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' blob: data:",
      `connect-src 'self'${wsHost ? ` ws://${wsHost} wss://${wsHost}` : ''}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
}

/** What the web server needs of a host: somewhere to hand each WebSocket stream (the API's Host). */
export interface WebHost {
  attach(stream: Duplex): Promise<unknown>;
}

/**
 * Serves the web viewer and its WebSocket endpoint for `host`. Each WebSocket becomes `host.attach(stream)`:
 * the same handshake, consent, throttling and audit as a TCP helper (the peer address is the socket's).
 * @returns the bound port and `url(invitation)`, the link a helper opens
 * @throws {ConfigError} when the viewer cannot be built or found
 * @throws {TesseraError} TESSERA_ERR_IO when the port cannot be bound
 * @throws {AbortError} when `signal` aborts first
 */
export async function serveWeb(host: WebHost, options: ServeWebOptions = {}): Promise<WebServer> {
  const signal = options.signal;
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  const assets = options.assets ?? (await loadWebAssets());
  if (!assets.has('/viewer.js')) throw new ConfigError('the web viewer assets lack viewer.js');
  const bindHost = options.host ?? '127.0.0.1';
  const maxConnections = options.maxConnections ?? 64;
  const acceptor = new WebSocketAcceptor();
  const sockets = new Set<Socket>();
  let port = 0;
  let closed = false;

  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => handleRequest(req, res))
    : createServer((req, res) => handleRequest(req, res));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket: Socket) => socket.destroy());

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const hostHeader = req.headers.host;
    if (!hostAllowed(hostHeader, bindHost, port, options.hostNames ?? [])) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8' }).end('misdirected request\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const asset = assets.get(path);
    if (!asset) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...securityHeaders(hostHeader!) }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': asset.contentType, 'Content-Length': asset.body.byteLength, ...securityHeaders(hostHeader!) });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const refuse = (status: number, text: string): void => {
      socket.on('error', () => {});
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const hostHeader = req.headers.host;
    if (closed) return refuse(503, 'Service Unavailable');
    if (!hostAllowed(hostHeader, bindHost, port, options.hostNames ?? [])) return refuse(421, 'Misdirected Request');
    if ((req.url ?? '').split('?')[0] !== WEBSOCKET_PATH) return refuse(404, 'Not Found');
    // Browsers always send Origin: only pages this server served may connect (other sites' pages may not use the
    // helper's browser to burn the host's throttling budget). Clients without Origin are not browsers.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${hostHeader}` && origin !== `https://${hostHeader}`) return refuse(403, 'Forbidden');
    if (acceptor.connections >= maxConnections) return refuse(503, 'Service Unavailable');
    acceptor.upgrade(req, socket, head, (stream) => {
      host.attach(stream).catch(() => {
        // Refusals and failures are audited by the host and told to the viewer on the wire.
      });
    });
  });

  await new Promise<void>((resolvePromise, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      signal?.removeEventListener('abort', onAbort);
      reject(new TesseraError(ErrorCode.Io, `could not listen on ${bindHost}:${options.port ?? 0}: ${err.code ?? err.message}`, { cause: err }));
    };
    const onAbort = (): void => {
      server.off('error', onError);
      server.close();
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    server.once('error', onError);
    server.listen(options.port ?? 0, bindHost, () => {
      server.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      resolvePromise();
    });
  });
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new StateError('the web server has no address');
  port = address.port;
  const boundHost = address.address;
  const scheme = options.tls ? 'https' : 'http';
  const originOf = (at: string): string => `${scheme}://${at.includes(':') && !at.startsWith('[') ? `[${at}]` : at}:${port}`;
  const origin = originOf(boundHost === '0.0.0.0' || boundHost === '::' ? '127.0.0.1' : boundHost);

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    signal?.removeEventListener('abort', onAbortServer);
    const stopped = new Promise<void>((r) => server.close(() => r()));
    await acceptor.close();
    for (const s of sockets) s.destroy();
    await stopped;
  };
  const onAbortServer = (): void => void close();
  signal?.addEventListener('abort', onAbortServer, { once: true });

  return {
    port,
    host: boundHost,
    origin,
    secure: Boolean(options.tls),
    url(invitation, at) {
      const text = typeof invitation === 'string' ? invitation : 'toURL' in invitation ? invitation.toURL() : invitation.toUrl();
      return `${at === undefined ? origin : originOf(at)}/#${encodeURIComponent(text)}`;
    },
    get connections() {
      return acceptor.connections;
    },
    close,
  };
}
