/**
 * The open-file limit a bench process runs with, for the relay bench (thousands of sockets need more than the
 * usual 1024; Node cannot raise its own limit, so a shell's `ulimit -n` raises it before exec).
 */
import { readFileSync } from 'node:fs';

/** This process's soft limit on open files (from /proc/self/limits); undefined where unknown or unlimited. */
export function maxOpenFiles(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}
