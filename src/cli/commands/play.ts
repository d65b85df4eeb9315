import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { numberOption } from '../command.js';
import { ExitCode, UsageError } from '../errors.js';
import type { Output } from '../output.js';
import { printable } from '../printable.js';
import { sleep } from './common.js';
import { compositeCursor, encodePng, loadAuditorKey, readRecordingFile, RecordingPlayer, SharpImageCodec, ZlibInflateBackend, type RecordingEvent, type RgbaPicture } from '../../index.js';

/** Most characters of peer text (chat, clipboard, close messages) shown in one line. */
const TEXT_CHARS = 300;

export const runPlay: Command = {
  usage: `usage: tessera play FILE [--verify] [--out DIR] [--every 1s] [--from S --to S] [--speed X] [--cursor] [--key FILE] [--signer KEY] [--json]

Verifies and plays a session recording made by tessera host --record-sessions (spec/recording.md): checks every
record's hash chain and the host's seal, prints the timeline (who joined, control changes, chat, clipboard, input
admitted and dropped, resizes, the pointer, file transfers, the close) and, with --out, writes the pictures the helper saw as PNG files.

  --verify             only verify: print the result, the signer and the record count (exit 1 when the file was
                       changed, cut inside a record or not sealed; a changed byte is reported with its record's offset)
  --out DIR            write a PNG per display update (DIR/000001-<ms>.png ...), or one per --every interval
  --every 1s           with --out: at most one picture per interval (S, Ss or Sms)
  --cursor             with --out: draw the host's pointer into the pictures as the helper saw it, and write a
                       picture when the pointer moves too
  --from S, --to S     only the part from S to S seconds after the session started
  --speed X            pace the timeline at X times real time (default: as fast as it reads)
  --key FILE           the auditor key file (tessera keygen --auditor) for a recording encrypted to it
  --signer KEY         the seal must be by this Ed25519 key (base64url, printed by --verify); otherwise any valid
                       seal by the key the header names is accepted and reported
  --json               one JSON object per line: header, record (one per timeline entry), frame, verify`,
  options: {
    verify: { type: 'boolean' },
    out: { type: 'string' },
    every: { type: 'string' },
    cursor: { type: 'boolean' },
    from: { type: 'string' },
    to: { type: 'string' },
    speed: { type: 'string' },
    key: { type: 'string' },
    signer: { type: 'string' },
  },
  positionals: { min: 1, max: 1 },
  async run(values, positionals, out) {
    const path = positionals[0]!;
    const fromMs = seconds(values.from, 'from');
    const toMs = seconds(values.to, 'to');
    const everyMs = seconds(values.every, 'every');
    const speed = numberOption(values.speed, 'speed', { min: 0.01, max: 1000, integer: false });
    const outDir = typeof values.out === 'string' ? values.out : undefined;
    if (everyMs !== undefined && !outDir) throw new UsageError('--every goes with --out DIR');
    const withCursor = values.cursor === true;
    if (withCursor && !outDir) throw new UsageError('--cursor goes with --out DIR');
    const auditorSecretKey = typeof values.key === 'string' ? loadAuditorKey(values.key, 'secret') : undefined;
    const report = readRecordingFile(path, { ...(auditorSecretKey ? { auditorSecretKey } : {}), keepRecords: !values.verify });
    const header = report.header;
    const pinned = typeof values.signer === 'string' ? values.signer : undefined;
    const signerOk = pinned === undefined || header?.signer === pinned;
    const count = report.records.length > 0 ? report.records[report.records.length - 1]!.index + 1 : 0;
    const verdict = report.problem
      ? `TAMPERED or damaged: ${report.problem.message} (offset ${report.problem.offset ?? 0})`
      : !report.sealed
        ? `not sealed: ends at record ${count} (the host stopped before the session ended)`
        : !signerOk
          ? `sealed by ${header?.signer}, not by the expected signer ${pinned}`
          : `verified: ${count} records, sealed by ${header?.signer}`;
    const good = !report.problem && report.sealed && signerOk;
    out.event('verify', {
      ok: good,
      sealed: report.sealed,
      encrypted: report.encrypted,
      records: count,
      signer: header?.signer ?? null,
      ...(report.problem ? { code: report.problem.code, offset: report.problem.offset ?? 0, message: report.problem.message } : {}),
    });
    if (values.verify) {
      out.say(verdict);
      return good ? ExitCode.Ok : ExitCode.Failure;
    }
    if (!good) out.warn(verdict);
    if (!header) return ExitCode.Failure;
    out.event('header', { ...header });
    const who = header.kind === 'offer' ? `helper '${printable(header.helper ?? '', 80)}'` : `the helper of invitation ${header.ticketId ?? '?'}`;
    out.say(`session ${header.session.slice(0, 16)}: ${who} from ${printable(header.peer, 80)} (${header.path}), ${header.mode}, ${header.width}x${header.height}`);
    if (outDir) mkdirSync(outDir, { recursive: true });
    const player = new RecordingPlayer({ inflate: new ZlibInflateBackend(), imageCodec: new SharpImageCodec() });
    const start = report.records[0]!.time;
    let written = 0;
    let lastWritten = -Infinity;
    let paced = 0;
    let picture: RgbaPicture | undefined;
    let seq = 0;
    for (const ev of report.records) {
      const rel = ev.time - start;
      // Every update is decoded, even outside --from/--to: each builds on the ones before it.
      const frame = await player.apply(ev);
      if (fromMs !== undefined && rel < fromMs) continue;
      if (toMs !== undefined && rel > toMs) break;
      if (speed !== undefined && rel > paced) {
        await sleep((rel - paced) / speed);
        paced = rel;
      }
      if (frame) {
        picture = frame.result.framebuffer;
        seq = frame.seq;
      }
      // With --cursor a move is a new picture too: the helper saw the pointer there.
      const moved = withCursor && ev.type === 'cursor' && ev.cursor.type === 'position' && picture !== undefined;
      if ((frame || moved) && outDir && picture && (everyMs === undefined || rel - lastWritten >= everyMs)) {
        const file = join(outDir, `${String(++written).padStart(6, '0')}-${rel}ms.png`);
        writeFileSync(file, await encodePng(withCursor ? compositeCursor(picture, player.cursor) : picture));
        lastWritten = rel;
        out.event('frame', { t: rel, seq, file, ...(withCursor && player.cursor ? { cursor: { x: player.cursor.x, y: player.cursor.y, visible: player.cursor.visible } } : {}) });
      }
      if (frame) continue;
      timeline(ev, rel, out);
    }
    out.say(`${player.frames} display updates${outDir ? `, ${written} pictures written to ${printable(outDir)}` : ''}`);
    return good ? ExitCode.Ok : ExitCode.Failure;
  },
};

