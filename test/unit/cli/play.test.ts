/**
 * tessera play and keygen --auditor (spec/recording.md) on a recording made by the Host API over an in-memory pair.
 */
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Host, Helper, VirtualScreen, createDuplexPair, loadAuditorKey } from '../../../src/index.js';
import { runCli } from '../../helpers/cli.js';
import { runPlay } from '../../../src/cli/commands/play.js';
import { runKeygen } from '../../../src/cli/commands/keygen.js';
import type { Output } from '../../../src/cli/output.js';

/** Runs a command in this process (a child process per run is seconds under load); one test below runs the real bin. */
async function run(cmd: typeof runPlay, values: Record<string, string | boolean>, positionals: string[] = []) {
  const lines: string[] = [];
  const warnings: string[] = [];
  const events: Array<Record<string, unknown>> = [];
  const out = { json: false, event: (event: string, f: Record<string, unknown> = {}) => events.push({ event, ...f }), say: (l: string) => lines.push(l), warn: (l: string) => warnings.push(l), status: () => {} } as unknown as Output;
  let code: number;
  try {
    code = await cmd.run(values, positionals, out);
  } catch (err) {
    return { code: -1, stdout: lines.join('\n'), stderr: String((err as Error).message), events };
  }
  return { code, stdout: lines.join('\n'), stderr: warnings.join('\n'), events };
}

async function record(dir: string, auditorPublicKey?: Uint8Array): Promise<string> {
  const screen = new VirtualScreen({ width: 320, height: 240 });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', recording: { dir, ...(auditorPublicKey ? { auditorPublicKey } : {}) } });
  const invitation = await host.createInvitation({ mode: 'control', expires: '10m' });
  const [a, b] = createDuplexPair();
  const sessionP = host.attach(a, '192.0.2.1:1');
  const helper = await Helper.attach(b, { handshake: { invitation: invitation.invitation, requestMode: 'control' } });
  const handle = await sessionP;
  await new Promise((r) => helper.once('frame', r));
  handle.chat('\u001b]0;evil\u0007hello');
  helper.type('typed');
  await new Promise((r) => setTimeout(r, 100));
  await host.close();
  return join(dir, readdirSync(dir).find((f) => f.endsWith('.tsrec'))!);
}

t.test('play (in process): verifies, prints the timeline safely, writes frames; a flipped byte fails --verify with its offset', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-play-'));
  const file = await record(join(root, 'rec'));
  const ok = await run(runPlay, { verify: true }, [file]);
  t.equal(ok.code, 0, ok.stderr);
  const v = ok.events.find((e) => e.event === 'verify')!;
  t.equal(v.ok, true);
  t.equal(v.sealed, true);

  const out = join(root, 'frames');
  const played = await run(runPlay, { out }, [file]);
  t.equal(played.code, 0, played.stderr);
  t.match(played.stdout, /chat from the host: .*hello/);
  t.notMatch(played.stdout, /\u001b/, 'peer text goes through printable()');
  t.match(played.stdout, /input admitted: text "typed"/);
  t.ok(readdirSync(out).some((f) => f.endsWith('.png')), 'frames written as PNG');

  const bytes = readFileSync(file);
  const at = Math.floor(bytes.byteLength / 2);
  bytes[at]! ^= 1;
  const bad = join(root, 'bad.tsrec');
  writeFileSync(bad, bytes);
  // The real command once: the bin, its exit code and --json.
  const failed = await runCli(['play', bad, '--verify', '--json']);
  t.equal(failed.code, 1);
  const f = failed.events.find((e) => e.event === 'verify')!;
  t.equal(f.ok, false);
  t.ok(typeof f.offset === 'number' && f.offset <= at && f.offset > 0, `reported at the record's offset (${String(f.offset)} <= ${at})`);
});

