/**
 * Relay benchmarks (issue #15 item 9), each against a baseline measured in the same run. The relay runs in a child
 * process of its own (bench/lib/relay-child.ts), so its CPU time and memory are its own; hosts and helpers run here.
 * 1. Latency the relay adds: key press at the helper to the changed pixels at that helper (1920x1080 virtual desktop,
 *    as in session.bench.ts), through the relay and directly over loopback TCP to the same host, in alternating
 *    blocks with a fresh helper each: p50/p99 of both and the difference. Beside it, round trips of a 64-byte
 *    message through a relayed pair and a direct WebSocket, taking turns: the relay hop without the screen pipeline.
 * 2. Aggregate throughput of 100 pairs streaming host → helper through the one relay process, next to the same
 *    streams over direct loopback WebSockets, twice: host as the server (tessera's own WebSocket endpoint: nobody
 *    masks) and host as the client (the host masks, as towards a relay); the relay's CPU seconds per GB relayed.
 * 3. Idle registrations: 10,000 hosts (distinct keys, each serving one id) register and stay; how many the relay
 *    holds, and its memory (RSS and V8 heap after a full GC) per registration, against the relay with none.
 * Caps raised for the bench (and printed): connections in all and per address, and the per-pair byte and rate caps.
 * Open files: each idle registration is a socket in each process. The relay's soft limit is raised through sh
 * (`ulimit -n`, up to the hard limit); this process keeps the one it was started with and says so when it is short.
 * Usage: node --import tsx bench/relay.bench.ts [--presses N] [--pairs N] [--bytes TOTAL] [--registrations N] [--json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { Host, Helper, VirtualScreen, RelayRegistration, WebSocketStream, dialRelay, type RelayOptions } from '../src/index.js';
import { environment, wantsJson } from './lib/bench.js';
import { alternatingKey, percentile, timeKeyPress } from './lib/keypress.js';
import { maxOpenFiles } from './lib/limits.js';
import type { RelayChildStats } from './lib/relay-child.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${name} needs a number, got ${args[i + 1]}`);
  return v;
};
const presses = arg('--presses', 400);
const pairs = arg('--pairs', 100);
const totalBytes = arg('--bytes', 1024 ** 3);
const registrations = arg('--registrations', 10_000);
const json = wantsJson();
const log = (s: string): void => {
  if (!json) console.log(s);
};

/** Targets of issue #15 item 9 (on a 2-core machine). */
const TARGETS = {
  addedP50Ms: 0.5,
  aggregateGbitPerSec: 1,
  bytesPerRegistration: 32 * 1024,
  registrationsHeld: 10_000,
} as const;

/** Caps raised for the bench: room for every connection from 127.0.0.1, and no per-pair rate or byte cap. */
const RELAY_OPTIONS: RelayOptions = {
  maxConnections: 1_000_000,
  maxConnectionsPerAddress: 1_000_000,
  maxPairBytes: Number.MAX_SAFE_INTEGER,
  maxPairBytesPerSecond: 0,
  helloTimeoutMs: 60_000,
  pairingTimeoutMs: 60_000,
};

/** Round trips of a small message on each path, next to the key presses. */
const ECHO_ROUND_TRIPS = 2_000;

/** Presses per block of the latency run (the paths take turns, block by block). */
const LATENCY_BLOCK_PRESSES = 25;

/** Open files allowed to the relay process (the shell raises its soft limit; root may raise the hard one too). */
const RELAY_MAX_OPEN_FILES = 65_536;


// --- the relay process -------------------------------------------------------------------------------------------

interface RelayProcess {
  readonly url: string;
  readonly pid: number;
  readonly maxOpenFiles: number | undefined;
  stats(gc?: boolean): Promise<RelayChildStats>;
  stop(): Promise<void>;
}

