/**
 * A small NATS client (https://docs.nats.io/reference/reference-protocols/nats-protocol), enough for relays to
 * share presence: connect (optionally with user and password or a token from the URL), subscribe, publish, answer
 * PING, reconnect with backoff. `NatsParser` reads the server's side of the protocol from bytes: bounded (a control
 * line of at most 4 KiB, a payload of at most the server's max_payload, capped at 1 MiB) and total (bad bytes give a
 * ProtocolError with a code, then the connection is dropped and opened again).
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { ConfigError, ErrorCode, ProtocolError, TesseraError } from '../core/index.js';

/** Longest control line (INFO, MSG, -ERR) the parser accepts. */
export const MAX_NATS_LINE_BYTES = 4096;
/** Largest payload the client accepts, whatever the server announces. */
export const MAX_NATS_PAYLOAD_BYTES = 1024 * 1024;

/** One thing the server said. */
export type NatsEvent =
  | { readonly op: 'info'; readonly info: { readonly max_payload?: number; readonly [k: string]: unknown } }
  | { readonly op: 'msg'; readonly subject: string; readonly sid: string; readonly reply: string | undefined; readonly payload: Uint8Array }
  | { readonly op: 'ping' }
  | { readonly op: 'pong' }
  | { readonly op: 'ok' }
  | { readonly op: 'err'; readonly message: string };

const TOKEN_RE = /^[\x21-\x7e]{1,256}$/;

/** Incremental parser of the server's side of the NATS protocol. */
export class NatsParser {
  #buf: Buffer = Buffer.alloc(0);
  #payload: { subject: string; sid: string; reply: string | undefined; size: number } | undefined;
  #maxPayload: number;

  constructor(maxPayload = MAX_NATS_PAYLOAD_BYTES) {
    this.#maxPayload = Math.min(maxPayload, MAX_NATS_PAYLOAD_BYTES);
  }

  /** Lowers (never raises past 1 MiB) the largest payload accepted, as the server's INFO says. */
  set maxPayload(n: number) {
    if (Number.isInteger(n) && n > 0) this.#maxPayload = Math.min(n, MAX_NATS_PAYLOAD_BYTES);
  }

