/**
 * A scripted hostile host for test/attack/hostile-host.test.ts: it runs the real handshake (acceptHandshake) and a
 * real HostSession on 127.0.0.1, then sends display updates built by hand (spec/codec.md §2) instead of encoding a
 * screen, ignoring acks. The helper is a real Helper in a child process (hostile-helper-child.ts), so each attack's
 * peak RSS is measured alone.
 */
import sharp from 'sharp';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { ByteWriter } from '../../src/core/index.js';
import { MemoryTicketStore } from '../../src/handshake/index.js';
import { HostKey, issueInvitation } from '../../src/node/index.js';
import { nodeRandom } from '../../src/transport/handshake-crypto.js';
import { acceptHandshake } from '../../src/transport/handshake-io.js';
import { HostSession } from '../../src/session/host-session.js';
import { LOSSY_JPEG, LOSSY_WEBP } from '../../src/codec/constants.js';

export { LOSSY_JPEG, LOSSY_WEBP };

/** One hand-built update, spec/codec.md §2; fields left out take a well-formed value. */
export interface UpdateSpec {
  readonly key?: boolean;
  readonly seq?: number;
  readonly width: number;
  readonly height: number;
  readonly cacheTiles?: number;
  /** srcX, srcY, dstX, dstY, width, height each. */
  readonly copies?: readonly (readonly number[])[];
  /** Inflated tile records (deflated here as one raw-deflate part ending in a sync flush) … */
  readonly records?: Uint8Array;
  readonly tileCount?: number;
  readonly rawLength?: number;
  /** … or a body given as is (a deflate bomb). */
  readonly body?: Uint8Array;
  readonly lossy?: readonly { readonly tile: number; readonly format: number; readonly data: Uint8Array }[];
}

/** Writes an update with the codec's own ByteWriter. */
export function buildUpdate(s: UpdateSpec): Uint8Array {
  const key = s.key ?? true;
  const w = new ByteWriter(1024, 64 * 1024 * 1024);
  w.u8(1).u8(key ? 1 : 0).u32(s.seq ?? 0).u16(s.width).u16(s.height);
  if (key) w.u16(s.cacheTiles ?? 0);
  const copies = s.copies ?? [];
  w.varuint(copies.length);
  for (const c of copies) for (const v of c) w.u16(v);
  const records = s.records;
  if (records !== undefined || s.body !== undefined) {
    const body = s.body ?? new Uint8Array(zlib.deflateRawSync(records!, { finishFlush: zlib.constants.Z_SYNC_FLUSH }));
    w.varuint(s.tileCount ?? 1).varuint(s.rawLength ?? records!.length).varuint(body.length).bytes(body);
  } else {
    w.varuint(0).varuint(0).varuint(0);
  }
  const lossy = s.lossy ?? [];
  w.varuint(lossy.length);
  for (const l of lossy) w.varuint(l.tile).u8(l.format).varuint(l.data.length).bytes(l.data);
  return w.toBytes();
}

/** SOLID records (type 0 with the RGB bit) for every tile of a width x height screen, in order. */
export function solidRecords(width: number, height: number, rgb: readonly [number, number, number]): { records: Uint8Array; tiles: number } {
  const tiles = Math.ceil(width / 64) * Math.ceil(height / 64);
  const records = new Uint8Array(tiles * 5);
  for (let t = 0; t < tiles; t++) records.set([0, 0x08, rgb[0], rgb[1], rgb[2]], t * 5);
  return { records, tiles };
}

/** The host side as an attack script sees it. */
export interface ScriptedHost {
  /** Sends one update (no in-flight cap: acks are ignored); false once the session or socket is gone. */
  send(update: Uint8Array): Promise<boolean>;
  /** Ends the session from the host's side. */
  close(): void;
  readonly acks: number;
  readonly closed: boolean;
}

export interface AttackOptions {
  /** The screen the host announces in Welcome (at most 16384 each, the handshake's cap). */
  readonly welcome: { readonly width: number; readonly height: number };
  /** Options of the helper (default: Helper's defaults). */
  readonly helper?: { readonly maxWidth?: number; readonly maxHeight?: number };
  /** How long the helper waits for the session to end before it reports anyway. Default 30 s. */
  readonly deadlineMs?: number;
}

/** What the helper process reported, plus how it exited. */
export interface AttackReport {
  readonly closed: boolean;
  readonly reason?: string;
  readonly code?: string;
  readonly message?: string;
  readonly frames: number;
  readonly maxRssMiB: number;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly acks: number;
  /** Updates the scripted host sent. */
  readonly updatesSent: number;
}