/** Starts a relay in a child process (open-file limit raised through sh, since Node cannot raise its own). */
async function spawnRelay(options: RelayOptions): Promise<RelayProcess> {
  const script = join(import.meta.dirname, 'lib', 'relay-child.ts');
  const child: ChildProcess = spawn(
    'sh',
    ['-c', `ulimit -n ${RELAY_MAX_OPEN_FILES} 2>/dev/null || ulimit -n hard 2>/dev/null; exec "$0" "$@"`, process.execPath, '--expose-gc', '--import', 'tsx', script, JSON.stringify(options)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const [hello] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the relay process exited with ${code} before listening`);
    }),
  ])) as [{ type: string; port: number; maxOpenFiles?: number }];
  let queue = Promise.resolve() as Promise<unknown>;
  return {
    url: `ws://127.0.0.1:${hello.port}`,
    pid: child.pid!,
    maxOpenFiles: hello.maxOpenFiles,
    stats(gc = false) {
      // One question at a time, so each answer is the one asked for.
      const answer = queue.then(async () => {
        child.send({ type: 'stats', gc });
        const [m] = (await once(child, 'message')) as [RelayChildStats & { type: string }];
        return m;
      });
      queue = answer.catch(() => {});
      return answer;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// --- 1. latency --------------------------------------------------------------------------------------------------

/** Key presses at `helper`, each timed until the text field's pixels changed at the helper (bench/lib/keypress.ts). */
async function pressLatencies(helper: Helper, screen: VirtualScreen, n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) into.push(await timeKeyPress(helper, screen.fieldRect, alternatingKey(i)));
}

async function latency(n: number) {
  const relay = await spawnRelay(RELAY_OPTIONS);
  const screen = new VirtualScreen({ width: 1920, height: 1080 });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', maxFps: 60 });
  try {
    await host.listen({ port: 0, host: '127.0.0.1' });
    const registered = once(host, 'relay-registered');
    host.useRelay(relay.url);
    await registered;
    const direct: number[] = [];
    const relayed: number[] = [];
    // Short alternating blocks, a fresh helper each, so drift in the machine's load falls on both paths alike.
    const blocks = Math.max(1, Math.ceil(n / LATENCY_BLOCK_PRESSES));
    for (let b = 0; b < 2 * blocks; b++) {
      const viaRelay = b % 2 === 1;
      const count = Math.floor(n / blocks) + (Math.floor(b / 2) < n % blocks ? 1 : 0);
      if (count === 0) continue;
      const inv = await host.createInvitation({ expires: '10m', ...(viaRelay ? { addresses: [] } : { relay: false }) });
      const helper = await Helper.connect(inv.toURL(), { requestControl: true });
      if (helper.path !== (viaRelay ? 'relay' : 'direct')) throw new Error(`the helper took the ${helper.path} path`);
      await helper.waitForFrame(() => true);
      await pressLatencies(helper, screen, count, viaRelay ? relayed : direct);
      await helper.close();
    }
    const echo = await echoRoundTrips(relay.url, ECHO_ROUND_TRIPS);
    direct.sort((a, b) => a - b);
    relayed.sort((a, b) => a - b);
    const d = { p50Ms: percentile(direct, 50), p99Ms: percentile(direct, 99) };
    const r = { p50Ms: percentile(relayed, 50), p99Ms: percentile(relayed, 99) };
    return { presses: direct.length + relayed.length, direct: d, relay: r, addedP50Ms: r.p50Ms - d.p50Ms, addedP99Ms: r.p99Ms - d.p99Ms, echo };
  } finally {
    await host.close();
    await relay.stop();
  }
}

/**
 * Round trips of a 64-byte message, helper → host → helper, taking turns between a direct WebSocket and a relayed
 * pair, one round trip each: the relay's own cost per traversal without the screen pipeline around it.
 */
async function echoRoundTrips(relayUrl: string, n: number) {
  const direct = await directPairs(1, 'client');
  const relayed = await relayedPairs(relayUrl, 1);
  const paths = [direct.pairs[0]!, relayed.pairs[0]!];
  for (const p of paths) p.host.on('data', (chunk: Buffer) => p.host.write(chunk));
  const times: [number[], number[]] = [[], []];
  const message = Buffer.alloc(64, 0x42);
  try {
    for (let i = 0; i < 2 * n; i++) {
      const p = paths[i % 2]!;
      const t0 = performance.now();
      p.helper.write(message);
      for (let got = 0; got < message.byteLength; ) got += ((await once(p.helper, 'data')) as [Buffer])[0].byteLength;
      times[i % 2]!.push(performance.now() - t0);
    }
  } finally {
    closePairs(paths);
    relayed.close();
    await direct.close();
  }
  const [d, r] = times.map((t) => t.sort((a, b) => a - b)) as [number[], number[]];
  const dp = { p50Ms: percentile(d, 50), p99Ms: percentile(d, 99) };
  const rp = { p50Ms: percentile(r, 50), p99Ms: percentile(r, 99) };
  return { roundTrips: n, direct: dp, relay: rp, addedP50Ms: rp.p50Ms - dp.p50Ms, addedP99Ms: rp.p99Ms - dp.p99Ms };
}

// --- 2. throughput -----------------------------------------------------------------------------------------------

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

/** Writes `bytes` to `s` in 64 KiB chunks, waiting for 'drain' whenever the stream is full. */
async function pump(s: WebSocketStream, bytes: number): Promise<void> {
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, CHUNK.byteLength);
    left -= n;
    if (!s.write(n === CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, n))) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          s.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          s.off('drain', onDrain);
          reject(new Error('the stream closed while writing'));
        };
        s.once('drain', onDrain);
        s.once('close', onClose);
      });
    }
  }
}

