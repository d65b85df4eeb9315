/**
 * Bounds the audit trail under a flood (spec/handshake.md §9): the events a flood produces — refusals, timeouts and
 * errors of connections that never authenticated (no ticket, no helper) — are written one by one up to `burst` per
 * decision and code in each interval; the rest of that interval become one summary event with a `count`. Every other
 * decision (accepted, closed, control, revoked, a refusal of a known ticket...) always passes.
 */
import type { Clock } from '../../core/index.js';
import { AUDIT_FLOOD_BURST, AUDIT_FLOOD_INTERVAL_MS } from '../../core/defaults.js';
import { auditEvent, type AuditEvent } from '../../handshake/audit.js';

/** Options of AuditFloodGate. */
export interface AuditFloodGateOptions {
  readonly clock: Clock;
  /** Where events (and summaries) go. */
  readonly emit: (event: AuditEvent) => void;
  readonly intervalMs?: number;
  readonly burst?: number;
}

/** True for the events a flood of unauthenticated connections produces. */
function floodClass(e: AuditEvent): boolean {
  return (e.decision === 'refused' || e.decision === 'timeout' || e.decision === 'error') && e.ticketId === null && e.helper === null && e.count === undefined;
}

/** Passes audit events through, folding a flood into one line per decision, code and interval. */
export class AuditFloodGate {
  readonly #o: AuditFloodGateOptions;
  readonly #intervalMs: number;
  readonly #burst: number;
  /** Per "decision code": events seen in the current interval. */
  readonly #seen = new Map<string, number>();
  #intervalStart = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: AuditFloodGateOptions) {
    this.#o = options;
    this.#intervalMs = options.intervalMs ?? AUDIT_FLOOD_INTERVAL_MS;
    this.#burst = options.burst ?? AUDIT_FLOOD_BURST;
  }

  /** Records `event`: written now, or counted into the interval's summary. */
  record(event: AuditEvent): void {
    if (!floodClass(event)) {
      this.#o.emit(event);
      return;
    }
    const now = this.#o.clock();
    if (this.#seen.size === 0) this.#intervalStart = now;
    else if (now - this.#intervalStart >= this.#intervalMs) {
      this.flush();
      this.#intervalStart = now;
    }
    const key = `${event.decision} ${event.code ?? ''}`;
    const n = (this.#seen.get(key) ?? 0) + 1;
    this.#seen.set(key, n);
    if (n <= this.#burst) this.#o.emit(event);
    else if (!this.#timer) {
      // The summary is written when the interval ends, even if nothing else arrives.
      this.#timer = setTimeout(() => this.flush(), Math.max(0, this.#intervalStart + this.#intervalMs - now));
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /** Writes the summaries of the current interval (one per decision and code that went over the burst). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = this.#o.clock();
    for (const [key, n] of this.#seen) {
      if (n <= this.#burst) continue;
      const [decision, code] = key.split(' ') as [AuditEvent['decision'], string];
      this.#o.emit({ ...auditEvent(now, { decision, code: code === '' ? null : code }), count: n - this.#burst });
    }
    this.#seen.clear();
  }
}
