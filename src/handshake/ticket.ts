/**
 * Tickets: the host's record of an invitation (spec/handshake.md §2.4).
 * A ticket stores only what verification needs: the ticket id, the Ed25519 public key derived from the ticket
 * secret (the secret itself is never stored), the public key derived from the password (if any) with its salt,
 * the mode, times, uses and the revoked flag. Stealing a ticket store lets nobody prove a ticket.
 */
import { INSPECT, equalBytes, toHex } from '../core/index.js';
import { Label, type Mode } from './constants.js';
import { derivedSigningKey, sha512 } from './crypto.js';

/** The host's record of one invitation. */
export interface TicketRecord {
  /** Ticket id, 32 lowercase hex digits (16 bytes). */
  readonly id: string;
  /** Ed25519 public key derived from the ticket secret (HKDF salt = ticket id bytes, label "tessera/1 ticket-key"). */
  readonly verifier: Uint8Array;
  /** Ed25519 public key derived from the password KDF output, when a password is required. */
  readonly passwordVerifier?: Uint8Array | undefined;
  /** Password KDF salt (16 bytes), when a password is required. */
  readonly passwordSalt?: Uint8Array | undefined;
  readonly mode: Mode;
  /** Creation time, ms since the epoch. */
  readonly createdMs: number;
  /** Expiry time, ms since the epoch. */
  readonly expiresMs: number;
  readonly revoked: boolean;
  /** Number of accepted sessions (every helper, first connections and reconnections). */
  readonly uses: number;
  /** Time of the last accepted session, if any. */
  readonly lastUsedMs?: number | undefined;
  /** Display name shown in the invitation (not secret). */
  readonly name?: string | undefined;
  /** Most different helpers (holder keys) this invitation admits; absent (an older record) means 1 (spec §2.4). */
  readonly maxUses?: number | undefined;
  /** The helpers admitted so far, by their holder keys (public keys: verifiers, never secrets). Absent means none. */
  readonly holders?: readonly TicketHolder[] | undefined;
}

/** One helper an invitation admitted: its holder key (an Ed25519 public key, spec §3.3) and its use. */
export interface TicketHolder {
  /** The holder key: verifies the helper's holder proof on reconnection. Public, not a secret. */
  readonly key: Uint8Array;
  readonly firstUsedMs: number;
  readonly lastUsedMs: number;
  /** Sessions this holder was admitted to. */
  readonly uses: number;
}

/**
 * What recording a use found: 'new' (a helper not seen before took a free place), 'again' (a known holder came back),
 * 'full' (another helper: every place is taken, nothing recorded), 'unknown' (no such ticket).
 */
export type TicketClaim = 'new' | 'again' | 'full' | 'unknown';

/** Most different helpers a ticket admits (1 for records written before uses were limited). */
export function ticketMaxUses(t: TicketRecord): number {
  return t.maxUses ?? 1;
}

/** The holder entry of `key` on this ticket, if it was admitted before. */
export function findHolder(t: TicketRecord, key: Uint8Array): TicketHolder | undefined {
  return (t.holders ?? []).find((h) => equalBytes(h.key, key));
}

/**
 * Records one accepted session on a ticket record (pure; both stores use it). Without a holder key it only counts.
 * `maxUses` caps the places (the least of the ticket's and the policy's).
 */
export function claimTicket(t: TicketRecord, nowMs: number, holder: Uint8Array | undefined, maxUses: number): { record: TicketRecord; claim: TicketClaim } {
  const holders = t.holders ?? [];
  const counted = { ...t, uses: t.uses + 1, lastUsedMs: nowMs };
  if (holder === undefined) return { record: counted, claim: 'new' };
  const known = findHolder(t, holder);
  if (known) {
    const again = { ...known, uses: known.uses + 1, lastUsedMs: nowMs };
    return { record: { ...counted, holders: holders.map((h) => (h === known ? again : h)) }, claim: 'again' };
  }
  if (holders.length >= maxUses) return { record: t, claim: 'full' };
  const added: TicketHolder = { key: holder.slice(), firstUsedMs: nowMs, lastUsedMs: nowMs, uses: 1 };
  return { record: { ...counted, holders: [...holders, added] }, claim: 'new' };
}

