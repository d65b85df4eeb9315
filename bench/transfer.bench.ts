/**
 * File transfer throughput (spec/transfer.md, issue #20 item 1): one file sent helper → host over loopback TCP
 * (the whole path: read from disk, chunks sealed on channel 7 under the 4 MiB window, written to the downloads
 * folder, SHA-256 checked end to end, linked into place), timed from sendFile() until the host saved it; beside it,
 * in the same run, a raw TCP copy of the same bytes from the same file into a file on the other side (no protocol,
 * no cipher, no hashing): the ratio is what tessera's transfer costs over plain sockets.
 * The session runs with the default cipher the Node helper and host agree on; the virtual desktop is idle.
 * Usage: node --import tsx bench/transfer.bench.ts [--mib N] [--runs N] [--json]
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Host, Helper, VirtualScreen, type HostSessionHandle, type TransferResult } from '../src/index.js';
import { environment, wantsJson } from './lib/bench.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name} needs a positive number, got ${args[i + 1]}`);
  return v;
};
const mib = arg('--mib', 64);
const runs = arg('--runs', 3);
const json = wantsJson();
const log = (s: string): void => {
  if (!json) console.log(s);
};

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-transfer-'));
const size = Math.round(mib * 1024 * 1024);
const source = join(dir, 'source.bin');
writeFileSync(source, randomBytes(size));

/** A raw TCP copy of the file into a file: the floor any protocol over TCP stands on. */
async function rawCopy(run: number): Promise<number> {
  const out = join(dir, `raw-${run}.bin`);
  const server = createServer();
  const done = new Promise<void>((resolve, reject) => {
    server.once('connection', (socket) => void pipeline(socket, createWriteStream(out)).then(resolve, reject));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const t0 = performance.now();
  const socket = connect(port, '127.0.0.1');
  await pipeline(createReadStream(source, { highWaterMark: 1024 * 1024 }), socket);
  await done;
  const ms = performance.now() - t0;
  server.close();
  rmSync(out);
  return ms;
}

async function tesseraCopy(run: number): Promise<{ ms: number; result: TransferResult }> {
  const downloads = join(dir, `downloads-${run}`);
  const host = new Host({ source: new VirtualScreen({ width: 640, height: 400, now: () => 0 }), consent: () => 'view', transfer: { downloads, accept: 'auto' } });
  await host.listen({ port: 0 });
  const invitation = await host.createInvitation({ mode: 'view', expires: '30m' });
  const saved = new Promise<TransferResult>((resolve) => host.on('session', (s: HostSessionHandle) => s.on('transfer', resolve)));
  const helper = await Helper.connect(invitation.toURL());
  const t0 = performance.now();
  const [sent] = await Promise.all([helper.sendFile(source), saved]);
  const ms = performance.now() - t0;
  if (!sent.ok) throw new Error(`the transfer failed: ${sent.code}`);
  await helper.close();
  await host.close();
  rmSync(downloads, { recursive: true, force: true });
  return { ms, result: sent };
}

const mbps = (ms: number): number => size / 1e6 / (ms / 1000);
const raw: number[] = [];
const tessera: number[] = [];
log(`transfer: ${mib} MiB file, helper -> host over loopback TCP, ${runs} runs each, alternating (sendFile() until the host saved it, SHA-256 checked)`);
for (let run = 0; run < runs; run++) {
  raw.push(await rawCopy(run));
  tessera.push((await tesseraCopy(run)).ms);
  log(`  run ${run + 1}: raw TCP copy ${mbps(raw.at(-1)!).toFixed(0)} MB/s, tessera ${mbps(tessera.at(-1)!).toFixed(0)} MB/s`);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rawMbps = mbps(median(raw));
const tMbps = mbps(median(tessera));
rmSync(dir, { recursive: true, force: true });
if (json) {
  console.log(JSON.stringify({ bench: 'transfer', environment: environment(), bytes: size, runs, rawMBps: rawMbps, tesseraMBps: tMbps, ratio: tMbps / rawMbps }));
} else {
  log(`median: raw TCP copy ${rawMbps.toFixed(0)} MB/s, tessera file transfer ${tMbps.toFixed(0)} MB/s (${((tMbps / rawMbps) * 100).toFixed(0)}% of raw; MB = 10^6 bytes)`);
}
