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
