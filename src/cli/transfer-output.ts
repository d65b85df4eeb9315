/**
 * What the CLI says about file transfers (spec/transfer.md): progress with bytes and rate on stderr, at most every
 * 500 ms per file, and one line when a file ends. A peer's file name is untrusted text and goes out only through
 * printable(), never as it came.
 */
import type { TransferProgress, TransferResult } from '../index.js';
import { formatBytes, type Output } from './output.js';
import { printable } from './printable.js';

/** Most characters of a file name shown. */
const NAME_CHARS = 80;
/** Least time between two progress lines of one file. */
const PROGRESS_INTERVAL_MS = 500;

/** A rate for people, in MB/s (10^6 bytes per second, as network rates are said). */
export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

/** Paces and words the progress and the end of file transfers. */
export class TransferReporter {
  readonly #out: Output;
  readonly #last = new Map<string, number>();

  constructor(out: Output) {
    this.#out = out;
  }

  progress(p: TransferProgress, peer: string): void {
    const key = `${p.direction}:${p.id}:${peer}`;
    const now = Date.now();
    const last = this.#last.get(key) ?? 0;
    if (now - last < PROGRESS_INTERVAL_MS && p.bytes < p.size) return;
    this.#last.set(key, now);
    this.#out.event('transfer-progress', { id: p.id, direction: p.direction, peer, name: p.name, size: p.size, bytes: p.bytes, bytesPerSecond: Math.round(p.bytesPerSecond) });
    const pct = p.size === 0 ? 100 : Math.floor((p.bytes * 100) / p.size);
    this.#out.progress(`${p.direction === 'out' ? 'sending' : 'receiving'} ${printable(p.name, NAME_CHARS)}: ${formatBytes(p.bytes)} of ${formatBytes(p.size)} (${pct}%), ${formatRate(p.bytesPerSecond)}`);
  }

  result(r: TransferResult, peer: string): void {
    this.#last.delete(`${r.direction}:${r.id}:${peer}`);
    const sha256 = Buffer.from(r.sha256).toString('hex');
    this.#out.event('transfer', {
      id: r.id,
      direction: r.direction,
      peer,
      name: r.name,
      size: r.size,
      bytes: r.bytes,
      ok: r.ok,
      code: r.code ?? null,
      byPeer: r.byPeer ?? null,
      path: r.path ?? null,
      sha256,
      resumedFrom: r.resumedFrom,
      elapsedMs: r.elapsedMs,
      bytesPerSecond: Math.round(r.bytesPerSecond),
    });
    const name = printable(r.name, NAME_CHARS);
    const resumed = r.resumedFrom > 0 ? `, resumed at ${formatBytes(r.resumedFrom)}` : '';
    if (r.ok && r.direction === 'in') this.#out.say(`received ${name} (${formatBytes(r.size)}, sha256 ${sha256.slice(0, 16)}…, ${formatRate(r.bytesPerSecond)}${resumed}), saved as ${printable(r.path ?? '', 300)}`);
    else if (r.ok) this.#out.say(`sent ${name} (${formatBytes(r.size)}, ${formatRate(r.bytesPerSecond)}${resumed}): saved by ${printable(peer, NAME_CHARS)}, sha256 checked`);
    else if (!r.accepted) this.#out.say(`${r.direction === 'out' ? `${printable(peer, NAME_CHARS)} refused ${name}` : `refused ${name}`} (${r.code ?? 'cancelled'})`);
    else this.#out.warn(`the transfer of ${name} stopped after ${formatBytes(r.bytes)} of ${formatBytes(r.size)} (${r.code ?? 'cancelled'}${r.byPeer ? ', by the other side' : ''})${r.code === 'cancelled' && r.direction === 'out' ? '; sending it again resumes where it stopped' : ''}`);
  }
}
