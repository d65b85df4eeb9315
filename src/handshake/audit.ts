/** Audit events (spec/handshake.md §9): one per host decision; never a secret, key or password. */
import type { Mode } from './constants.js';

/** What happened. */
export type AuditDecision =
  | 'created'
  | 'accepted'
  /** Accepted: a helper came back with an invitation it used before (its holder key, spec §3.3). */
  | 'reconnected'
  | 'refused'
  | 'revoked'
  | 'timeout'
  | 'error'
  | 'closed'
  /** Session-time control decisions (spec/session.md §6.5). */
  | 'control-granted'
  | 'control-denied'
  | 'control-revoked'
  | 'paused'
  | 'resumed'
  /** File transfer (spec/transfer.md §7): offered by either side, then accepted or refused, then saved or failed. */
  | 'file-offered'
  | 'file-accepted'
  | 'file-refused'
  | 'file-saved'
  | 'file-failed';

/** The file of a transfer decision: never its content. */
export interface AuditFile {
  /** 'in': the helper sent it to the host; 'out': the host sent it to the helper. */
  readonly direction: 'in' | 'out';
  /** The name as offered (a peer's name is untrusted text: JSON-escaped in the log, never a path). */
  readonly name: string;
  readonly size: number;
  /** SHA-256 of the whole file, hex. */
  readonly sha256: string;
  /** Bytes moved when it ended (saved or failed). */
  readonly bytes?: number;
  /** Where a received file was saved. */
  readonly path?: string;
}

/** One audit record. */
export interface AuditEvent {
  /** ISO 8601 UTC time of the decision. */
  readonly time: string;
  /** The helper's address ("ip:port"), or null when not connection-related (created, revoked). */
  readonly peer: string | null;
  /** Ticket id (hex), when known. An identifier, not a secret. */
  readonly ticketId: string | null;
  /** Verified helper user name (offers), "holder:" and the holder key's fingerprint (invitations), or null. */
  readonly helper: string | null;
  readonly decision: AuditDecision;
  /** Refusal code (e.g. BAD_PROOF) or error code (e.g. TESSERA_ERR_HANDSHAKE_TIMEOUT), or null. */
  readonly code: string | null;
  /** Granted or offered mode, or null. */
  readonly mode: Mode | null;
  /**
   * Only on a flood summary: how many events of this decision and code were not written one by one during the
   * interval that ended at `time` (their peers are not listed; `peer` is null).
   */
  readonly count?: number;
  /** Only on file decisions: which file. */
  readonly file?: AuditFile;
}

/** Builds an AuditEvent with nulls for missing fields. */
export function auditEvent(nowMs: number, fields: Partial<Omit<AuditEvent, 'time'>> & { decision: AuditDecision }): AuditEvent {
  return {
    time: new Date(nowMs).toISOString(),
    peer: fields.peer ?? null,
    ticketId: fields.ticketId ?? null,
    helper: fields.helper ?? null,
    decision: fields.decision,
    code: fields.code ?? null,
    mode: fields.mode ?? null,
    ...(fields.file === undefined ? {} : { file: fields.file }),
  };
}
