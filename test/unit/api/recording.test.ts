/**
 * Host-side session recording (spec/recording.md) over an in-memory pair and the virtual screen: the helper is told,
 * the recording plays back to the helper's own last picture, input admitted and dropped, chat and control are there.
 */
import t from 'tap';
import { mkdtempSync, readdirSync, statSync, writeFileSync, chmodSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { Host, Helper, VirtualScreen, createDuplexPair } from '../../../src/index.js';
import { readRecordingFile } from '../../../src/node/recording-file.js';
import { RecordingPlayer } from '../../../src/recording/player.js';

const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));

async function session(t: { teardown: (fn: () => unknown) => void }, recording: ConstructorParameters<typeof Host>[0]['recording']) {
  const screen = new VirtualScreen({ width: 320, height: 240 });
  let asked: boolean | undefined;
  const host = new Host({ source: screen, sink: screen, consent: (req) => ((asked = req.recorded), 'control'), maxFps: 200, ...(recording ? { recording } : {}) });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ mode: 'control', expires: '10m' });
  const [a, b] = createDuplexPair();
  const sessionP = host.attach(a, '192.0.2.1:1');
  const helper = await Helper.attach(b, { handshake: { invitation: invitation.invitation, requestMode: 'control' } });
  t.teardown(() => helper.close());
  const handle = await sessionP;
  return { host, helper, handle, screen, asked: () => asked };
}

async function frames(helper: Helper, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => helper.once('frame', r));
}

t.test('a recorded session: both told, and it plays back pixel-equal to the helper\'s last picture', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'tessera-rec-')), 'rec');
  const { host, helper, handle, screen, asked } = await session(t, { dir });
  t.equal(asked(), true, 'the host user is told in the consent request');
  t.equal(helper.recorded, true, 'the helper is told in Welcome');
  await frames(helper, 1);
  helper.type('hello');
  helper.sendInput([{ type: 'pointerMove', x: 5000, y: 5000, buttons: 0 }]); // outside the screen: dropped as outOfBounds
  helper.pointer(10, 10);
  await settle(100);
  handle.chat('from the host');
  handle.pause(true);
  handle.pause(false);
  await settle(100);
  await host.close();
  await settle(20);
  const snapshot = helper.framebuffer.data.slice();
  const files = readdirSync(dir);
  t.equal(files.length, 1);
  t.match(files[0], /\.tsrec$/, 'renamed once sealed');
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(join(dir, files[0]!)).mode & 0o777, 0o600);
  const report = readRecordingFile(join(dir, files[0]!));
  t.equal(report.problem, undefined);
  t.equal(report.sealed, true);
  t.equal(report.header?.kind, 'ticket');
  t.ok(report.header?.ticketId);
  const types = report.records.map((r) => r.type);
  for (const ty of ['input', 'input-dropped', 'chat', 'mode', 'close', 'seal']) t.ok(types.includes(ty as never), `records ${ty}`);
  const dropped = report.records.find((r) => r.type === 'input-dropped');
  t.equal(dropped?.type === 'input-dropped' && dropped.reason, 'outOfBounds');
  const player = new RecordingPlayer();
  let last;
  for (const ev of report.records) last = (await player.apply(ev)) ?? last;
  t.ok(last, 'at least one frame');
  t.equal(player.frames, helper.stats.frames, 'as many frames as the helper decoded');
  t.ok(Buffer.from(last!.result.framebuffer.data).equals(Buffer.from(snapshot)), 'the last frame equals the helper\'s picture');
  void screen;
});

t.test('encrypted to an auditor, the recording opens only with the auditor key', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'tessera-rec-')), 'rec');
  const auditor = nacl.box.keyPair();
  const { host, helper } = await session(t, { dir, auditorPublicKey: auditor.publicKey });
  await frames(helper, 1);
  await host.close();
  const file = join(dir, readdirSync(dir)[0]!);
  t.throws(() => readRecordingFile(file), { code: 'TESSERA_ERR_DECRYPT_FAILED' });
  t.throws(() => readRecordingFile(file, { auditorSecretKey: nacl.box.keyPair().secretKey }), { code: 'TESSERA_ERR_DECRYPT_FAILED' });
  const r = readRecordingFile(file, { auditorSecretKey: auditor.secretKey });
  t.equal(r.sealed, true);
  t.ok(r.records.some((e) => e.type === 'update'));
});

