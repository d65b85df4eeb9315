/**
 * Presence across relays (spec/relay.md §5.2): each relay of a cluster publishes, on NATS, the offer rendezvous ids
 * of the hosts that keep a standing registration with it, so a relay that does not hold a host can send a helper
 * to the one that does (Redirect). Only offer ids travel (they derive from public host keys); ticket ids never
 * leave their relay, since an invitation names its relay. Bytes of sessions never cross between relays.
 *
 * Messages are JSON on two subjects: `tessera.relay.1.presence` ({v:1, relay, op: add|remove|snapshot, ids}) and
 * `tessera.relay.1.sync` ({v:1, relay}: a relay that (re)connects asks the others for snapshots). Entries expire
 * unless a snapshot refreshes them, so a relay that dies without a word is forgotten within `ttlMs`.
 */
import { ConfigError, ErrorCode, ProtocolError } from '../core/index.js';
import { isRedirectUrl } from '../handshake/index.js';
import { NatsClient } from './nats.js';

export const PRESENCE_SUBJECT = 'tessera.relay.1.presence';
export const SYNC_SUBJECT = 'tessera.relay.1.sync';
/** Most ids in one presence message. */
export const MAX_PRESENCE_IDS = 1024;
/** Largest presence message read. */
export const MAX_PRESENCE_BYTES = 64 * 1024;
/** Most remote entries one relay remembers (bounds memory whatever the cluster says). */
export const MAX_REMOTE_ENTRIES = 200_000;

const ID_RE = /^[0-9a-f]{32}$/;

/** A decoded presence message. */
export type PresenceMessage =
  | { readonly op: 'add' | 'remove' | 'snapshot'; readonly relay: string; readonly ids: readonly string[] }
  | { readonly op: 'sync'; readonly relay: string };

/**
 * Decodes one presence or sync message. Bounded and total: anything else is a ProtocolError with a code, and the
 * receiving relay ignores that message.
 * @throws {ProtocolError} TESSERA_ERR_LIMIT_EXCEEDED (too large, too many ids), TESSERA_ERR_INVALID_FIELD
 */
export function decodePresence(payload: Uint8Array, subject: string): PresenceMessage {
  if (payload.byteLength > MAX_PRESENCE_BYTES) throw new ProtocolError(ErrorCode.LimitExceeded, `a presence message of ${payload.byteLength} bytes is over ${MAX_PRESENCE_BYTES}`, { context: 'presence', received: payload.byteLength, expected: MAX_PRESENCE_BYTES });
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw bad('a presence message is not json in utf-8', 'payload');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('a presence message is not an object', 'payload');
  const o = v as Record<string, unknown>;
  if (o.v !== 1) throw new ProtocolError(ErrorCode.UnsupportedVersion, 'a presence message of another version', { context: 'presence', field: 'v' });
  if (typeof o.relay !== 'string' || !isRedirectUrl(o.relay)) throw bad('a presence message names no valid relay url', 'relay');
  if (subject === SYNC_SUBJECT) return { op: 'sync', relay: o.relay };
  if (o.op !== 'add' && o.op !== 'remove' && o.op !== 'snapshot') throw bad('a presence message has an unknown op', 'op');
  if (!Array.isArray(o.ids)) throw bad('a presence message has no id list', 'ids');
  if (o.ids.length > MAX_PRESENCE_IDS) throw new ProtocolError(ErrorCode.LimitExceeded, `a presence message lists ${o.ids.length} ids, over ${MAX_PRESENCE_IDS}`, { context: 'presence', field: 'ids' });
  for (const id of o.ids) if (typeof id !== 'string' || !ID_RE.test(id)) throw bad('a presence id is not 32 lowercase hex digits', 'ids');
  return { op: o.op, relay: o.relay, ids: o.ids as string[] };
}

function bad(message: string, field: string): ProtocolError {
  return new ProtocolError(ErrorCode.InvalidField, message, { context: 'presence', field });
}

/** Options of RelayPresence. */
export interface RelayPresenceOptions {
  /** nats://[user:pass@]host:port */
  readonly nats: string;
  /** This relay's URL as helpers reach it (ws:// or wss://), sent in Redirect messages by the other relays. */
  readonly publicUrl: string;
  /** How long a remote entry lives without a refresh (default 45 s). */
  readonly ttlMs?: number;
  /** How often this relay publishes its full snapshot (default 15 s). */
  readonly refreshMs?: number;
  readonly clock?: () => number;
}

