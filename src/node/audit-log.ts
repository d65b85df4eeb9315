/**
 * Append-only audit log: one JSON object per line in `<stateDir>/audit.log` (mode 0600).
 * Only AuditEvent fields are written, so no secret can reach the file through this API.
 */
import { appendFileSync, chmodSync, closeSync, openSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from '../handshake/audit.js';
import { ensureStateDir, ioError } from './state-dir.js';

const FIELDS = ['time', 'peer', 'ticketId', 'helper', 'decision', 'code', 'mode'] as const;

/** Appends audit events to a JSON-lines file. */
export class AuditLog {
  readonly path: string;

  constructor(stateDir: string, fileName = 'audit.log') {
    ensureStateDir(stateDir);
    this.path = join(stateDir, fileName);
    try {
      closeSync(openSync(this.path, 'a', 0o600));
      if (process.platform !== 'win32') chmodSync(this.path, 0o600);
    } catch (err) {
      throw ioError('could not open the audit log', err);
    }
  }

  /** Appends one event as a JSON line (synchronously, so a crash loses nothing already logged). */
  append(event: AuditEvent): void {
    const clean: Record<string, unknown> = {};
    for (const f of FIELDS) clean[f] = event[f] ?? null;
    try {
      appendFileSync(this.path, JSON.stringify(clean) + '\n', { mode: 0o600 });
    } catch (err) {
      throw ioError('could not append to the audit log', err);
    }
  }

  /** Reads all events back (for `tessera` tooling and tests). Malformed lines are skipped. */
  read(): AuditEvent[] {
    if (!existsSync(this.path)) return [];
    const out: AuditEvent[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as AuditEvent);
      } catch {
        // A torn last line after a crash is skipped.
      }
    }
    return out;
  }
}
