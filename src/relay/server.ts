/**
 * The relay server (spec/relay.md): one port, WebSocket. A host keeps a control connection open and proves its
 * host key; a helper arrives with a rendezvous id; the relay tells the host (Incoming, with a one-time token), the
 * host opens a data connection with that token, and the relay splices the helper's socket and the data socket
 * byte for byte, with backpressure both ways. The tessera handshake runs end to end through the splice: the relay
 * holds no key and sees only ciphertext. Every pairing and refusal goes to the audit sink, with short hashes only.
 */
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { ConfigError, ErrorCode, TesseraError, toHex, type Clock } from '../core/index.js';
import {
  MAX_RELAY_MESSAGE_BYTES, PAIRING_TOKEN_BYTES, RELAY_NONCE_BYTES, RelayPath, RelayRefusal, decodeRelayMessage, dhKeyPair, encodeRelayMessage, idKey,
  offerRendezvousId, relayRefusalName, shortHash, verifyRelayRegisterMac, type RelayMessage,
} from '../handshake/index.js';
import { MAX_WEBSOCKET_MESSAGE_BYTES, WebSocketStream } from '../transport/websocket.js';
import { nodeRandom } from '../node/crypto.js';
import type { WebAssets } from '../node/web-server.js';
import { RelayPresence } from './presence.js';

/** Defaults of the relay (spec/relay.md §6). */
export const RELAY_DEFAULTS = {
  maxConnections: 4096,
  maxConnectionsPerAddress: 32,
  /** Bytes both ways through one pair before the relay ends it (4 GiB). */
  maxPairBytes: 4 * 1024 * 1024 * 1024,
  /** Bytes per second through one pair, both ways together (0: no cap). */
  maxPairBytesPerSecond: 32 * 1024 * 1024,
  /** A spliced pair with no byte either way for this long is ended (a tessera session sends keepalives every 5 s). */
  idleTimeoutMs: 60_000,
  /** How long a helper waits for its host's data connection. */
  pairingTimeoutMs: 10_000,
  /** How long a new connection has to send its first message (register, connect, accept). */
  helloTimeoutMs: 10_000,
  /** Helpers waiting for one host at once. */
  maxPendingPerHost: 16,
  /** Ping interval on control connections; two missed pongs end the connection. */
  pingIntervalMs: 15_000,
} as const;

/** Options of startRelay. Every cap has a default in RELAY_DEFAULTS. */
export interface RelayOptions {
  /** TCP port; 0 picks a free one (default 8080, or 443 with TLS). */
  readonly port?: number;
  /** Address to bind (default 0.0.0.0). */
  readonly host?: string;
  /** TLS certificate and key (PEM); then the relay speaks wss://. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Host public keys allowed to register; undefined: any host that proves its key (an open relay). */
  readonly allowedHosts?: readonly Uint8Array[];
  readonly maxConnections?: number;
  readonly maxConnectionsPerAddress?: number;
  readonly maxPairBytes?: number;
  readonly maxPairBytesPerSecond?: number;
  readonly idleTimeoutMs?: number;
  readonly pairingTimeoutMs?: number;
  readonly helloTimeoutMs?: number;
  readonly maxPendingPerHost?: number;
  readonly pingIntervalMs?: number;
  /** JSON-lines audit file (appended, 0600). */
  readonly auditFile?: string;
  /**
   * Join a cluster: publish the hosts with a standing registration (offers) on NATS and send a helper whose host
   * waits at another relay of the cluster there (Redirect). `publicUrl` is how helpers reach this relay.
   */
  readonly cluster?: { readonly nats: string; readonly publicUrl: string; readonly ttlMs?: number; readonly refreshMs?: number };
  /** The browser viewer's files, served on GET from the same origin (optional). */
  readonly assets?: WebAssets;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  /** Sees every spliced chunk (tests check that the relay carries only ciphertext). */
  readonly tap?: (direction: 'to-host' | 'to-helper', chunk: Uint8Array) => void;
}

/** One line of the relay's audit log. Never a secret, never a rendezvous id or token in full. */
export interface RelayAuditEvent {
  readonly time: string;
  /** registered, register-refused, unregistered, paired, refused, redirected, ended */
  readonly event: string;
  /** The refusal or end reason (BAD_PROOF, UNKNOWN_ID, PAIRING_TIMEOUT, IDLE, BYTE_CAP, CLOSED, ...). */
  readonly reason?: string;
  /** "ip:port" of the connection concerned. */
  readonly peer?: string;
  /** Short hash of the host key. */
  readonly host?: string;
  /** Short hash of the rendezvous id. */
  readonly id?: string;
  /** Bytes spliced, for 'ended'. */
  readonly bytes?: number;
}