/** Prints one non-display record; peer text only through printable(). */
function timeline(ev: RecordingEvent, rel: number, out: Output): void {
  const at = `${(rel / 1000).toFixed(3).padStart(9)}s`;
  switch (ev.type) {
    case 'header':
      out.event('record', { t: rel, type: 'joined' });
      return out.say(`${at}  helper joined`);
    case 'input':
      out.event('record', { t: rel, type: 'input', events: ev.events.length, kinds: ev.events.map((e) => e.type) });
      return out.say(`${at}  input admitted: ${ev.events.map((e) => (e.type === 'text' ? `text "${printable(e.text, TEXT_CHARS)}"` : e.type === 'keyDown' || e.type === 'keyUp' ? `${e.type} ${printable(e.code, 40)}` : e.type)).join(', ')}`);
    case 'input-dropped':
      out.event('record', { t: rel, type: 'input-dropped', reason: ev.reason, kinds: ev.events.map((e) => e.type) });
      return out.say(`${at}  input DROPPED (${ev.reason}): ${ev.events.map((e) => e.type).join(', ') || 'invalid event'}`);
    case 'mode':
      out.event('record', { t: rel, type: 'control', mode: ev.mode, paused: ev.paused });
      return out.say(`${at}  control: ${ev.mode}${ev.paused ? ' (input paused)' : ''}`);
    case 'chat':
    case 'clipboard':
      out.event('record', { t: rel, type: ev.type, from: ev.from, text: ev.text, length: ev.text.length });
      return out.say(`${at}  ${ev.type} from the ${ev.from}: ${printable(ev.text, TEXT_CHARS)}`);
    case 'screen':
      out.event('record', { t: rel, type: 'screen', width: ev.width, height: ev.height });
      return out.say(`${at}  screen resized to ${ev.width}x${ev.height}`);
    case 'control-request':
      out.event('record', { t: rel, type: 'control-request' });
      return out.say(`${at}  the helper asked for control`);
    case 'close':
      out.event('record', { t: rel, type: 'close', reason: ev.reason, message: ev.message });
      return out.say(`${at}  session closed (${printable(ev.reason, 40)}${ev.message ? `: ${printable(ev.message, TEXT_CHARS)}` : ''})`);
    case 'cursor': {
      const c = ev.cursor;
      if (c.type === 'shape') {
        const { id, width, height, hotX, hotY } = c.shape;
        out.event('record', { t: rel, type: 'cursor-shape', id, width, height, hotX, hotY });
        return out.say(`${at}  pointer shape ${id}: ${width}x${height}, hotspot ${hotX},${hotY}`);
      }
      out.event('record', { t: rel, type: 'cursor', x: c.x, y: c.y, visible: c.visible, shape: c.shapeId });
      return out.say(`${at}  pointer at ${c.x},${c.y}${c.visible ? '' : ' (hidden)'}${c.shapeId !== 0 ? `, shape ${c.shapeId}` : ''}`);
    }
    case 'file': {
      const f = ev.file;
      const sha256 = Array.from(f.sha256, (b) => b.toString(16).padStart(2, '0')).join('');
      out.event('record', { t: rel, type: 'file', step: f.event, direction: f.direction, name: f.name, size: f.size, sha256, ...(f.bytes !== undefined ? { bytes: f.bytes } : {}), ...(f.code !== undefined ? { code: f.code } : {}) });
      const way = f.direction === 'in' ? 'from the helper' : 'to the helper';
      return out.say(`${at}  file ${f.event} (${way}): "${printable(f.name, 255)}", ${f.size} bytes, sha256 ${sha256}${f.code !== undefined ? ` (${printable(f.code, 40)})` : ''}`);
    }
    case 'seal':
      out.event('record', { t: rel, type: 'seal' });
      return out.say(`${at}  sealed by the host`);
    case 'update':
      return;
  }
}

/** Reads S, Ss or Sms as milliseconds. */
function seconds(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(String(value));
  if (!m) throw new UsageError(`--${name} must be seconds (S, Ss or Sms), got ${JSON.stringify(value)}`);
  return m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
}