/** Bytes received by every reader of the current run, for the stall watchdog. */
let received = 0;

/** Resolves once `bytes` arrived on `s` (rejects if it closes first); then stops listening (the stream stays flowing). */
function drainAll(s: WebSocketStream, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (chunk: Buffer): void => {
      got += chunk.byteLength;
      received += chunk.byteLength;
      if (got >= bytes) done();
    };
    const onClose = (): void => done(new Error(`a stream closed after ${got} of ${bytes} bytes`));
    const done = (err?: Error): void => {
      s.off('data', onData);
      s.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    s.on('data', onData);
    s.once('close', onClose);
  });
}

interface StreamPair {
  readonly host: WebSocketStream;
  readonly helper: WebSocketStream;
}

/** Streams `perPair` bytes host → helper on every pair at once; seconds from the first write to the last byte. */
async function stream(list: readonly StreamPair[], perPair: number): Promise<number> {
  received = 0;
  let seen = -1;
  let stalled!: (err: Error) => void;
  const stall = new Promise<never>((_resolve, reject) => (stalled = reject));
  // A lost byte would leave a reader waiting for ever: report it instead (no progress at all for 30 s).
  const watchdog = setInterval(() => {
    if (received === seen) stalled(new Error(`streaming stalled: ${received} of ${perPair * list.length} bytes arrived, none in the last 30 s`));
    seen = received;
  }, 30_000);
  const t0 = performance.now();
  try {
    await Promise.race([stall, Promise.all(list.map((p) => Promise.all([pump(p.host, perPair), drainAll(p.helper, perPair)])))]);
  } finally {
    clearInterval(watchdog);
  }
  return (performance.now() - t0) / 1000;
}

function closePairs(list: readonly StreamPair[]): void {
  for (const p of list) {
    p.host.destroy();
    p.helper.destroy();
  }
}

/**
 * n pairs over direct loopback WebSockets. With the host as the server (tessera's own WebSocket endpoint) nobody
 * masks; with the host as the client, the host masks every byte as it does towards a relay (RFC 6455 §5.3).
 */
async function directPairs(n: number, host: 'server' | 'client'): Promise<{ pairs: StreamPair[]; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 1024 * 1024 });
  await once(wss, 'listening');
  const port = (wss.address() as { port: number }).port;
  // The server's end of each connection, by the client's port, so each pair is the two ends of one connection.
  const accepted = new Map<number, WebSocketStream>();
  let all!: () => void;
  const allAccepted = new Promise<void>((resolve) => (all = resolve));
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    accepted.set(req.socket.remotePort!, new WebSocketStream(ws));
    if (accepted.size === n) all();
  });
  const clients = await Promise.all(
    Array.from({ length: n }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false, maxPayload: 1024 * 1024 });
      await once(ws, 'open');
      return { stream: new WebSocketStream(ws), port: (ws as unknown as { _socket: Socket })._socket.localPort! };
    }),
  );
  if (n > 0) await allAccepted;
  return {
    pairs: clients.map((c) => {
      const server = accepted.get(c.port)!;
      return host === 'server' ? { host: server, helper: c.stream } : { host: c.stream, helper: server };
    }),
    close: () => new Promise((resolve) => wss.close(() => resolve())),
  };
}