interface ControlConn {
  readonly ws: WebSocket;
  readonly peer: string;
  hostKey: Uint8Array | undefined;
  hostTag: string | undefined;
  ids: Set<string>;
  /** The host's offer rendezvous id (hex), reserved for it while it is registered. */
  offerKey: string | undefined;
  /** Whether it serves its offer id (a standing registration, published to the cluster). */
  standing: boolean;
  pending: number;
  alive: boolean;
}

interface Pending {
  readonly helper: WebSocket;
  readonly helperPeer: string;
  readonly control: ControlConn;
  readonly idTag: string;
  readonly timer: NodeJS.Timeout;
}

const CLOSE_POLICY = 1008;

/** A running relay. Events: 'audit' (RelayAuditEvent). */
export class RelayServer extends EventEmitter {
  readonly port: number;
  readonly host: string;
  /** `ws://HOST:PORT` or `wss://HOST:PORT` (loopback shown for an unspecified bind address). */
  readonly url: string;
  /** True when no host list was given: any host that proves its key may register. */
  readonly open: boolean;
  readonly #server: Server;
  readonly #o: Required<Pick<RelayOptions, 'maxConnections' | 'maxConnectionsPerAddress' | 'maxPairBytes' | 'maxPairBytesPerSecond' | 'idleTimeoutMs' | 'pairingTimeoutMs' | 'helloTimeoutMs' | 'maxPendingPerHost' | 'pingIntervalMs'>>;
  readonly #options: RelayOptions;
  readonly #allowed: Set<string> | undefined;
  readonly #clock: Clock;
  readonly #controlWss = new WebSocketServer({ noServer: true, maxPayload: MAX_RELAY_MESSAGE_BYTES, perMessageDeflate: false, clientTracking: false });
  readonly #dataWss = new WebSocketServer({ noServer: true, maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES, perMessageDeflate: false, clientTracking: false });
  readonly #sockets = new Set<Socket>();
  readonly #perAddress = new Map<string, number>();
  readonly #hosts = new Map<string, ControlConn>();
  readonly #ids = new Map<string, ControlConn>();
  /** Offer ids of registered hosts: reserved for them, whoever else serves them. */
  readonly #offerOwners = new Map<string, ControlConn>();
  readonly #presence: RelayPresence | undefined;
  readonly #pending = new Map<string, Pending>();
  readonly #pairs = new Set<() => void>();
  readonly #pinger: NodeJS.Timeout;
  #closed = false;