t.test('keygen --auditor; an encrypted recording plays only with --key', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-play-'));
  const keyFile = join(root, 'auditor.json');
  const kg = await run(runKeygen, { auditor: true, out: keyFile });
  t.equal(kg.code, 0, kg.stderr);
  const file = await record(join(root, 'rec'), loadAuditorKey(keyFile, 'public'));
  const without = await run(runPlay, { verify: true }, [file]);
  t.not(without.code, 0);
  t.match(without.stderr + without.stdout, /encrypted to an auditor/);
  const withKey = await run(runPlay, { verify: true, key: keyFile }, [file]);
  t.equal(withKey.code, 0, withKey.stderr);
  t.match(withKey.stdout, /verified: \d+ records/);
});

t.test('play shows the pointer and file transfers in the timeline (text and events); --cursor draws the pointer into the pictures', async (t) => {
  const { loadPng } = await import('../../../src/node/png.js');
  const root = mkdtempSync(join(tmpdir(), 'tessera-play-'));
  const dir = join(root, 'rec');
  const screen = new VirtualScreen({ width: 320, height: 240 });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', cursor: true, recording: { dir }, transfer: { downloads: join(root, 'dl'), accept: 'auto' } });
  const invitation = await host.createInvitation({ mode: 'control', expires: '10m' });
  const [a, b] = createDuplexPair();
  const sessionP = host.attach(a, '192.0.2.1:1');
  const helper = await Helper.attach(b, { handshake: { invitation: invitation.invitation, requestMode: 'control' } });
  await sessionP;
  await new Promise((r) => helper.once('frame', r));
  screen.movePointer(50, 60);
  await new Promise((r) => setTimeout(r, 60));
  writeFileSync(join(root, 'a\u001b[2Jb.txt'), 'hello');
  t.equal((await helper.sendFile(join(root, 'a\u001b[2Jb.txt'))).ok, true);
  await new Promise((r) => setTimeout(r, 40));
  await host.close();
  const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.tsrec'))!);

  const plain = join(root, 'plain');
  const played = await run(runPlay, { out: plain }, [file]);
  t.equal(played.code, 0, played.stderr);
  t.match(played.stdout, /pointer shape \d+: \d+x\d+, hotspot \d+,\d+/);
  t.match(played.stdout, /pointer at 50,60, shape \d+/);
  t.match(played.stdout, /file saved \(from the helper\): "a.*b\.txt", 5 bytes, sha256 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824/);
  t.notMatch(played.stdout, /\u001b/, 'the file name goes through printable()');
  const records = played.events.filter((e) => e.event === 'record');
  t.ok(records.some((e) => e.type === 'cursor-shape'), 'a cursor-shape event');
  t.match(records.find((e) => e.type === 'cursor' && e.x === 50), { y: 60, visible: true });
  t.same(records.filter((e) => e.type === 'file').map((e) => [e.step, e.direction, e.size]), [['offered', 'in', 5], ['accepted', 'in', 5], ['saved', 'in', 5]]);

  const drawn = join(root, 'drawn');
  const withCursor = await run(runPlay, { out: drawn, cursor: true }, [file]);
  t.equal(withCursor.code, 0, withCursor.stderr);
  const frames = withCursor.events.filter((e) => e.event === 'frame');
  t.ok(frames.length > played.events.filter((e) => e.event === 'frame').length, 'a pointer move is a picture too');
  const last = frames.at(-1)!;
  t.match(last, { cursor: { x: 50, y: 60, visible: true } });
  const without = await loadPng(String(played.events.filter((e) => e.event === 'frame').at(-1)!.file));
  const withPointer = await loadPng(String(last.file));
  let changed = 0;
  let outside = 0;
  for (let y = 0; y < without.height; y++) {
    for (let x = 0; x < without.width; x++) {
      const i = (y * without.width + x) * 4;
      if (without.data[i] === withPointer.data[i] && without.data[i + 1] === withPointer.data[i + 1] && without.data[i + 2] === withPointer.data[i + 2]) continue;
      changed++;
      if (x < 50 - 64 || x > 50 + 64 || y < 60 - 64 || y > 60 + 64) outside++;
    }
  }
  t.ok(changed > 0, `the pointer is drawn (${changed} pixels)`);
  t.equal(outside, 0, 'only around the pointer');
  t.equal((await run(runPlay, { cursor: true }, [file])).code, -1, '--cursor goes with --out');
});
