/**
 * Append-only audit log: one JSON object per line in `<stateDir>/audit.log` (mode 0600), rotated before it grows
 * past `maxBytes` (audit.log -> audit.log.1 -> ... -> audit.log.<keep>, the oldest dropped), so a flood cannot fill
 * the disk. Only AuditEvent fields are written, so no secret can reach the file through this API.
 */
import { appendFileSync, chmodSync, closeSync, openSync, readFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { AUDIT_LOG_KEEP, AUDIT_LOG_MAX_BYTES } from '../core/defaults.js';
import { join } from 'node:path';
import type { AuditEvent } from '../handshake/audit.js';
import { ensureStateDir, ioError } from './state-dir.js';

const FIELDS = ['time', 'peer', 'ticketId', 'helper', 'decision', 'code', 'mode'] as const;

/** Options of AuditLog. */
export interface AuditLogOptions {
  /** File name in the state folder (default audit.log). */
  readonly fileName?: string;
  /** Rotate before the file would grow past this many bytes (default AUDIT_LOG_MAX_BYTES, 8 MiB). */
  readonly maxBytes?: number;
  /** Rotated files kept (default AUDIT_LOG_KEEP, 2). */
  readonly keep?: number;
}

/** Appends audit events to a JSON-lines file. */
export class AuditLog {
  readonly path: string;
  readonly #maxBytes: number;
  readonly #keep: number;
  #size: number;

  constructor(stateDir: string, options: AuditLogOptions | string = {}) {
    const o = typeof options === 'string' ? { fileName: options } : options;
    ensureStateDir(stateDir);
    this.path = join(stateDir, o.fileName ?? 'audit.log');
    this.#maxBytes = o.maxBytes ?? AUDIT_LOG_MAX_BYTES;
    this.#keep = o.keep ?? AUDIT_LOG_KEEP;
    try {
      closeSync(openSync(this.path, 'a', 0o600));
      if (process.platform !== 'win32') chmodSync(this.path, 0o600);
      this.#size = statSync(this.path).size;
    } catch (err) {
      throw ioError('could not open the audit log', err);
    }
  }

  /** Appends one event as a JSON line (synchronously, so a crash loses nothing already logged). */
  append(event: AuditEvent): void {
    const clean: Record<string, unknown> = {};
    for (const f of FIELDS) clean[f] = event[f] ?? null;
    if (typeof event.count === 'number') clean['count'] = event.count;
    if (event.file !== undefined) clean['file'] = event.file;
    const line = JSON.stringify(clean) + '\n';
    try {
      if (this.#size > 0 && this.#size + Buffer.byteLength(line) > this.#maxBytes) this.#rotate();
      appendFileSync(this.path, line, { mode: 0o600 });
      this.#size += Buffer.byteLength(line);
    } catch (err) {
      throw ioError('could not append to the audit log', err);
    }
  }

  /** Moves audit.log to audit.log.1 (and each .N to .N+1, dropping the oldest), and starts an empty file. */
  #rotate(): void {
    const name = (n: number): string => (n === 0 ? this.path : `${this.path}.${n}`);
    if (this.#keep === 0) rmSync(this.path, { force: true });
    else {
      rmSync(name(this.#keep), { force: true });
      for (let n = this.#keep - 1; n >= 0; n--) if (existsSync(name(n))) renameSync(name(n), name(n + 1));
    }
    closeSync(openSync(this.path, 'a', 0o600));
    this.#size = 0;
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