t.test('retention deletes old recordings; an unusable folder is refused at start', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-rec-'));
  const dir = join(root, 'rec');
  const { host } = await session(t, { dir });
  await host.close();
  const old = join(dir, 'old.tsrec');
  writeFileSync(old, 'x');
  utimesSync(old, new Date(Date.now() - 40 * 86400_000), new Date(Date.now() - 40 * 86400_000));
  const screen = new VirtualScreen({ width: 320, height: 240 });
  const h2 = new Host({ source: screen, consent: () => 'view', recording: { dir, retentionDays: 30 } });
  await h2.close();
  t.notOk(readdirSync(dir).includes('old.tsrec'), 'the 40-day-old recording is gone');
  t.equal(readdirSync(dir).length, 1, 'the new one stays');
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  chmodSync(file, 0o600);
  t.throws(() => new Host({ source: screen, consent: () => 'view', recording: { dir: join(file, 'sub'), policy: 'required' } }), { code: 'TESSERA_ERR_IO' });
});

t.test('the pointer as sent (each shape once) and file transfers (metadata, never contents) are recorded; the player follows the pointer', async (t) => {
  const { createHash, randomBytes } = await import('node:crypto');
  const { readFileSync } = await import('node:fs');
  const root = mkdtempSync(join(tmpdir(), 'tessera-rec-'));
  const dir = join(root, 'rec');
  const screen = new VirtualScreen({ width: 320, height: 240 });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', maxFps: 200, cursor: true, recording: { dir }, transfer: { downloads: join(root, 'downloads'), accept: 'auto' } });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ mode: 'control', expires: '10m' });
  const [a, b] = createDuplexPair();
  const sessionP = host.attach(a, '192.0.2.1:1');
  const helper = await Helper.attach(b, { handshake: { invitation: invitation.invitation, requestMode: 'control' } });
  t.teardown(() => helper.close());
  await sessionP;
  await frames(helper, 1);
  const seen: Array<[number, number, number | undefined]> = [];
  helper.on('cursor', (c: { x: number; y: number; shape?: { id: number } }) => seen.push([c.x, c.y, c.shape?.id]));
  for (const [x, y] of [[10, 20], [40, 50], [10, 20]] as const) {
    screen.movePointer(x, y);
    await settle(40);
  }
  const field = screen.fieldRect;
  screen.movePointer(field.x + 5, field.y + 5); // an I-beam: a second shape
  await settle(40);
  screen.movePointer(12, 22); // back to the arrow, which the helper still holds
  await settle(40);
  const content = randomBytes(4096);
  const path = join(root, 'evidence.bin');
  writeFileSync(path, content);
  const sent = await helper.sendFile(path);
  t.equal(sent.ok, true);
  await settle(40);
  const final = helper.cursor;
  await host.close();
  await settle(20);
  const file = join(dir, readdirSync(dir)[0]!);
  const report = readRecordingFile(file);
  t.equal(report.problem, undefined);
  t.equal(report.sealed, true);
  const cursor = report.records.flatMap((r) => (r.type === 'cursor' ? [r.cursor] : []));
  const shapes = cursor.flatMap((c) => (c.type === 'shape' ? [c.shape.id] : []));
  t.same(shapes, [...new Set(shapes)], 'each shape recorded once');
  t.ok(shapes.length >= 2, 'the arrow and the I-beam');
  const positions = cursor.flatMap((c) => (c.type === 'position' ? [[c.x, c.y, c.shapeId] as [number, number, number]] : []));
  t.same(positions.slice(-seen.length), seen.map(([x, y, id]) => [x, y, id ?? 0]), 'the positions the helper received, in order');
  const player = new RecordingPlayer();
  for (const ev of report.records) await player.apply(ev);
  t.same([player.cursor?.x, player.cursor?.y, player.cursor?.visible, player.cursor?.shape?.id], [final?.x, final?.y, final?.visible, final?.shape?.id], 'the player ends where the helper\'s pointer was');
  t.ok(player.cursor?.shape && Buffer.from(player.cursor.shape.rgba).equals(Buffer.from(final!.shape!.rgba)), 'with the same shape pixels');
  const files = report.records.flatMap((r) => (r.type === 'file' ? [r.file] : []));
  const sha = createHash('sha256').update(content).digest('hex');
  t.same(files.map((f) => [f.event, f.direction, f.name, f.size, Buffer.from(f.sha256).toString('hex')]), [
    ['offered', 'in', 'evidence.bin', 4096, sha],
    ['accepted', 'in', 'evidence.bin', 4096, sha],
    ['saved', 'in', 'evidence.bin', 4096, sha],
  ]);
  t.equal(files.at(-1)?.bytes, 4096);
  t.equal(Buffer.from(readFileSync(file)).indexOf(content.subarray(1000, 1032)), -1, 'the file\'s contents are not in the recording');
});