/** One relay's view of the cluster. */
export class RelayPresence {
  readonly publicUrl: string;
  readonly #nats: NatsClient;
  readonly #local: () => Iterable<string>;
  readonly #remote = new Map<string, { relay: string; expires: number }>();
  readonly #ttl: number;
  readonly #clock: () => number;
  readonly #timer: NodeJS.Timeout;

  /** @param local the offer ids (hex) held here now */
  constructor(options: RelayPresenceOptions, local: () => Iterable<string>) {
    if (!isRedirectUrl(options.publicUrl)) throw new ConfigError('relay: --public-url must be the ws:// or wss:// url helpers reach this relay at', { field: 'publicUrl' });
    this.publicUrl = options.publicUrl;
    this.#local = local;
    this.#ttl = options.ttlMs ?? 45_000;
    this.#clock = options.clock ?? Date.now;
    this.#nats = new NatsClient(options.nats, { name: 'tessera-relay' });
    this.#nats.subscribe(PRESENCE_SUBJECT, (p, s) => this.#onMessage(p, s));
    this.#nats.subscribe(SYNC_SUBJECT, (p, s) => this.#onMessage(p, s));
    this.#nats.on('connected', () => {
      this.#publish(SYNC_SUBJECT, { v: 1, relay: this.publicUrl });
      this.#snapshot();
    });
    this.#nats.on('disconnected', () => {});
    this.#timer = setInterval(() => {
      this.#snapshot();
      this.#sweep();
    }, options.refreshMs ?? 15_000);
    this.#timer.unref();
    this.#nats.start();
  }

  /** Whether the NATS connection is up. */
  get connected(): boolean {
    return this.#nats.connected;
  }

  /** Remote entries known now. */
  get size(): number {
    return this.#remote.size;
  }

  /** The relay elsewhere in the cluster that holds this offer id, if any. */
  lookup(idHex: string): string | undefined {
    const e = this.#remote.get(idHex);
    if (!e) return undefined;
    if (e.expires <= this.#clock()) {
      this.#remote.delete(idHex);
      return undefined;
    }
    return e.relay;
  }

  /** A host with a standing registration arrived here. */
  add(idHex: string): void {
    this.#remote.delete(idHex);
    this.#publish(PRESENCE_SUBJECT, { v: 1, relay: this.publicUrl, op: 'add', ids: [idHex] });
  }

  /** A host with a standing registration left. */
  remove(idHex: string): void {
    this.#publish(PRESENCE_SUBJECT, { v: 1, relay: this.publicUrl, op: 'remove', ids: [idHex] });
  }

  close(): void {
    clearInterval(this.#timer);
    this.#nats.close();
  }

  #snapshot(): void {
    let batch: string[] = [];
    for (const id of this.#local()) {
      batch.push(id);
      if (batch.length === MAX_PRESENCE_IDS) {
        this.#publish(PRESENCE_SUBJECT, { v: 1, relay: this.publicUrl, op: 'snapshot', ids: batch });
        batch = [];
      }
    }
    if (batch.length > 0) this.#publish(PRESENCE_SUBJECT, { v: 1, relay: this.publicUrl, op: 'snapshot', ids: batch });
  }

  #sweep(): void {
    const now = this.#clock();
    for (const [id, e] of this.#remote) if (e.expires <= now) this.#remote.delete(id);
  }

  #publish(subject: string, body: object): void {
    this.#nats.publish(subject, JSON.stringify(body));
  }

  #onMessage(payload: Uint8Array, subject: string): void {
    let m: PresenceMessage;
    try {
      m = decodePresence(payload, subject);
    } catch {
      return; // a malformed message from the cluster is dropped; presence is refreshed by the next snapshot
    }
    if (m.relay === this.publicUrl) return;
    if (m.op === 'sync') return this.#snapshot();
    const expires = this.#clock() + this.#ttl;
    for (const id of m.ids) {
      if (m.op === 'remove') {
        if (this.#remote.get(id)?.relay === m.relay) this.#remote.delete(id);
        continue;
      }
      if (!this.#remote.has(id) && this.#remote.size >= MAX_REMOTE_ENTRIES) continue;
      this.#remote.set(id, { relay: m.relay, expires });
    }
  }
}