/**
 * Injected, synchronous ticket storage (the sans-IO responder calls it inline).
 * Implementations: MemoryTicketStore here, FileTicketStore in src/node.
 */
export interface TicketStore {
  /** The ticket with this id, or undefined. */
  get(id: string): TicketRecord | undefined;
  /** Adds a new ticket (replaces one with the same id). */
  add(record: TicketRecord): void;
  /**
   * Records one accepted session, atomically: with a holder key, a known holder is 'again', a new one takes a free place
   * ('new') or finds none ('full', nothing recorded); `maxUses` defaults to the ticket's own (ticketMaxUses).
   */
  recordUse(id: string, nowMs: number, holder?: Uint8Array, maxUses?: number): TicketClaim;
  /** Marks a ticket revoked; returns false when unknown. */
  revoke(id: string): boolean;
  /** All tickets, oldest first. */
  list(): TicketRecord[];
  /** Deletes tickets that expired before `beforeMs`; returns how many. */
  prune(beforeMs: number): number;
}

/** In-memory TicketStore for tests and browser-free use. */
export class MemoryTicketStore implements TicketStore {
  readonly #tickets = new Map<string, TicketRecord>();

  get(id: string): TicketRecord | undefined {
    return this.#tickets.get(id);
  }

  add(record: TicketRecord): void {
    this.#tickets.set(record.id, record);
  }

  recordUse(id: string, nowMs: number, holder?: Uint8Array, maxUses?: number): TicketClaim {
    const t = this.#tickets.get(id);
    if (!t) return 'unknown';
    const { record, claim } = claimTicket(t, nowMs, holder, maxUses ?? ticketMaxUses(t));
    this.#tickets.set(id, record);
    return claim;
  }

  revoke(id: string): boolean {
    const t = this.#tickets.get(id);
    if (!t) return false;
    this.#tickets.set(id, { ...t, revoked: true });
    return true;
  }

  list(): TicketRecord[] {
    return [...this.#tickets.values()].sort((a, b) => a.createdMs - b.createdMs);
  }

  prune(beforeMs: number): number {
    let n = 0;
    for (const [id, t] of this.#tickets) {
      if (t.expiresMs < beforeMs) {
        this.#tickets.delete(id);
        n++;
      }
    }
    return n;
  }

  [INSPECT](): string {
    return `MemoryTicketStore { tickets: ${this.#tickets.size} }`;
  }
}

/** The ticket verifier: Ed25519 public key derived from the secret. */
export function ticketVerifier(secret: Uint8Array, ticketId: Uint8Array): Uint8Array {
  return derivedSigningKey(secret, ticketId, Label.ticketKey).publicKey;
}

/** The password verifier: Ed25519 public key derived from the password KDF output. */
export function passwordVerifier(passwordKey: Uint8Array, ticketId: Uint8Array): Uint8Array {
  return derivedSigningKey(passwordKey, ticketId, Label.passwordKey).publicKey;
}

/**
 * Password key derivation, injected: (password, 16-byte salt) -> 32 bytes.
 * The Node implementation (src/node) is scrypt N=2^14, r=8, p=1; both ends must use the same function.
 */
export type PasswordKdf = (password: string, salt: Uint8Array) => Uint8Array;

/** Ticket id bytes as the hex id used by stores. */
export function ticketIdHex(id: Uint8Array): string {
  return toHex(id);
}

/**
 * A short, printable fingerprint of a holder key (spec §2.5): the first 8 bytes of SHA-512(key) in hex, in four
 * groups of four digits ("3f2a 91c0 7d44 e810"). Tells helpers of one invitation apart; not an identity.
 */
export function holderFingerprint(key: Uint8Array): string {
  return toHex(sha512(key).subarray(0, 8)).replace(/(.{4})(?!$)/g, '$1 ');
}
