/**
 * File-backed TicketStore (spec/handshake.md §2.4): all tickets in `<stateDir>/tickets.json` (mode 0600,
 * folder 0700), rewritten atomically on every change. Tickets survive restarts; the file is re-read when
 * another process (e.g. `tessera invitations revoke`) changed it. Stores verifiers, never secrets.
 * A missing tickets.json is an empty store; one that is there but cannot be read (EACCES, EIO, a folder in its place,
 * the state folder swapped for a file or gone) is an error (TESSERA_ERR_IO), never an empty store: otherwise a host
 * would answer TICKET_UNKNOWN to every invitation it issued, and the next change would overwrite them all.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, INSPECT } from '../core/index.js';
import { fromBase64, toBase64 } from '../handshake/crypto.js';
import type { Mode } from '../handshake/constants.js';
import { claimTicket, ticketMaxUses, type TicketClaim, type TicketHolder, type TicketRecord, type TicketStore } from '../handshake/ticket.js';
import { ensureStateDir, ioError, writeFileAtomic } from './state-dir.js';

const FILE = 'tickets.json';
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Tickets persisted in a state folder. */
export class FileTicketStore implements TicketStore {
  readonly path: string;
  #tickets = new Map<string, TicketRecord>();
  #stamp = '';

  /**
   * Opens (creating the folder if needed) and loads the store.
   * @throws {ConfigError} on a malformed file
   * @throws {TesseraError} TESSERA_ERR_IO when the file is there but cannot be read
   */
  constructor(stateDir: string) {
    ensureStateDir(stateDir);
    this.path = join(stateDir, FILE);
    this.#reload();
  }

  get(id: string): TicketRecord | undefined {
    this.#reload();
    return this.#tickets.get(id);
  }

  add(record: TicketRecord): void {
    this.#update((m) => m.set(record.id, record));
  }

  recordUse(id: string, nowMs: number, holder?: Uint8Array, maxUses?: number): TicketClaim {
    let claim: TicketClaim = 'unknown';
    this.#update((m) => {
      const t = m.get(id);
      if (!t) return;
      const out = claimTicket(t, nowMs, holder, maxUses ?? ticketMaxUses(t));
      m.set(id, out.record);
      claim = out.claim;
    });
    return claim;
  }

  revoke(id: string): boolean {
    let found = false;
    this.#update((m) => {
      const t = m.get(id);
      if (t) {
        found = true;
        m.set(id, { ...t, revoked: true });
      }
    });
    return found;
  }

  list(): TicketRecord[] {
    this.#reload();
    return [...this.#tickets.values()].sort((a, b) => a.createdMs - b.createdMs);
  }

  prune(beforeMs: number): number {
    let n = 0;
    this.#update((m) => {
      for (const [id, t] of m) {
        if (t.expiresMs < beforeMs) {
          m.delete(id);
          n++;
        }
      }
    });
    return n;
  }

  #update(change: (m: Map<string, TicketRecord>) => void): void {
    this.#reload();
    const next = new Map(this.#tickets);
    change(next);
    writeFileAtomic(this.path, serialize(next));
    this.#tickets = next;
    this.#stamp = stampOf(this.path);
  }

  /** Re-reads the file if it changed. @throws {TesseraError} TESSERA_ERR_IO when it cannot be read */
  #reload(): void {
    const stamp = stampOf(this.path);
    if (stamp === this.#stamp) return;
    if (stamp === MISSING) {
      this.#tickets = new Map();
      this.#stamp = stamp;
      return;
    }
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      throw ioError(`could not read ${this.path}`, err);
    }
    this.#tickets = parse(text);
    this.#stamp = stamp;
  }

  [INSPECT](): string {
    return `FileTicketStore { tickets: ${this.#tickets.size} }`;
  }
}

/** The stamp of a store whose file does not exist (yet) in a state folder that does. */
const MISSING = 'missing';

/**
 * What identifies a version of the file: mtime, size and inode, or MISSING.
 * @throws {TesseraError} TESSERA_ERR_IO when the file cannot be looked at (EACCES, ENOTDIR, EIO...) or the state
 *   folder itself is gone
 */