  /**
   * Adds bytes; returns the complete events in them.
   * @throws {ProtocolError} TESSERA_ERR_LIMIT_EXCEEDED (a line or payload too long), TESSERA_ERR_UNKNOWN_MESSAGE,
   *   TESSERA_ERR_INVALID_FIELD (a malformed line)
   */
  push(chunk: Uint8Array): NatsEvent[] {
    this.#buf = this.#buf.byteLength === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
    const out: NatsEvent[] = [];
    for (;;) {
      if (this.#payload) {
        const need = this.#payload.size + 2;
        if (this.#buf.byteLength < need) break;
        if (this.#buf[need - 2] !== 0x0d || this.#buf[need - 1] !== 0x0a) throw bad('a nats payload does not end with crlf');
        const { subject, sid, reply, size } = this.#payload;
        out.push({ op: 'msg', subject, sid, reply, payload: new Uint8Array(this.#buf.subarray(0, size)) });
        this.#buf = this.#buf.subarray(need);
        this.#payload = undefined;
        continue;
      }
      const end = this.#buf.indexOf('\r\n');
      if (end < 0) {
        if (this.#buf.byteLength > MAX_NATS_LINE_BYTES) throw new ProtocolError(ErrorCode.LimitExceeded, `a nats control line is over ${MAX_NATS_LINE_BYTES} bytes`, { context: 'nats', received: this.#buf.byteLength, expected: MAX_NATS_LINE_BYTES });
        break;
      }
      if (end > MAX_NATS_LINE_BYTES) throw new ProtocolError(ErrorCode.LimitExceeded, `a nats control line is over ${MAX_NATS_LINE_BYTES} bytes`, { context: 'nats', received: end, expected: MAX_NATS_LINE_BYTES });
      const line = this.#buf.subarray(0, end).toString('latin1');
      this.#buf = this.#buf.subarray(end + 2);
      const e = this.#line(line);
      if (e) out.push(e);
    }
    return out;
  }

  #line(line: string): NatsEvent | undefined {
    const sp = line.search(/[ \t]/);
    const op = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const rest = sp < 0 ? '' : line.slice(sp + 1).trim();
    switch (op) {
      case 'PING':
        return { op: 'ping' };
      case 'PONG':
        return { op: 'pong' };
      case '+OK':
        return { op: 'ok' };
      case '-ERR':
        return { op: 'err', message: rest.replace(/^'|'$/g, '').replace(/[^\x20-\x7e]/g, '?').slice(0, 200) };
      case 'INFO': {
        let info: unknown;
        try {
          info = JSON.parse(rest);
        } catch {
          throw bad('a nats INFO line is not json');
        }
        if (typeof info !== 'object' || info === null || Array.isArray(info)) throw bad('a nats INFO line is not an object');
        const mp = (info as { max_payload?: unknown }).max_payload;
        if (typeof mp === 'number') this.maxPayload = mp;
        return { op: 'info', info: info as Record<string, unknown> };
      }
      case 'MSG': {
        const parts = rest.split(/[ \t]+/);
        if (parts.length !== 3 && parts.length !== 4) throw bad('a nats MSG line has the wrong number of fields');
        const [subject, sid] = parts as [string, string];
        const reply = parts.length === 4 ? parts[2] : undefined;
        const sizeText = parts[parts.length - 1]!;
        if (!TOKEN_RE.test(subject) || !TOKEN_RE.test(sid) || (reply !== undefined && !TOKEN_RE.test(reply))) throw bad('a nats MSG line has a malformed field');
        if (!/^\d{1,8}$/.test(sizeText)) throw bad('a nats MSG size is not a number');
        const size = Number(sizeText);
        if (size > this.#maxPayload) throw new ProtocolError(ErrorCode.LimitExceeded, `a nats payload of ${size} bytes is over ${this.#maxPayload}`, { context: 'nats', received: size, expected: this.#maxPayload });
        this.#payload = { subject, sid, reply, size };
        return undefined;
      }
      default:
        throw new ProtocolError(ErrorCode.UnknownMessage, 'unknown nats operation', { context: 'nats', field: 'op' });
    }
  }
}

function bad(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.InvalidField, message, { context: 'nats' });
}

/** A parsed nats:// URL; credentials are kept out of every message. */
export interface NatsAddress {
  readonly host: string;
  readonly port: number;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** The URL without credentials, for messages and logs. */
  readonly shown: string;
}

/**
 * Parses `nats://[user:pass@|token@]host[:port]` (default port 4222).
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG (another scheme, a path, TLS)
 */
export function parseNatsUrl(text: string): NatsAddress {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new ConfigError('nats: the url is not valid (nats://host:port)', { field: 'nats' });
  }
  if (u.protocol !== 'nats:') throw new ConfigError(`nats: only nats:// urls are supported, not ${u.protocol}//`, { field: 'nats' });
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '' || u.hostname === '') throw new ConfigError('nats: the url must be nats://host:port', { field: 'nats' });
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port === '' ? 4222 : Number(u.port);
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  const shown = `nats://${u.hostname}:${port}`;
  if (user && pass) return { host, port, user, pass, shown };
  if (user) return { host, port, token: user, shown };
  return { host, port, shown };
}

/** Options of NatsClient. */
export interface NatsClientOptions {
  readonly name?: string;
  /** First reconnection delay (default 250 ms), doubled to at most maxBackoffMs (default 5 s). */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Deadline to connect and hear INFO (default 5 s). */
  readonly timeoutMs?: number;
}

/**
 * A NATS connection that stays up: events 'connected' (after each (re)connection, subscriptions restored),
 * 'disconnected' (TesseraError), 'message' is per subscription (the callback of subscribe()).
 */
export class NatsClient extends EventEmitter {
  readonly address: NatsAddress;
  readonly #o: NatsClientOptions;
  readonly #subs = new Map<string, { subject: string; onMessage: (payload: Uint8Array, subject: string) => void }>();
  #sock: Socket | undefined;
  #ready = false;
  #closed = false;
  #nextSid = 1;
  #backoff: number;
  #retry: NodeJS.Timeout | undefined;

  constructor(url: string, options: NatsClientOptions = {}) {
    super();
    this.address = parseNatsUrl(url);
    this.#o = options;
    this.#backoff = options.initialBackoffMs ?? 250;
  }

  /** True while connected and past the server's INFO. */
  get connected(): boolean {
    return this.#ready;
  }

  /** Connects (and keeps reconnecting until close()). */
  start(): this {
    if (!this.#closed && !this.#sock && !this.#retry) this.#connect();
    return this;
  }

  /** Subscribes to a subject (no wildcards needed here, though the server allows them); returns the sid. */
  subscribe(subject: string, onMessage: (payload: Uint8Array, subject: string) => void): string {
    checkSubject(subject);
    const sid = String(this.#nextSid++);
    this.#subs.set(sid, { subject, onMessage });
    if (this.#ready) this.#sock!.write(`SUB ${subject} ${sid}\r\n`);
    return sid;
  }

  /** Publishes a payload; dropped (false) while disconnected: presence is refreshed on reconnection anyway. */
  publish(subject: string, payload: Uint8Array | string): boolean {
    checkSubject(subject);
    if (!this.#ready || !this.#sock) return false;
    const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    this.#sock.write(Buffer.concat([Buffer.from(`PUB ${subject} ${body.byteLength}\r\n`), body, Buffer.from('\r\n')]));
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready = false;
    clearTimeout(this.#retry);
    this.#sock?.destroy();
    this.#sock = undefined;
  }

  #connect(): void {
    this.#retry = undefined;
    const a = this.address;
    const sock = netConnect({ host: a.host, port: a.port });
    this.#sock = sock;
    sock.setNoDelay(true);
    const parser = new NatsParser();
    let failed = false;
    const timer = setTimeout(() => fail(new TesseraError(ErrorCode.Timeout, `nats at ${a.shown} did not answer in time`, { context: 'nats' })), this.#o.timeoutMs ?? 5_000);
    timer.unref();
    const fail = (err: TesseraError): void => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      sock.destroy();
      const wasReady = this.#ready;
      this.#ready = false;
      if (this.#sock === sock) this.#sock = undefined;
      if (this.#closed) return;
      if (wasReady || this.listenerCount('disconnected') > 0) this.emit('disconnected', err);
      const delay = Math.round(this.#backoff * (0.5 + Math.random() / 2));
      this.#backoff = Math.min(this.#backoff * 2, this.#o.maxBackoffMs ?? 5_000);
      this.#retry = setTimeout(() => this.#connect(), delay);
      this.#retry.unref();
    };
    sock.on('error', (err) => fail(new TesseraError(ErrorCode.Io, `could not reach nats at ${a.shown}: ${err.message.toLowerCase()}`, { context: 'nats', cause: err })));
    sock.on('close', () => fail(new TesseraError(ErrorCode.Io, `nats at ${a.shown} closed the connection`, { context: 'nats' })));
    sock.on('data', (chunk: Buffer) => {
      let events: NatsEvent[];
      try {
        events = parser.push(chunk);
      } catch (err) {
        fail(err instanceof TesseraError ? err : new TesseraError(ErrorCode.Io, 'nats sent bytes that do not parse', { context: 'nats', cause: err }));
        return;
      }
      for (const e of events) {
        if (failed) return;
        this.#onEvent(sock, e, timer, fail);
      }
    });
  }

  #onEvent(sock: Socket, e: NatsEvent, timer: NodeJS.Timeout, fail: (err: TesseraError) => void): void {
    switch (e.op) {
      case 'info': {
        if (this.#ready) return;
        const a = this.address;
        const connect: Record<string, unknown> = { verbose: false, pedantic: false, lang: 'tessera', version: '1', protocol: 1, name: this.#o.name ?? 'tessera-relay' };
        if (a.user !== undefined) Object.assign(connect, { user: a.user, pass: a.pass });
        if (a.token !== undefined) connect.auth_token = a.token;
        if (e.info.tls_required === true) return fail(new TesseraError(ErrorCode.Io, `nats at ${a.shown} requires tls, which this client does not speak`, { context: 'nats' }));
        let out = `CONNECT ${JSON.stringify(connect)}\r\n`;
        for (const [sid, s] of this.#subs) out += `SUB ${s.subject} ${sid}\r\n`;
        // The PONG to this PING says the server took CONNECT (a refused one gets -ERR first).
        sock.write(out + 'PING\r\n');
        return;
      }
      case 'pong':
        if (!this.#ready) {
          clearTimeout(timer);
          this.#ready = true;
          this.#backoff = this.#o.initialBackoffMs ?? 250;
          this.emit('connected');
        }
        return;
      case 'ping':
        sock.write('PONG\r\n');
        return;
      case 'ok':
        return;
      case 'err':
        return fail(new TesseraError(ErrorCode.Io, `nats refused: ${e.message}`, { context: 'nats' }));
      case 'msg': {
        const s = this.#subs.get(e.sid);
        if (!s) return;
        try {
          s.onMessage(e.payload, e.subject);
        } catch {
          // A subscriber's failure is its own; the connection goes on.
        }
      }
    }
  }
}

function checkSubject(subject: string): void {
  if (!/^[A-Za-z0-9_.*>-]{1,128}$/.test(subject)) throw new ConfigError(`nats: invalid subject ${JSON.stringify(subject.slice(0, 40))}`, { field: 'subject' });
}