/** n pairs through the relay: a registered host per pair (its own key, one id) and a helper that dials that id. */
async function relayedPairs(url: string, n: number): Promise<{ pairs: StreamPair[]; close(): void }> {
  const registrationsOpen: RelayRegistration[] = [];
  const pairs = await Promise.all(
    Array.from({ length: n }, async () => {
      const id = new Uint8Array(randomBytes(16));
      let onStream!: (s: WebSocketStream) => void;
      const hostSide = new Promise<WebSocketStream>((resolve) => (onStream = resolve));
      const reg = new RelayRegistration({ url, hostKey: newHostKey(), ids: () => [id], onStream: (s) => onStream(s) });
      registrationsOpen.push(reg);
      const registered = once(reg, 'registered');
      reg.start();
      await registered;
      // Serve is sent just before 'registered'; a dial right after can beat it on the relay only if the relay read
      // the two connections out of order, which a refusal (UNKNOWN_ID) would show.
      const helper = await dialRelay(url, id);
      return { host: await hostSide, helper };
    }),
  );
  return { pairs, close: () => registrationsOpen.forEach((r) => r.close()) };
}

async function throughput(n: number, bytes: number) {
  const perPair = Math.max(1, Math.floor(bytes / Math.max(1, n)));
  const total = perPair * n;
  // The direct baseline first (the relay process is not running yet, so the machine is the same otherwise).
  // Each path streams a tenth first, untimed, so that neither process is measured while its JIT warms up.
  const warmPerPair = Math.max(1, Math.floor(perPair / 10));
  const directRun = async (host: 'server' | 'client'): Promise<number> => {
    const direct = await directPairs(n, host);
    await stream(direct.pairs, warmPerPair);
    const seconds = await stream(direct.pairs, perPair);
    closePairs(direct.pairs);
    await direct.close();
    return seconds;
  };
  const directSeconds = await directRun('server');
  const maskedSeconds = await directRun('client');

  const relay = await spawnRelay(RELAY_OPTIONS);
  try {
    const relayed = await relayedPairs(relay.url, n);
    await stream(relayed.pairs, warmPerPair);
    const before = await relay.stats();
    const relaySeconds = await stream(relayed.pairs, perPair);
    const after = await relay.stats();
    closePairs(relayed.pairs);
    relayed.close();
    const cpuSeconds = (after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs) / 1e6;
    const gbit = (seconds: number): number => (total * 8) / seconds / 1e9;
    return {
      pairs: n,
      bytes: total,
      direct: { seconds: directSeconds, gbitPerSec: gbit(directSeconds) },
      directMasked: { seconds: maskedSeconds, gbitPerSec: gbit(maskedSeconds) },
      relay: { seconds: relaySeconds, gbitPerSec: gbit(relaySeconds) },
      ratio: gbit(relaySeconds) / gbit(directSeconds),
      ratioMasked: gbit(relaySeconds) / gbit(maskedSeconds),
      relayCpuSeconds: cpuSeconds,
      relayCpuSecondsPerGB: cpuSeconds / (total / 1e9),
      relayCpuShare: cpuSeconds / relaySeconds,
      /** What one core would carry at that cost: the relay's own ceiling, whatever the clients on this machine manage. */
      relayOneCoreGbitPerSec: cpuSeconds > 0 ? (total * 8) / cpuSeconds / 1e9 : NaN,
    };
  } finally {
    await relay.stop();
  }
}

// --- 3. idle registrations ---------------------------------------------------------------------------------------

/** An X25519 host key pair from node:crypto (faster than tweetnacl for thousands of keys; the same raw bytes). */
function newHostKey(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const pub = publicKey.export({ format: 'jwk' });
  const sec = privateKey.export({ format: 'jwk' });
  return { publicKey: new Uint8Array(Buffer.from(pub.x!, 'base64url')), secretKey: new Uint8Array(Buffer.from(sec.d!, 'base64url')) };
}