const CHILD = fileURLToPath(new URL('./hostile-helper-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `script` as the host against a real helper in a child process; resolves with the helper's report. */
export async function runAttack(options: AttackOptions, script: (host: ScriptedHost) => Promise<void>): Promise<AttackReport> {
  const deadlineMs = options.deadlineMs ?? 30_000;
  const hostKey = new HostKey(nodeRandom(32));
  const tickets = new MemoryTicketStore();
  const sockets: Socket[] = [];
  let scriptDone: Promise<void> | undefined;
  let acks = 0;
  let updatesSent = 0;
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => {});
    scriptDone = (async () => {
      const est = await acceptHandshake(sock, {
        staticKey: hostKey,
        tickets,
        onConsent: () => ({ mode: 'view', width: options.welcome.width, height: options.welcome.height, codecs: { codec: 1, quality: 'lossless' } }),
      });
      const session = new HostSession({
        deframer: est.deframer, seal: est.protector, now: Date.now(), mode: 'view', maxMode: 'view',
        width: options.welcome.width, height: options.welcome.height, clock: Date.now, maxInFlight: 2 ** 30,
      });
      let closed = false;
      const pump = async (): Promise<boolean> => {
        for (let ev = session.pollEvent(); ev; ev = session.pollEvent()) {
          if (ev.type === 'ack') acks++;
          if (ev.type === 'closed') closed = true;
        }
        for (let out = session.pollTransmit(); out; out = session.pollTransmit()) {
          if (sock.destroyed) return false;
          if (!sock.write(out)) {
            await Promise.race([once(sock, 'drain'), once(sock, 'close')]);
          }
        }
        return !closed && !sock.destroyed;
      };
      sock.on('data', (chunk: Buffer) => {
        session.handleBytes(chunk, Date.now());
        void pump();
      });
      sock.on('close', () => (closed = true));
      sock.resume();
      await pump();
      const host: ScriptedHost = {
        send: async (update) => {
          if (closed || sock.destroyed) return false;
          session.sendUpdate(update, Date.now());
          updatesSent++;
          return pump();
        },
        close: () => {
          session.close();
          void pump();
        },
        get acks() {
          return acks;
        },
        get closed() {
          return closed || sock.destroyed;
        },
      };
      await script(host);
    })().catch(() => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  try {
    const { invitation } = issueInvitation({
      hostKey, store: tickets, addresses: [`127.0.0.1:${port}`], expires: { value: 10, units: 'minutes' }, name: 'hostile host', mode: 'view',
    });
    const job = { url: invitation.toUrl(), deadlineMs, ...options.helper };
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(job)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // A bound on a hung child, not a timing assertion: it reports by itself at deadlineMs.
    const kill = setTimeout(() => child.kill('SIGKILL'), deadlineMs + 30_000);
    const [exitCode, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    clearTimeout(kill);
    await scriptDone;
    const line = stdout.trim().split('\n').pop() ?? '';
    let report: Partial<AttackReport> = {};
    try {
      report = JSON.parse(line) as Partial<AttackReport>;
    } catch {
      report = {};
    }
    return { closed: false, frames: 0, maxRssMiB: Number.NaN, ...report, exitCode, signal, stderr: stderr.slice(-2000), acks, updatesSent };
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
}

// --- Shared by the hostile-host test files -------------------------------------------------------

/** The budget the helper must stay under, whatever the host sends. */
export const MAX_RSS_MIB = 300;

/** A real w x h tile image from sharp. */
export async function tileImage(format: 'jpeg' | 'webp', w = 64, h = 64): Promise<Uint8Array> {
  const img = sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 100, b: 50 } } });
  const buf = format === 'jpeg' ? await img.jpeg({ quality: 80 }).toBuffer() : await img.webp({ quality: 80, effort: 1 }).toBuffer();
  return new Uint8Array(buf);
}

/** A key frame of one 64x64 lossy tile. */
export const lossyKey = (format: number, data: Uint8Array, size = 64): Uint8Array => buildUpdate({ width: size, height: size, lossy: [{ tile: 0, format, data }] });

/** Runs an attack and checks the helper's report: a clean close with `code`, and the RSS budget. */
export async function expectRefused(t: Test, name: string, options: AttackOptions, script: (h: ScriptedHost) => Promise<void>, code: string): Promise<AttackReport> {
  const r = await runAttack(options, script);
  t.comment(`${name}: peak RSS ${r.maxRssMiB} MiB, closed ${r.closed} with ${r.code ?? 'no error'} after ${r.frames} frames${r.message ? ` (${r.message})` : ''}`);
  t.equal(r.exitCode, 0, `${name}: the helper process did not crash${r.exitCode === 0 ? '' : `: ${r.stderr}`}`);
  t.ok(r.closed, `${name}: the helper ended the session`);
  t.equal(r.code, code, `${name}: the session ended with ${code}`);
  t.ok(r.maxRssMiB < MAX_RSS_MIB, `${name}: peak RSS ${r.maxRssMiB} MiB is under ${MAX_RSS_MIB} MB`);
  return r;
}

export const small = { welcome: { width: 64, height: 64 } } as const;

export const sendAll = (...updates: Uint8Array[]) => async (h: ScriptedHost): Promise<void> => {
  for (const u of updates) if (!(await h.send(u))) return;
};
