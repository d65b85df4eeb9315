/**
 * The relay of bench/relay.bench.ts, in a process of its own so that its CPU time and memory are its own.
 * Usage (spawned by spawnRelay in bench/relay.bench.ts, with an IPC channel): node --import tsx relay-child.ts '<RelayOptions as JSON>'
 * It sends {type: 'listening', port, maxOpenFiles} once, then answers each {type: 'stats', gc} with
 * {type: 'stats', ...RelayChildStats}. It exits when the channel closes.
 */
import { startRelay, type RelayOptions } from '../../src/index.js';
import { maxOpenFiles } from './limits.js';

/** What the relay process reports about itself. */
export interface RelayChildStats {
  /** process.cpuUsage() of the relay process, in microseconds. */
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  /** process.memoryUsage() of the relay process, in bytes (after a full GC when asked). */
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  /** Hosts registered and pairs spliced now. */
  readonly hosts: number;
  readonly pairs: number;
}

const send = (m: object): void => void process.send?.(m);
const options = JSON.parse(process.argv[2] ?? '{}') as RelayOptions;
const relay = await startRelay({ ...options, port: 0, host: '127.0.0.1' });

process.on('message', (m: { type?: string; gc?: boolean }) => {
  if (m.type !== 'stats') return;
  if (m.gc) {
    // Twice: the first pass may only queue finalizers (ws sockets) whose memory the second frees.
    globalThis.gc?.();
    globalThis.gc?.();
  }
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const stats: RelayChildStats = {
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    externalBytes: mem.external,
    hosts: relay.hosts,
    pairs: relay.pairs,
  };
  send({ type: 'stats', ...stats });
});
process.on('disconnect', () => {
  void relay.close().then(() => process.exit(0));
});
send({ type: 'listening', port: relay.port, maxOpenFiles: maxOpenFiles() });
