/**
 * Session recording overhead (spec/recording.md), against the same session unrecorded, measured in this run:
 *  - a scripted session (a helper types and moves the pointer on the virtual desktop; the host encodes and sends what
 *    changed), run alternately unrecorded and recorded: process CPU per session and bytes sent vs bytes recorded.
 *    Host and helper share this process, so the CPU ratio also counts the helper's decoding (the overhead on the host
 *    alone is larger by about the helper's share); the second figure isolates it:
 *  - the recorder alone (RecordingWriter with node:crypto SHA-256, written to a file with writeSync) over the exact
 *    updates of a recorded session, against the host's CPU for the same session unrecorded;
 *  - playback: updates decoded per second by RecordingPlayer (the helper's TileDecoder).
 * Figures only; nothing is asserted. `npm run bench -- recording [--json]`.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Host, Helper, VirtualScreen, createDuplexPair, readRecordingFile, RecordingFile, RecordingPlayer, RecordingWriter, recordingSigningKey, ZlibInflateBackend } from '../src/index.js';
import { wantsJson, environment } from './lib/bench.js';

const STEPS = Number(process.env['RECORDING_BENCH_STEPS'] ?? 150);
const ROUNDS = 4;

interface SessionFigures { cpuMs: number; wallMs: number; bytesSent: number; bytesReceived: number; updates: number; recordedBytes: number; file?: string }

async function session(dir: string | undefined): Promise<SessionFigures> {
  const screen = new VirtualScreen({ width: 1280, height: 800 });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', maxFps: 1000, ...(dir ? { recording: { dir } } : {}) });
  const invitation = await host.createInvitation({ mode: 'control', expires: '10m' });
  const [a, b] = createDuplexPair();
  const sessionP = host.attach(a, '192.0.2.1:1');
  const helper = await Helper.attach(b, { handshake: { invitation: invitation.invitation, requestMode: 'control' } });
  const handle = await sessionP;
  await new Promise((r) => helper.once('frame', r));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) {
    const frame = new Promise((r) => helper.once('frame', r));
    helper.pointer(100 + ((i * 37) % 1000), 100 + ((i * 53) % 600));
    helper.type(`step ${i} `);
    await Promise.race([frame, new Promise((r) => setTimeout(r, 200))]);
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const stats = handle.stats;
  await host.close();
  await helper.close();
  let recordedBytes = 0;
  let file: string | undefined;
  if (dir) {
    file = join(dir, readdirSync(dir).find((f) => f.endsWith('.tsrec'))!);
    recordedBytes = statSync(file).size;
  }
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs, bytesSent: stats.bytesSent, bytesReceived: stats.bytesReceived, updates: stats.updatesSent, recordedBytes, ...(file ? { file } : {}) };
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

const root = mkdtempSync(join(tmpdir(), 'tessera-recording-bench-'));
try {
  await session(undefined); // warm-up: JIT, zlib
  const plain: SessionFigures[] = [];
  const rec: SessionFigures[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    plain.push(await session(undefined));
    rec.push(await session(join(root, `r${i}`)));
  }
  const cpuPlain = median(plain.map((s) => s.cpuMs));
  const cpuRec = median(rec.map((s) => s.cpuMs));
  const sent = median(rec.map((s) => s.bytesSent));
  const both = median(rec.map((s) => s.bytesSent + s.bytesReceived));
  const recorded = median(rec.map((s) => s.recordedBytes));

  // The recorder alone, over the exact updates of the last recorded session.
  const report = readRecordingFile(rec[rec.length - 1]!.file!);
  const updates = report.records.filter((r) => r.type === 'update');
  const sign = recordingSigningKey(new Uint8Array(32).fill(1));
  const recorderMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const dir = join(root, `alone${i}`);
    (await import('node:fs')).mkdirSync(dir, { mode: 0o700 });
    const c0 = process.cpuUsage();
    const f = RecordingFile.create(dir, 'x', { signSecretKey: sign.secretKey });
    f.writer.header(0, report.header!);
    for (const u of updates) if (u.type === 'update') f.writer.update(u.time, u.seq, u.update);
    f.finish(1);
    const c = process.cpuUsage(c0);
    recorderMs.push((c.user + c.system) / 1000);
  }
  const recorderAlone = median(recorderMs);

  // Every record of the last recorded session written again to memory: the file's bytes against its payloads.
  let rewrittenBytes = 0;
  const rw = new RecordingWriter({ sink: (b) => (rewrittenBytes += b.byteLength), signSecretKey: sign.secretKey });
  let payloadBytes = 0;
  for (const ev of report.records) {
    switch (ev.type) {
      case 'header': rw.header(ev.time, ev.header); break;
      case 'update': rw.update(ev.time, ev.seq, ev.update); payloadBytes += ev.update.byteLength; break;
      case 'input': rw.input(ev.time, ev.events); break;
      case 'input-dropped': for (const e of ev.events) rw.inputDropped(ev.time, ev.reason, e); break;
      case 'mode': rw.mode(ev.time, ev.mode, ev.paused); break;
      case 'chat': rw.chat(ev.time, ev.from, ev.text); break;
      case 'clipboard': rw.clipboard(ev.time, ev.from, ev.text); break;
      case 'screen': rw.screen(ev.time, ev.width, ev.height); break;
      case 'control-request': rw.controlRequest(ev.time); break;
      case 'close': rw.close(ev.time, ev.reason, ev.message); break;
      case 'cursor': rw.cursor(ev.time, ev.payload); break;
      case 'file': rw.file(ev.time, ev.file); break;
      case 'seal': rw.seal(ev.time); break;
    }
  }
  const rewrittenRecords = rw.records;

  // Playback speed.
  const t0 = performance.now();
  const player = new RecordingPlayer({ inflate: new ZlibInflateBackend() });
  for (const ev of report.records) await player.apply(ev);
  const playMs = performance.now() - t0;
  const fps = player.frames / (playMs / 1000);

  const figures = {
    steps: STEPS,
    rounds: ROUNDS,
    screen: '1280x800 virtual desktop, lossless',
    updatesPerSession: median(rec.map((s) => s.updates)),
    cpuMsUnrecorded: +cpuPlain.toFixed(1),
    cpuMsRecorded: +cpuRec.toFixed(1),
    cpuRatio: +(cpuRec / cpuPlain).toFixed(3),
    bytesSent: sent,
    bytesRecorded: recorded,
    bytesRatio: +(recorded / sent).toFixed(3),
    bytesBothWays: both,
    bytesRatioBothWays: +(recorded / both).toFixed(3),
    recorderAloneCpuMs: +recorderAlone.toFixed(2),
    recorderAloneShareOfSessionCpu: +(recorderAlone / cpuPlain).toFixed(4),
    playbackUpdates: player.frames,
    playbackUpdatesPerSecond: +fps.toFixed(0),
    rewrittenBytes,
    rewrittenRecords,
    updateCodecBytes: payloadBytes,
    bytesPerRecordBeyondUpdates: +((rewrittenBytes - payloadBytes) / rewrittenRecords).toFixed(1),
  };
  if (wantsJson()) console.log(JSON.stringify({ bench: 'recording', environment: environment(), figures }));
  else {
    console.log(`session: ${STEPS} steps (pointer + typing) on a ${figures.screen}, ${figures.updatesPerSession} updates; median of ${ROUNDS} rounds each, alternating`);
    console.log(`  CPU (host + helper in one process): unrecorded ${figures.cpuMsUnrecorded} ms, recorded ${figures.cpuMsRecorded} ms, ratio ${figures.cpuRatio}`);
    console.log(`  bytes: recorded ${recorded}; sent to the helper ${sent} (ratio ${figures.bytesRatio}); both ways, the helper's input included, ${both} (ratio ${figures.bytesRatioBothWays})`);
    console.log(`         (the file holds the updates as sent plus about 20 bytes a record: a varint length, the type, a varint time delta, the sequence number and a 16-byte chain tag;`);
    console.log(`          each input batch, chat and the seal; the wire adds a 21-byte frame and tag)`);
    console.log(`  the same records rewritten alone: ${figures.rewrittenBytes} bytes for ${figures.rewrittenRecords} records, ${figures.updateCodecBytes} of them the updates' codec bytes: ${figures.bytesPerRecordBeyondUpdates} bytes a record beyond those (framing, input batches, header, seal)`);
    console.log(`  the recorder alone over the same updates: ${figures.recorderAloneCpuMs} ms CPU = ${(figures.recorderAloneShareOfSessionCpu * 100).toFixed(2)}% of the unrecorded session's CPU`);
    console.log(`playback: ${player.frames} updates in ${playMs.toFixed(0)} ms = ${figures.playbackUpdatesPerSecond} updates/s (TileDecoder, 1280x800)`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
