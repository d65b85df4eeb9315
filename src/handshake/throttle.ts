/**
 * Brute-force throttling (spec/handshake.md §8): after `maxPerTicket` wrong proofs for one ticket, or
 * `maxPerAddress` from one address group (an IPv4 address, an IPv6 /64: addressGroup), within `windowMs`, further attempts are refused as THROTTLED without
 * being checked, until old failures leave the window. Pure: the clock is injected. Memory is bounded:
 * at most `maxTracked` tickets and `maxTracked` addresses are tracked; the least recently failed is evicted.
 */
import { StateError, type Clock } from '../core/index.js';
import { DEFAULT_THROTTLE_MAX_PER_ADDRESS, DEFAULT_THROTTLE_MAX_PER_TICKET, DEFAULT_THROTTLE_MAX_TRACKED, DEFAULT_THROTTLE_WINDOW_MS } from '../core/defaults.js';
import { addressGroup } from './address-group.js';

/** Options of Throttle. */
export interface ThrottleOptions {
  readonly clock: Clock;
  /** Sliding window, default DEFAULT_THROTTLE_WINDOW_MS (10 minutes). */
  readonly windowMs?: number;
  /** Failures per ticket in the window before throttling, default DEFAULT_THROTTLE_MAX_PER_TICKET (5). */
  readonly maxPerTicket?: number;
  /** Failures per address in the window before throttling, default DEFAULT_THROTTLE_MAX_PER_ADDRESS (20). */
  readonly maxPerAddress?: number;
  /** Most tickets and most addresses tracked (each), default DEFAULT_THROTTLE_MAX_TRACKED (10 000). */
  readonly maxTracked?: number;
}

/** How one ticket or address group stands: failures in the window, the cap, and when a lock-out ends. */
export interface ThrottleStatus {
  /** Failures counted in the window now. */
  readonly failures: number;
  /** Failures in the window that throttle (maxPerTicket or maxPerAddress). */
  readonly max: number;
  /** When `failures` reached `max`: the time the oldest of them leaves the window and attempts are checked again. */
  readonly lockedUntilMs: number | undefined;
}

/** Counts failed proofs per ticket and per address. */
export class Throttle {
  readonly windowMs: number;
  readonly maxPerTicket: number;
  readonly maxPerAddress: number;
  readonly maxTracked: number;
  readonly #clock: Clock;
  /** Failure times per key, oldest first; Map order is least recently failed first. */
  readonly #tickets = new Map<string, number[]>();
  readonly #addresses = new Map<string, number[]>();

  constructor(o: ThrottleOptions) {
    this.#clock = o.clock;
    this.windowMs = positive(o.windowMs ?? DEFAULT_THROTTLE_WINDOW_MS, 'windowMs');
    this.maxPerTicket = positive(o.maxPerTicket ?? DEFAULT_THROTTLE_MAX_PER_TICKET, 'maxPerTicket');
    this.maxPerAddress = positive(o.maxPerAddress ?? DEFAULT_THROTTLE_MAX_PER_ADDRESS, 'maxPerAddress');
    this.maxTracked = positive(o.maxTracked ?? DEFAULT_THROTTLE_MAX_TRACKED, 'maxTracked');
  }

  /** True when attempts for this ticket (if given) or from this address must be refused unchecked. */
  isThrottled(ticketId: string | undefined, address: string): boolean {
    const now = this.#clock();
    if (ticketId !== undefined && this.#count(this.#tickets, ticketId, now) >= this.maxPerTicket) return true;
    return this.#count(this.#addresses, addressGroup(address), now) >= this.maxPerAddress;
  }

  /** Records one wrong proof. */
  recordFailure(ticketId: string | undefined, address: string): void {
    const now = this.#clock();
    if (ticketId !== undefined) this.#add(this.#tickets, ticketId, now, this.maxPerTicket);
    this.#add(this.#addresses, addressGroup(address), now, this.maxPerAddress);
  }

  /** How a ticket stands (for telling the host user of each wrong proof and of a lock-out). */
  ticketStatus(ticketId: string): ThrottleStatus {
    return this.#status(this.#tickets, ticketId, this.maxPerTicket);
  }

  /** How the address group of `address` stands. */
  addressStatus(address: string): ThrottleStatus {
    return this.#status(this.#addresses, addressGroup(address), this.maxPerAddress);
  }

  /** Number of tracked tickets and addresses (for tests of the memory bound). */
  get size(): { tickets: number; addresses: number } {
    return { tickets: this.#tickets.size, addresses: this.#addresses.size };
  }

  #status(map: Map<string, number[]>, key: string, max: number): ThrottleStatus {
    const failures = this.#count(map, key, this.#clock());
    // Only the newest `max` failures are kept; the lock lasts until the oldest of them leaves the window.
    const times = map.get(key);
    const lockedUntilMs = failures >= max && times ? times[times.length - max]! + this.windowMs : undefined;
    return { failures, max, lockedUntilMs };
  }

  #count(map: Map<string, number[]>, key: string, now: number): number {
    const times = map.get(key);
    if (!times) return 0;
    while (times.length > 0 && !(now - times[0]! < this.windowMs)) times.shift();
    if (times.length === 0) map.delete(key);
    return times.length;
  }

  #add(map: Map<string, number[]>, key: string, now: number, cap: number): void {
    this.#count(map, key, now);
    const times = map.get(key) ?? [];
    map.delete(key);
    times.push(now);
    // Only the newest `cap` failures matter for the decision; older ones are dropped to bound memory.
    if (times.length > cap) times.splice(0, times.length - cap);
    map.set(key, times);
    while (map.size > this.maxTracked) {
      const oldest = map.keys().next().value as string;
      map.delete(oldest);
    }
  }
}

function positive(n: number, name: string): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new StateError(`throttle ${name} must be a positive integer`);
  return n;
}