function stampOf(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.mtimeNs}:${s.size}:${s.ino}`;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENOENT') throw ioError(`could not read ${path}`, err);
  }
  // No file: an empty store, as long as the folder it belongs in is there.
  try {
    if (statSync(dirname(path)).isDirectory()) return MISSING;
  } catch (err) {
    throw ioError(`could not read ${path}: the state folder is not there`, err);
  }
  throw ioError(`could not read ${path}: the state folder is not a folder`, undefined);
}

function serialize(m: Map<string, TicketRecord>): string {
  const tickets = [...m.values()].map((t) => ({
    id: t.id,
    verifier: toBase64(t.verifier),
    ...(t.passwordVerifier ? { passwordVerifier: toBase64(t.passwordVerifier), passwordSalt: toBase64(t.passwordSalt!) } : {}),
    mode: t.mode,
    created: t.createdMs,
    expires: t.expiresMs,
    revoked: t.revoked,
    uses: t.uses,
    ...(t.lastUsedMs !== undefined ? { lastUsed: t.lastUsedMs } : {}),
    ...(t.name !== undefined ? { name: t.name } : {}),
    ...(t.maxUses !== undefined ? { maxUses: t.maxUses } : {}),
    ...(t.holders !== undefined ? { holders: t.holders.map((h) => ({ key: toBase64(h.key), first: h.firstUsedMs, last: h.lastUsedMs, uses: h.uses })) } : {}),
  }));
  return JSON.stringify({ version: 1, tickets }, null, 1) + '\n';
}

function parse(text: string): Map<string, TicketRecord> {
  if (text.length > MAX_FILE_BYTES) throw bad('file is larger than 16 MiB');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad('not valid json');
  }
  const root = v as { version?: unknown; tickets?: unknown };
  if (typeof v !== 'object' || v === null || root.version !== 1 || !Array.isArray(root.tickets)) throw bad('must be {"version":1,"tickets":[...]}');
  const m = new Map<string, TicketRecord>();
  root.tickets.forEach((raw: unknown, i: number) => {
    const t = raw as Record<string, unknown>;
    const where = `tickets[${i}]`;
    if (typeof t !== 'object' || t === null) throw bad(`${where} must be an object`);
    if (typeof t.id !== 'string' || !/^[0-9a-f]{32}$/.test(t.id)) throw bad(`${where}.id must be 32 hex digits`);
    const verifier = key(t.verifier, `${where}.verifier`, 32);
    const pv = t.passwordVerifier === undefined ? undefined : key(t.passwordVerifier, `${where}.passwordVerifier`, 32);
    const ps = t.passwordSalt === undefined ? undefined : key(t.passwordSalt, `${where}.passwordSalt`, 16);
    if ((pv === undefined) !== (ps === undefined)) throw bad(`${where} must have both passwordVerifier and passwordSalt or neither`);
    if (t.mode !== 'view' && t.mode !== 'control') throw bad(`${where}.mode must be view or control`);
    for (const f of ['created', 'expires', 'uses'] as const) {
      if (typeof t[f] !== 'number' || !Number.isSafeInteger(t[f]) || (t[f] as number) < 0) throw bad(`${where}.${f} must be a non-negative integer`);
    }
    if (typeof t.revoked !== 'boolean') throw bad(`${where}.revoked must be true or false`);
    if (t.lastUsed !== undefined && (typeof t.lastUsed !== 'number' || !Number.isSafeInteger(t.lastUsed))) throw bad(`${where}.lastUsed must be an integer`);
    if (t.name !== undefined && typeof t.name !== 'string') throw bad(`${where}.name must be a string`);
    // maxUses and holders came later: a file without them (written before) stays readable, as a one-helper invitation.
    if (t.maxUses !== undefined && !(typeof t.maxUses === 'number' && Number.isSafeInteger(t.maxUses) && t.maxUses >= 1)) throw bad(`${where}.maxUses must be a positive integer`);
    const holders = t.holders === undefined ? undefined : parseHolders(t.holders, `${where}.holders`);
    m.set(t.id, {
      id: t.id,
      verifier,
      passwordVerifier: pv,
      passwordSalt: ps,
      mode: t.mode as Mode,
      createdMs: t.created as number,
      expiresMs: t.expires as number,
      revoked: t.revoked,
      uses: t.uses as number,
      lastUsedMs: t.lastUsed as number | undefined,
      name: t.name as string | undefined,
      maxUses: t.maxUses as number | undefined,
      holders,
    });
  });
  return m;
}

function parseHolders(v: unknown, where: string): TicketHolder[] {
  if (!Array.isArray(v) || v.length > 1000) throw bad(`${where} must be an array`);
  return v.map((raw: unknown, i: number) => {
    const h = raw as Record<string, unknown>;
    if (typeof h !== 'object' || h === null) throw bad(`${where}[${i}] must be an object`);
    for (const f of ['first', 'last', 'uses'] as const) {
      if (typeof h[f] !== 'number' || !Number.isSafeInteger(h[f]) || (h[f] as number) < 0) throw bad(`${where}[${i}].${f} must be a non-negative integer`);
    }
    return { key: key(h.key, `${where}[${i}].key`, 32), firstUsedMs: h.first as number, lastUsedMs: h.last as number, uses: h.uses as number };
  });
}

function key(v: unknown, where: string, n: number): Uint8Array {
  const b = typeof v === 'string' ? fromBase64(v) : undefined;
  if (!b || b.byteLength !== n) throw bad(`${where} must be ${n} bytes in base64`);
  return b;
}

function bad(why: string): ConfigError {
  return new ConfigError(`ticket store: ${why}`);
}