async function idleRegistrations(n: number) {
  const relay = await spawnRelay(RELAY_OPTIONS);
  const open: RelayRegistration[] = [];
  let lost = 0;
  try {
    // Let the fresh process settle (JIT, lazy modules) before the baseline.
    await relay.stats(true);
    await new Promise((r) => setTimeout(r, 500));
    const before = await relay.stats(true);
    const t0 = performance.now();
    // A bounded number in flight: the proof costs the relay two X25519 operations, and a flood would hit timeouts.
    const inFlight = 64;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        next++;
        const id = new Uint8Array(randomBytes(16));
        const reg = new RelayRegistration({ url: relay.url, hostKey: newHostKey(), ids: () => [id], onStream: (s) => s.destroy(), timeoutMs: 60_000 });
        reg.on('lost', () => lost++);
        open.push(reg);
        const registered = once(reg, 'registered');
        reg.start();
        await registered;
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
    const seconds = (performance.now() - t0) / 1000;
    // The Serve messages of the last ones, and any late losses, arrive meanwhile.
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await relay.stats(true);
    const held = after.hosts;
    return {
      requested: n,
      held,
      lost,
      seconds,
      perSecond: n / seconds,
      relayMaxOpenFiles: relay.maxOpenFiles,
      rssBytesBefore: before.rssBytes,
      rssBytesAfter: after.rssBytes,
      rssBytesPerRegistration: held > 0 ? (after.rssBytes - before.rssBytes) / held : NaN,
      heapBytesPerRegistration: held > 0 ? (after.heapUsedBytes - before.heapUsedBytes) / held : NaN,
    };
  } finally {
    for (const r of open) r.close();
    await relay.stop();
  }
}

// --- report ------------------------------------------------------------------------------------------------------

const env = environment();
const loadBefore = loadavg();
const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
log(`tessera relay bench — node ${env.node}, ${env.cpu} x${env.cpus}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} at start`);
log(`relay in a child process with caps raised for the bench: maxConnections and maxConnectionsPerAddress ${RELAY_OPTIONS.maxConnections}, maxPairBytes 2^53-1, maxPairBytesPerSecond 0 (none), hello and pairing timeouts 60 s; open files: ulimit -n ${RELAY_MAX_OPEN_FILES} asked for the relay (the hard limit caps it), ${maxOpenFiles() ?? 'unknown'} here`);

const lat = presses > 0 ? await latency(presses) : undefined;
if (lat) {
  log(`key press to pixels (1920x1080 virtual desktop, ${lat.presses} presses in alternating blocks):`);
  log(`  direct TCP     p50 ${lat.direct.p50Ms.toFixed(2)} ms, p99 ${lat.direct.p99Ms.toFixed(2)} ms (baseline)`);
  log(`  through relay  p50 ${lat.relay.p50Ms.toFixed(2)} ms, p99 ${lat.relay.p99Ms.toFixed(2)} ms (ratio p50 ${(lat.relay.p50Ms / lat.direct.p50Ms).toFixed(2)}x)`);
  log(`  added by the relay: p50 ${lat.addedP50Ms.toFixed(2)} ms, p99 ${lat.addedP99Ms.toFixed(2)} ms`);
  const e = lat.echo;
  log(`round trip of a 64-byte message, helper → host → helper (${e.roundTrips} on each path, taking turns):`);
  log(`  direct WebSocket p50 ${e.direct.p50Ms.toFixed(3)} ms, p99 ${e.direct.p99Ms.toFixed(3)} ms (baseline); through the relay p50 ${e.relay.p50Ms.toFixed(3)} ms, p99 ${e.relay.p99Ms.toFixed(3)} ms`);
  log(`  added by the relay (two traversals): p50 ${e.addedP50Ms.toFixed(3)} ms, p99 ${e.addedP99Ms.toFixed(3)} ms`);
}