  /** @internal use startRelay */
  constructor(server: Server, options: RelayOptions, bound: { port: number; host: string }) {
    super();
    this.#server = server;
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.port = bound.port;
    this.host = bound.host;
    const shown = bound.host === '0.0.0.0' || bound.host === '::' ? '127.0.0.1' : bound.host.includes(':') ? `[${bound.host}]` : bound.host;
    this.url = `${options.tls ? 'wss' : 'ws'}://${shown}:${bound.port}`;
    this.#allowed = options.allowedHosts ? new Set(options.allowedHosts.map((k) => toHex(k))) : undefined;
    this.open = this.#allowed === undefined;
    const d = RELAY_DEFAULTS;
    this.#o = {
      maxConnections: options.maxConnections ?? d.maxConnections,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? d.maxConnectionsPerAddress,
      maxPairBytes: options.maxPairBytes ?? d.maxPairBytes,
      maxPairBytesPerSecond: options.maxPairBytesPerSecond ?? d.maxPairBytesPerSecond,
      idleTimeoutMs: options.idleTimeoutMs ?? d.idleTimeoutMs,
      pairingTimeoutMs: options.pairingTimeoutMs ?? d.pairingTimeoutMs,
      helloTimeoutMs: options.helloTimeoutMs ?? d.helloTimeoutMs,
      maxPendingPerHost: options.maxPendingPerHost ?? d.maxPendingPerHost,
      pingIntervalMs: options.pingIntervalMs ?? d.pingIntervalMs,
    };
    if (options.auditFile) closeSync(openSync(options.auditFile, 'a', 0o600));
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(req, socket, head));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#request(req, res));
    this.#pinger = setInterval(() => this.#ping(), this.#o.pingIntervalMs);
    this.#pinger.unref();
    this.#presence = options.cluster ? new RelayPresence(options.cluster, () => this.#standingIds()) : undefined;
  }

  /** Whether this relay's cluster link (NATS) is up; undefined without a cluster. */
  get clusterConnected(): boolean | undefined {
    return this.#presence?.connected;
  }

  /** Offer ids of standing registrations held elsewhere in the cluster, as known now. */
  get clusterEntries(): number {
    return this.#presence?.size ?? 0;
  }

  *#standingIds(): Iterable<string> {
    for (const conn of this.#hosts.values()) if (conn.standing && conn.offerKey) yield conn.offerKey;
  }

  /** Hosts registered now. */
  get hosts(): number {
    return this.#hosts.size;
  }

  /** Pairs spliced now. */
  get pairs(): number {
    return this.#pairs.size;
  }

  /** Stops listening and drops every connection at once (hosts re-register elsewhere; sessions end). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pinger);
    this.#presence?.close();
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    for (const end of [...this.#pairs]) end();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  #audit(e: Omit<RelayAuditEvent, 'time'>): void {
    const event: RelayAuditEvent = { time: new Date(this.#clock()).toISOString(), ...e };
    if (this.#options.auditFile) {
      try {
        appendFileSync(this.#options.auditFile, JSON.stringify(event) + '\n', { mode: 0o600 });
      } catch {
        // The audit sink still gets the event; a full disk must not take the relay down.
      }
    }
    this.emit('audit', event);
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const asset = req.method === 'GET' || req.method === 'HEAD' ? this.#options.assets?.get(path === '' ? '/' : path) : undefined;
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': asset.contentType, 'content-length': asset.body.byteLength, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  #upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => {});
    const path = (req.url ?? '').split('?')[0];
    const address = socket.remoteAddress ?? 'unknown';
    const peer = formatPeer(address, socket.remotePort);
    const refuseHttp = (status: number, reason: string): void => {
      this.#audit({ event: 'refused', reason, peer });
      socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Service Unavailable'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (this.#closed) return void socket.destroy();
    if (path !== RelayPath.Host && path !== RelayPath.Data && path !== RelayPath.Connect) return refuseHttp(404, 'UNKNOWN_PATH');
    const open = this.#openConnections();
    if (open >= this.#o.maxConnections) return refuseHttp(503, 'TOO_MANY_CONNECTIONS');
    const mine = this.#perAddress.get(address) ?? 0;
    if (mine >= this.#o.maxConnectionsPerAddress) return refuseHttp(503, 'TOO_MANY_FROM_ADDRESS');
    this.#perAddress.set(address, mine + 1);
    let counted = true;
    const release = (): void => {
      if (!counted) return;
      counted = false;
      const n = (this.#perAddress.get(address) ?? 1) - 1;
      if (n <= 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, n);
    };
    socket.once('close', release);
    const wss = path === RelayPath.Host ? this.#controlWss : this.#dataWss;
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.setNoDelay(true);
      ws.on('error', () => {});
      if (path === RelayPath.Host) this.#control(ws, peer);
      else this.#hello(ws, peer, path === RelayPath.Connect ? 'connect' : 'accept');
    });
  }

  #openConnections(): number {
    let n = 0;
    for (const v of this.#perAddress.values()) n += v;
    return n;
  }

  // --- hosts ---------------------------------------------------------------------------------------------------

  #control(ws: WebSocket, peer: string): void {
    const kp = dhKeyPair(nodeRandom(32));
    const nonce = nodeRandom(RELAY_NONCE_BYTES);
    const conn: ControlConn = { ws, peer, hostKey: undefined, hostTag: undefined, ids: new Set(), offerKey: undefined, standing: false, pending: 0, alive: true };
    const hello = setTimeout(() => refuse(RelayRefusal.Malformed, 'HELLO_TIMEOUT'), this.#o.helloTimeoutMs);
    hello.unref();
    const refuse = (code: RelayRefusal, reason = relayRefusalName(code)): void => {
      clearTimeout(hello);
      this.#audit({ event: conn.hostKey && conn.hostTag && this.#hosts.get(toHex(conn.hostKey)) === conn ? 'unregistered' : 'register-refused', reason, peer, ...(conn.hostTag ? { host: conn.hostTag } : {}) });
      sendAndClose(ws, { type: 'refused', code });
    };
    ws.on('pong', () => (conn.alive = true));
    ws.send(encodeRelayMessage({ type: 'challenge', nonce, relayKey: kp.publicKey }));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      let m: RelayMessage;
      try {
        if (!isBinary) throw new Error('text');
        m = decodeRelayMessage(new Uint8Array(data as Buffer));
      } catch {
        return refuse(RelayRefusal.Malformed);
      }
      if (conn.hostKey === undefined) {
        if (m.type !== 'register') return refuse(RelayRefusal.Malformed);
        clearTimeout(hello);
        const keyHex = toHex(m.hostKey);
        conn.hostTag = shortHash(m.hostKey);
        if (!verifyRelayRegisterMac(kp.secretKey, kp.publicKey, nonce, m.hostKey, m.mac)) return refuse(RelayRefusal.BadProof);
        if (this.#allowed && !this.#allowed.has(keyHex)) return refuse(RelayRefusal.HostNotAllowed);
        conn.hostKey = m.hostKey;
        const previous = this.#hosts.get(keyHex);
        if (previous) {
          this.#dropHost(previous);
          this.#audit({ event: 'unregistered', reason: 'REPLACED', peer: previous.peer, host: conn.hostTag });
          sendAndClose(previous.ws, { type: 'refused', code: RelayRefusal.Replaced });
        }
        this.#hosts.set(keyHex, conn);
        // The host's offer id is its own: whoever else serves it loses it now (spec/relay.md §5.1).
        conn.offerKey = idKey(offerRendezvousId(m.hostKey));
        this.#offerOwners.set(conn.offerKey, conn);
        const squatter = this.#ids.get(conn.offerKey);
        if (squatter && squatter !== conn) {
          this.#ids.delete(conn.offerKey);
          squatter.ids.delete(conn.offerKey);
        }
        ws.send(encodeRelayMessage({ type: 'registered' }));
        this.#audit({ event: 'registered', peer, host: conn.hostTag });
        return;
      }
      if (m.type !== 'serve') return refuse(RelayRefusal.Malformed);
      for (const k of conn.ids) if (this.#ids.get(k) === conn) this.#ids.delete(k);
      conn.ids = new Set();
      for (const id of m.ids) {
        const k = idKey(id);
        const owner = this.#ids.get(k);
        // An id served by another host stays with it (ids are derived from the host's secret: a clash is an attack),
        // and another registered host's offer id is never served by this one.
        if (owner && owner !== conn) continue;
        const offerOwner = this.#offerOwners.get(k);
        if (offerOwner && offerOwner !== conn) continue;
        this.#ids.set(k, conn);
        conn.ids.add(k);
      }
      const standing = conn.offerKey !== undefined && conn.ids.has(conn.offerKey);
      if (standing !== conn.standing) {
        conn.standing = standing;
        if (standing) this.#presence?.add(conn.offerKey!);
        else this.#presence?.remove(conn.offerKey!);
      }
    });
    ws.once('close', () => {
      clearTimeout(hello);
      if (conn.hostKey && this.#hosts.get(toHex(conn.hostKey)) === conn) {
        this.#dropHost(conn);
        this.#audit({ event: 'unregistered', reason: 'CLOSED', peer, host: conn.hostTag! });
      }
    });
  }

  #dropHost(conn: ControlConn): void {
    if (conn.hostKey && this.#hosts.get(toHex(conn.hostKey)) === conn) this.#hosts.delete(toHex(conn.hostKey));
    for (const k of conn.ids) if (this.#ids.get(k) === conn) this.#ids.delete(k);
    conn.ids = new Set();
    if (conn.offerKey && this.#offerOwners.get(conn.offerKey) === conn) this.#offerOwners.delete(conn.offerKey);
    if (conn.standing) {
      conn.standing = false;
      this.#presence?.remove(conn.offerKey!);
    }
    for (const [token, p] of this.#pending) {
      if (p.control !== conn) continue;
      this.#pending.delete(token);
      clearTimeout(p.timer);
      this.#audit({ event: 'refused', reason: 'HOST_GONE', peer: p.helperPeer, host: conn.hostTag!, id: p.idTag });
      sendAndClose(p.helper, { type: 'refused', code: RelayRefusal.HostGone });
    }
  }

  #ping(): void {
    for (const conn of this.#hosts.values()) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.ws.ping();
      } catch {
        conn.ws.terminate();
      }
    }
  }

  // --- helpers and data connections ----------------------------------------------------------------------------

  /** The first message of a helper (connect) or of a host's data connection (accept). */
  #hello(ws: WebSocket, peer: string, expect: 'connect' | 'accept'): void {
    const timer = setTimeout(() => {
      this.#audit({ event: 'refused', reason: 'HELLO_TIMEOUT', peer });
      sendAndClose(ws, { type: 'refused', code: RelayRefusal.Malformed });
    }, this.#o.helloTimeoutMs);
    timer.unref();
    const onClose = (): void => clearTimeout(timer);
    ws.once('close', onClose);
    ws.once('message', (data: RawData, isBinary: boolean) => {
      clearTimeout(timer);
      ws.off('close', onClose);
      // Bytes after the hello wait in the socket until the splice reads them.
      ws.pause();
      let m: RelayMessage | undefined;
      try {
        if (isBinary) m = decodeRelayMessage(new Uint8Array(data as Buffer));
      } catch {
        m = undefined;
      }
      if (!m || m.type !== expect) {
        this.#audit({ event: 'refused', reason: 'MALFORMED', peer });
        return sendAndClose(ws, { type: 'refused', code: RelayRefusal.Malformed });
      }
      if (m.type === 'connect') this.#connect(ws, peer, m.id);
      else if (m.type === 'accept') this.#accept(ws, peer, m.token);
    });
  }

  #connect(helper: WebSocket, peer: string, id: Uint8Array): void {
    const idTag = shortHash(id);
    const control = this.#ids.get(idKey(id));
    if (!control) {
      // A standing registration at another relay of the cluster: send the helper there (bytes never cross relays).
      const elsewhere = this.#presence?.lookup(idKey(id));
      if (elsewhere) {
        this.#audit({ event: 'redirected', reason: 'ELSEWHERE', peer, id: idTag });
        return sendAndClose(helper, { type: 'redirect', url: elsewhere });
      }
      this.#audit({ event: 'refused', reason: 'UNKNOWN_ID', peer, id: idTag });
      return sendAndClose(helper, { type: 'refused', code: RelayRefusal.UnknownId });
    }
    if (control.pending >= this.#o.maxPendingPerHost) {
      this.#audit({ event: 'refused', reason: 'BUSY', peer, host: control.hostTag!, id: idTag });
      return sendAndClose(helper, { type: 'refused', code: RelayRefusal.Busy });
    }
    const token = nodeRandom(PAIRING_TOKEN_BYTES);
    const key = toHex(token);
    const timer = setTimeout(() => {
      if (!this.#pending.delete(key)) return;
      control.pending--;
      this.#audit({ event: 'refused', reason: 'PAIRING_TIMEOUT', peer, host: control.hostTag!, id: idTag });
      sendAndClose(helper, { type: 'refused', code: RelayRefusal.PairingTimeout });
    }, this.#o.pairingTimeoutMs);
    timer.unref();
    this.#pending.set(key, { helper, helperPeer: peer, control, idTag, timer });
    control.pending++;
    helper.once('close', () => {
      if (this.#pending.get(key)?.helper !== helper) return;
      this.#pending.delete(key);
      control.pending--;
      clearTimeout(timer);
      this.#audit({ event: 'refused', reason: 'HELPER_LEFT', peer, host: control.hostTag!, id: idTag });
    });
    control.ws.send(encodeRelayMessage({ type: 'incoming', token, peer }));
  }

  #accept(data: WebSocket, peer: string, token: Uint8Array): void {
    const key = toHex(token);
    const p = this.#pending.get(key);
    if (!p) {
      this.#audit({ event: 'refused', reason: 'UNKNOWN_TOKEN', peer });
      return sendAndClose(data, { type: 'refused', code: RelayRefusal.UnknownToken });
    }
    this.#pending.delete(key);
    p.control.pending--;
    clearTimeout(p.timer);
    if (p.helper.readyState !== WebSocket.OPEN) {
      this.#audit({ event: 'refused', reason: 'HELPER_LEFT', peer: p.helperPeer, host: p.control.hostTag!, id: p.idTag });
      return sendAndClose(data, { type: 'refused', code: RelayRefusal.UnknownToken });
    }
    this.#audit({ event: 'paired', peer: p.helperPeer, host: p.control.hostTag!, id: p.idTag });
    this.#splice(p.helper, p.helperPeer, data, peer, p);
  }

  /** Splices two sockets: each side's bytes to the other, paced by the slower one, within the pair's caps. */
  #splice(helperWs: WebSocket, helperPeer: string, hostWs: WebSocket, hostPeer: string, p: Pending): void {
    const paired = encodeRelayMessage({ type: 'paired' });
    helperWs.send(paired);
    hostWs.send(paired);
    const helper = new WebSocketStream(helperWs, { remoteAddress: helperPeer });
    const host = new WebSocketStream(hostWs, { remoteAddress: hostPeer });
    let total = 0;
    let lastActivity = this.#clock();
    let ended = false;
    let reason = 'CLOSED';
    const budget = new TokenBucket(this.#o.maxPairBytesPerSecond);
    const end = (why?: string): void => {
      if (ended) return;
      ended = true;
      if (why) reason = why;
      this.#pairs.delete(end);
      clearInterval(idle);
      if (why) {
        // A cap or an error: drop both at once (the sessions end as connection-lost).
        const err = new TesseraError(ErrorCode.LimitExceeded, `the relay ended the pair (${why})`, { context: 'relay' });
        helper.destroy(err);
        host.destroy(err);
      }
      this.#audit({ event: 'ended', reason, peer: helperPeer, host: p.control.hostTag!, id: p.idTag, bytes: total });
    };
    const meter = (direction: 'to-host' | 'to-helper'): Transform =>
      new Transform({
        transform: (chunk: Buffer, _enc, callback: TransformCallback) => {
          total += chunk.byteLength;
          lastActivity = this.#clock();
          if (total > this.#o.maxPairBytes) {
            callback();
            end('BYTE_CAP');
            return;
          }
          this.#options.tap?.(direction, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          const wait = budget.take(chunk.byteLength, this.#clock());
          if (wait <= 0) callback(null, chunk);
          else setTimeout(() => callback(null, chunk), wait).unref();
        },
      });
    const toHost = meter('to-host');
    const toHelper = meter('to-helper');
    helper.pipe(toHost).pipe(host);
    host.pipe(toHelper).pipe(helper);
    for (const s of [helper, host, toHost, toHelper]) s.on('error', () => end('ERROR'));
    helper.once('close', () => {
      host.end();
      end();
    });
    host.once('close', () => {
      helper.end();
      end();
    });
    const idle = setInterval(() => {
      if (this.#clock() - lastActivity >= this.#o.idleTimeoutMs) end('IDLE');
    }, Math.min(1_000, this.#o.idleTimeoutMs));
    idle.unref();
    this.#pairs.add(() => end('RELAY_CLOSING'));
  }
}

/** A token bucket over bytes per second (0: no cap); take() answers how long to wait, in ms. */
class TokenBucket {
  readonly #rate: number;
  #tokens: number;
  #at = 0;
  constructor(rate: number) {
    this.#rate = rate;
    this.#tokens = rate;
  }
  take(n: number, now: number): number {
    if (this.#rate <= 0) return 0;
    if (this.#at === 0) this.#at = now;
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#at) * this.#rate) / 1000);
    this.#at = now;
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.#rate) * 1000);
  }
}

function sendAndClose(ws: WebSocket, m: RelayMessage): void {
  if (ws.readyState !== WebSocket.OPEN) return void ws.terminate();
  ws.send(encodeRelayMessage(m), () => (m.type === 'redirect' ? ws.close(1000, 'REDIRECT') : ws.close(CLOSE_POLICY, m.type === 'refused' ? relayRefusalName(m.code) : '')));
  setTimeout(() => ws.terminate(), 2_000).unref();
}

function formatPeer(address: string, port: number | undefined): string {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  const host = a.includes(':') ? `[${a}]` : a;
  return `${host}:${port ?? 0}`;
}

/**
 * Starts a relay.
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG for a bad option; TESSERA_ERR_IO when the port cannot be bound
 */
export async function startRelay(options: RelayOptions = {}): Promise<RelayServer> {
  const port = options.port ?? (options.tls ? 443 : 8080);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new ConfigError(`relay: port must be 0 to 65535, got ${port}`, { field: 'port' });
  for (const k of options.allowedHosts ?? []) if (!(k instanceof Uint8Array) || k.byteLength !== 32) throw new ConfigError('relay: every allowed host key must be 32 bytes', { field: 'hosts' });
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }) : createHttpServer();
  const host = options.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new TesseraError(ErrorCode.Io, `the relay could not listen on ${host}:${port}: ${err.message.toLowerCase()}`, { context: 'relay', cause: err }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? { port: addr.port, host: addr.address } : { port, host };
  const relay = new RelayServer(server, options, bound);
  options.signal?.addEventListener('abort', () => void relay.close(), { once: true });
  return relay;
}
