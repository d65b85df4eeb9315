/**
 * The load scenario shared by test/attack/load.test.ts and `npm run soak`: a legitimate helper watches a replay
 * (ReplayScreen at a fixed frame rate over a generated PNG folder) while a child process sends waves of 50 concurrent
 * handshakes with wrong proofs from another loopback address. Measures the helper's frame rate unloaded and loaded
 * in the same run, the refusals by code, the host's audit, and the host process's heap, RSS and handles.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Helper, Host, ReplayScreen, encodePng, type AuditEvent, type HandshakeError } from '../../src/index.js';
import { count, measure, settleHandles, sleep, type ProcessFigures } from './lib.js';

const CLIENT = new URL('./wrong-ticket-client.ts', import.meta.url).pathname;

/** Writes `frames` PNGs: a still gradient with a block that moves (every frame differs, in a few tiles, like a dragged window). */
export async function generateReplay(dir: string, frames: number, width: number, height: number): Promise<void> {
  for (let f = 0; f < frames; f++) {
    const data = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        const inBlock = x >= (f * 13) % width && x < ((f * 13) % width) + 64 && y >= (f * 7) % height && y < ((f * 7) % height) + 64;
        data[i] = inBlock ? 255 : x & 0xff;
        data[i + 1] = inBlock ? 40 : (y * 2) & 0xff;
        data[i + 2] = inBlock ? 40 : (x ^ y) & 0xff;
        data[i + 3] = 255;
      }
    }
    writeFileSync(join(dir, `${String(f).padStart(4, '0')}.png`), await encodePng({ width, height, data }, 1));
  }
}

export interface LoadOptions {
  readonly windowMs: number;
  readonly fps: number;
  readonly concurrency: number;
  readonly width?: number;
  readonly height?: number;
}

export interface LoadFigures {
  readonly unloadedFps: number;
  readonly loadedFps: number;
  readonly framesDelivered: number;
  readonly attempts: number;
  readonly waves: number;
  readonly refusals: Record<string, number>;
  readonly auditRefusals: Record<string, number>;
  readonly accepted: number;
  readonly afterAttackFromOtherAddress: string;
  readonly afterAttackFromAttackerAddress: string;
  readonly before: ProcessFigures;
  readonly after: ProcessFigures;
}

/** Runs the scenario; the caller asserts. */
export async function runLoad(o: LoadOptions): Promise<LoadFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-replay-'));
  try {
    await generateReplay(dir, 24, o.width ?? 480, o.height ?? 320);
    const source = await ReplayScreen.open({ dir, fps: o.fps, loop: true });
    // Every attempt is audited one by one (no flood folding), so each can be checked.
    const host = new Host({ source, consent: () => 'view', name: 'load', maxFps: 60, auditFlood: { burst: Infinity } });
    const audit: AuditEvent[] = [];
    host.on('audit', (e: AuditEvent) => audit.push(e));
    host.on('error', () => {});
    await host.listen({ port: 0 });
    try {
      const plain = await host.createInvitation({ expires: '30m' });
      const withPassword = await host.createInvitation({ expires: '30m', password: 'correct horse' });
      const spare = await host.createInvitation({ expires: '30m' });
      const helper = await Helper.connect(plain.toURL());
      helper.on('error', () => {});
      await helper.waitForFrame(() => true);
      const before = measure();

      const rate = async (ms: number): Promise<number> => {
        const start = helper.stats.frames;
        const t0 = performance.now();
        await sleep(ms);
        return ((helper.stats.frames - start) * 1000) / (performance.now() - t0);
      };
      await sleep(500);
      const unloadedFps = await rate(o.windowMs);

      // The attack: a child process on 127.0.0.3, so its CPU is not the host's.
      const attackStarted = audit.length;
      const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, JSON.stringify({
        port: host.port,
        targets: [
          { url: plain.toURL(), tamper: 'secret' },
          { url: withPassword.toURL(), password: 'wrong horse' },
          { url: plain.toURL(), tamper: 'ticket' },
        ],
        concurrency: o.concurrency,
        durationMs: o.windowMs + 1_500,
        // The throttle checks below need 20 counted failures from this address, however few waves fit the window.
        untilAddressFailures: 20,
        maxDurationMs: 30_000,
        localAddress: '127.0.0.3',
      })], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const done = new Promise<void>((r) => child.on('close', () => r()));
      await sleep(1_000); // the child's start-up (tsx) is not load yet
      const loadedFps = await rate(o.windowMs);
      await done;
      const result = JSON.parse(out.trim().split('\n').pop()!) as { attempts: number; waves: number; byCode: Record<string, number> };

      // After the attack: the attacker's address is throttled even with a valid ticket (by design, per address),
      // while a helper on another address with an untouched ticket gets in.
      const tryFrom = async (localAddress: string, url: string): Promise<string> => {
        const socket = connect({ host: '127.0.0.1', port: host.port!, localAddress });
        socket.on('error', () => {});
        try {
          const h = await Helper.attach(socket, { handshake: { invitation: (await import('../../src/index.js')).readInvitation(url, { now: Date.now() }), requestMode: 'view' } });
          await h.waitForFrame(() => true);
          await h.close();
          return 'ACCEPTED';
        } catch (err) {
          return (err as HandshakeError).refusal ?? (err as { code?: string }).code ?? 'ERROR';
        }
      };
      const afterAttackFromOtherAddress = await tryFrom('127.0.0.2', spare.toURL());
      const afterAttackFromAttackerAddress = await tryFrom('127.0.0.3', spare.toURL());

      const attackAudit = audit.slice(attackStarted).filter((e) => e.peer?.startsWith('127.0.0.3:'));
      const framesDelivered = helper.stats.frames;
      await helper.close();
      const after = await settleHandles(before);
      return {
        unloadedFps: Math.round(unloadedFps * 10) / 10,
        loadedFps: Math.round(loadedFps * 10) / 10,
        framesDelivered,
        attempts: result.attempts,
        waves: result.waves,
        refusals: result.byCode,
        // Refused, or evicted at the per-address cap to make room for a newer connection (spec/handshake.md §8).
        auditRefusals: count(attackAudit.filter((e) => e.decision === 'refused' || (e.decision === 'error' && e.code === 'TESSERA_ERR_LIMIT_EXCEEDED')), (e) => e.code ?? 'null'),
        accepted: attackAudit.filter((e) => e.decision === 'accepted').length,
        afterAttackFromOtherAddress,
        afterAttackFromAttackerAddress,
        before,
        after,
      };
    } finally {
      await host.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