const thr = pairs > 0 && totalBytes > 0 ? await throughput(pairs, totalBytes) : undefined;
if (thr) {
  log(`throughput, ${thr.pairs} pairs streaming host → helper, ${mib(thr.bytes)} in all:`);
  log(`  direct WebSockets, host as server (no masking)    ${thr.direct.gbitPerSec.toFixed(2)} Gbit/s (${thr.direct.seconds.toFixed(2)} s; baseline)`);
  log(`  direct WebSockets, host as client (host masks)    ${thr.directMasked.gbitPerSec.toFixed(2)} Gbit/s (${thr.directMasked.seconds.toFixed(2)} s; baseline)`);
  log(`  through the relay (host masks, the relay unmasks) ${thr.relay.gbitPerSec.toFixed(2)} Gbit/s (${thr.relay.seconds.toFixed(2)} s; ratio ${thr.ratio.toFixed(2)}x of the first, ${thr.ratioMasked.toFixed(2)}x of the second)`);
  log(`  relay CPU ${thr.relayCpuSeconds.toFixed(2)} s: ${thr.relayCpuSecondsPerGB.toFixed(2)} CPU s per GB relayed (${(thr.relayCpuShare * 100).toFixed(0)}% of one core while streaming; at that cost one core carries ${thr.relayOneCoreGbitPerSec.toFixed(2)} Gbit/s)`);
  log(`  (hosts and helpers of both runs share this one process: with 2 cores, it and the relay compete for them)`);
}

// Each registration is a socket here and one at the relay; the relay's limit is raised through sh, this one is not.
const ownLimit = maxOpenFiles();
if (registrations > 0 && ownLimit !== undefined && ownLimit < registrations + 256) {
  throw new Error(`${registrations} registrations need about ${registrations + 256} open files in this process, but its limit is ${ownLimit}: raise it first (ulimit -n ${registrations + 256}) or ask for fewer (--registrations N)`);
}
const reg = registrations > 0 ? await idleRegistrations(registrations) : undefined;
if (reg) {
  log(`idle registrations (distinct host keys, one id each): ${reg.held} of ${reg.requested} held, ${reg.lost} lost; registered in ${reg.seconds.toFixed(1)} s (${reg.perSecond.toFixed(0)}/s); relay open-file limit ${reg.relayMaxOpenFiles ?? 'unknown'}`);
  log(`  relay RSS ${mib(reg.rssBytesBefore)} with none (baseline) → ${mib(reg.rssBytesAfter)}: ${(reg.rssBytesPerRegistration / 1024).toFixed(1)} KiB RSS, ${(reg.heapBytesPerRegistration / 1024).toFixed(1)} KiB V8 heap per registration (after a full GC)`);
}

const targets = [
  ...(lat ? [{ name: 'added latency p50 (ms)', target: `< ${TARGETS.addedP50Ms}`, value: lat.addedP50Ms, met: lat.addedP50Ms < TARGETS.addedP50Ms }] : []),
  ...(thr ? [{ name: 'aggregate throughput (Gbit/s)', target: `>= ${TARGETS.aggregateGbitPerSec}`, value: thr.relay.gbitPerSec, met: thr.relay.gbitPerSec >= TARGETS.aggregateGbitPerSec }] : []),
  ...(reg
    ? [
        { name: 'RSS per idle registration (KiB)', target: `<= ${TARGETS.bytesPerRegistration / 1024}`, value: reg.rssBytesPerRegistration / 1024, met: reg.rssBytesPerRegistration <= TARGETS.bytesPerRegistration },
        {
          name: `idle registrations held${reg.requested < TARGETS.registrationsHeld ? ` (only ${reg.requested} asked for)` : ''}`,
          target: `>= ${TARGETS.registrationsHeld}`,
          value: reg.held,
          met: reg.held >= TARGETS.registrationsHeld,
        },
      ]
    : []),
];
const loadAfter = loadavg();
log(`targets (issue #15 item 9, for this 2-core machine):`);
for (const t of targets) log(`  ${t.met ? 'met    ' : 'MISSED '} ${t.name}: ${Number.isInteger(t.value) ? t.value : t.value.toFixed(2)} (target ${t.target})`);
log(`load average ${loadAfter.map((l) => l.toFixed(2)).join(' ')} at the end (other processes share the machine: the figures are noisy)`);
if (json) {
  console.log(JSON.stringify({
    environment: env,
    load: { start: loadBefore, end: loadAfter },
    sizes: { presses, pairs, bytes: totalBytes, registrations },
    relayOptions: { ...RELAY_OPTIONS, maxOpenFiles: RELAY_MAX_OPEN_FILES },
    latency: lat ?? null,
    throughput: thr ?? null,
    registrations: reg ?? null,
    targets,
  }));
}
process.exit(0);
