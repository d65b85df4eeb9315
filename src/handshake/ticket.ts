/**
 * Tickets: the host's record of an invitation (spec/handshake.md §2.4).
 * A ticket stores only what verification needs: the ticket id, the Ed25519 public key derived from the ticket
 * secret (the secret itself is never stored), the public key derived from the password (if any) with its salt,
 * the mode, times, uses and the revoked flag. Stealing a ticket store lets nobody prove a ticket.
 */
import { INSPECT, toHex } from '../core/index.js';
import { Label, type Mode } from './constants.js';
import { derivedSigningKey } from './crypto.js';

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
  /** Number of accepted sessions. */
  readonly uses: number;
  /** Time of the last accepted session, if any. */
  readonly lastUsedMs?: number | undefined;
  /** Display name shown in the invitation (not secret). */
  readonly name?: string | undefined;
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
  /** Counts one accepted session. */
  recordUse(id: string, nowMs: number): void;
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

  recordUse(id: string, nowMs: number): void {
    const t = this.#tickets.get(id);
    if (t) this.#tickets.set(id, { ...t, uses: t.uses + 1, lastUsedMs: nowMs });
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
