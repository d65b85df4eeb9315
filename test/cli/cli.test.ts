import t from 'tap';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runCli, CliProcess } from '../helpers/cli.js';
import { loadPng } from '../../src/node/png.js';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** A small replay folder of distinct frames. */
async function writeFrames(dir: string, n: number): Promise<void> {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < n; f++) {
    const w = 160;
    const h = 120;
    const rgb = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) {
      const x = i % w;
      const y = Math.floor(i / w);
      rgb[i * 3] = (x * 3 + f * 20) & 255;
      rgb[i * 3 + 1] = (y * 2) & 255;
      rgb[i * 3 + 2] = ((x ^ y) + f * 7) & 255;
    }
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, `${String(f).padStart(4, '0')}.png`));
  }
}

async function startHost(args: string[]): Promise<{ host: CliProcess; listening: Record<string, unknown> }> {
  const host = new CliProcess(['host', '--port', '0', '--json', '--accept', 'auto', ...args]);
  t.teardown(() => host.stop());
  const listening = await host.waitFor('listening');
  return { host, listening };
}

t.test('host replay + connect --record gives pixel-exact frames', async (t) => {
  const frames = join(tmp, 'frames');
  await writeFrames(frames, 5);
  const { host, listening } = await startHost(['--screen', `replay:${frames}`, '--mode', 'view', '--exit-after-replay']);
  const record = join(tmp, 'record');
  const r = await runCli(['connect', String(listening.url), '--record', record, '--frames', '5', '--json']);
  t.equal(r.code, 0, r.stderr);
  const connected = r.events.find((e) => e.event === 'connected');
  t.match(connected, { mode: 'view', width: 160, height: 120 });
  t.match(r.events.find((e) => e.event === 'closed'), { frames: 5 });
  const recorded = readdirSync(record).sort();
  t.same(recorded, ['000001.png', '000002.png', '000003.png', '000004.png', '000005.png']);
  for (let i = 0; i < 5; i++) {
    const expected = await loadPng(join(frames, `${String(i).padStart(4, '0')}.png`));
    const got = await loadPng(join(record, recorded[i]!));
    t.ok(Buffer.from(got.data).equals(Buffer.from(expected.data)), `frame ${i} is pixel-exact`);
  }
  const exit = await Promise.race([host.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
  t.equal(exit, 0, `the host exits after the replay${exit === 0 ? '' : `; events ${JSON.stringify(host.events)}; stderr ${host.stderr}`}`);
});

t.test('an invitation the host says has expired exits 5 (invitation invalid or expired) with TICKET_EXPIRED', async (t) => {
  const state = join(tmp, 'state-expired');
  const invite = join(tmp, 'expired.tessera');
  const { listening } = await startHost(['--state', state, '--invite', invite]);
  // The host's own record says the ticket has expired; the invitation file still looks valid.
  const ticketsPath = join(state, 'tickets.json');
  const store = JSON.parse(readFileSync(ticketsPath, 'utf8')) as { tickets: Array<{ expires: number }> };
  for (const ticket of store.tickets) ticket.expires = Date.now() - 60_000;
  writeFileSync(ticketsPath, JSON.stringify(store));
  const r = await runCli(['connect', invite, '--json']);
  t.equal(r.code, 5, r.stderr);
  t.match(r.events.find((e) => e.event === 'refused'), { code: 'TICKET_EXPIRED' });
  t.match(r.stderr, /TICKET_EXPIRED/);
  void listening;
});

t.test('a wrong password exits 3 with BAD_PROOF', async (t) => {
  const pw = join(tmp, 'pw');
  writeFileSync(pw, 'correct horse\n');
  const { listening } = await startHost(['--password-file', pw]);
  const wrong = join(tmp, 'wrong');
  writeFileSync(wrong, 'battery staple\n');
  const r = await runCli(['connect', String(listening.url), '--password-file', wrong, '--json']);
  t.equal(r.code, 3, r.stderr);
  t.match(r.events.find((e) => e.event === 'refused'), { code: 'BAD_PROOF' });
  const ok = await runCli(['connect', String(listening.url), '--password-file', pw, '--frames', '1', '--json']);
  t.equal(ok.code, 0, ok.stderr);
});

t.test('--mode view refuses a control request', async (t) => {
  const { listening } = await startHost(['--mode', 'view']);
  const r = await runCli(['connect', String(listening.url), '--request-control', '--frames', '1', '--json']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.events.find((e) => e.event === 'connected'), { mode: 'view' });
});

t.test('the host asks before admitting a helper, and a "n" declines it', async (t) => {
  const host = new CliProcess(['host', '--port', '0', '--json'], { keepStdinOpen: true });
  t.teardown(() => host.stop());
  const listening = await host.waitFor('listening');
  const connecting = runCli(['connect', String(listening.url), '--json']);
  await host.waitFor('consent-request');
  for (let i = 0; i < 100 && !/Allow\? \[y\/n\]/.test(host.stderr); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(host.stderr, /tech-support scammers/, 'the prompt warns about scammers');
  host.send('n');
  const r = await connecting;
  t.equal(r.code, 3);
  t.match(r.events.find((e) => e.event === 'refused'), { code: 'USER_DECLINED' });
});

t.test('tessera demo --duration 3 exits 0 and writes its PNG', async (t) => {
  const png = join(tmp, 'demo.png');
  const r = await runCli(['demo', '--duration', '3', '--out', png, '--json'], { timeoutMs: 60_000 });
  t.equal(r.code, 0, r.stderr);
  t.ok(existsSync(png) && statSync(png).size > 1000, 'the PNG exists');
  const summary = r.events.find((e) => e.event === 'summary');
  t.ok(summary && (summary.frames as number) > 5, 'frames arrived');
  t.match(summary, { png });
  const img = await sharp(png).metadata();
  t.same([img.width, img.height], [1920, 1080]);
});

t.test('inspect never prints the secret', async (t) => {
  const invite = join(tmp, 'inspect.tessera');
  const { listening } = await startHost(['--invite', invite]);
  const text = readFileSync(invite, 'utf8');
  const secret = /^secret:\s*(\S+)/m.exec(text)?.[1];
  t.ok(secret, 'the file carries a secret line');
  for (const target of [invite, String(listening.url)]) {
    for (const json of [[], ['--json']]) {
      const r = await runCli(['inspect', target, ...json]);
      t.equal(r.code, 0, r.stderr);
      t.notOk(r.stdout.includes(secret!), 'the secret is not printed');
      t.match(r.stdout, json.length ? /"ticketId"/ : /expires/);
    }
  }
  const url = String(listening.url);
  const fragment = url.slice(url.indexOf('#') + 1);
  const r = await runCli(['inspect', url]);
  t.notOk(r.stdout.includes(fragment), 'nor the URL fragment that holds it');
});

t.test('keygen, an offer by an allow-listed helper, and invitations list/revoke', async (t) => {
  const id = join(tmp, 'id.json');
  const k = await runCli(['keygen', '--out', id, '--json']);
  t.equal(k.code, 0, k.stderr);
  t.equal(statSync(id).mode & 0o777, 0o600);
  const publicKey = String(k.events[0]!.publicKey);
  const policy = join(tmp, 'policy.json');
  writeFileSync(policy, JSON.stringify({ offer: { enabled: true, permit: 'control', helpers: ['group:support'] } }));
  const helpers = join(tmp, 'helpers.json');
  writeFileSync(helpers, JSON.stringify({ users: { alice: [publicKey] }, groups: { support: ['alice'] } }));
  const state = join(tmp, 'state-offer');
  const { listening } = await startHost(['--policy', policy, '--helpers', helpers, '--state', state]);
  const r = await runCli(['offer', `127.0.0.1:${listening.port}`, '--identity', id, '--host-key', String(listening.hostKey), '--frames', '1', '--json']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.events.find((e) => e.event === 'connected'), { mode: 'view' });

  const other = join(tmp, 'other.json');
  await runCli(['keygen', '--out', other]);
  const denied = await runCli(['offer', `127.0.0.1:${listening.port}`, '--identity', other, '--host-key', String(listening.hostKey), '--json']);
  t.equal(denied.code, 3);
  t.match(denied.events.find((e) => e.event === 'refused'), { code: 'POLICY_DENIED' });

  const list = await runCli(['invitations', 'list', '--state', state, '--json']);
  t.equal(list.code, 0, list.stderr);
  const inv = list.events.find((e) => e.event === 'invitation');
  t.match(inv, { id: listening.id, status: 'valid', helpers: 0, maxHelpers: 1 });
  const revoke = await runCli(['invitations', 'revoke', String(listening.id), '--state', state]);
  t.equal(revoke.code, 0, revoke.stderr);
  const after = await runCli(['connect', String(listening.url), '--json']);
  t.equal(after.code, 3);
  t.match(after.events.find((e) => e.event === 'refused'), { code: 'TICKET_REVOKED' });
});

t.test('usage errors exit 2, unreachable hosts 4, malformed invitations 5', async (t) => {
  // Independent commands, run side by side (each is mostly process start-up).
  const [nope, noTarget, badMode, typo, missing, command, bad] = await Promise.all([
    runCli(['nope']),
    runCli(['connect']),
    runCli(['host', '--mode', 'admin']),
    // A mistyped option or command: one sentence that names it and the closest real one.
    runCli(['connect', 'x.tessera', '--tiemout', '3']),
    runCli(['host', '--port']),
    runCli(['conect']),
    runCli(['connect', 'tessera://127.0.0.1:1/#AAAA']),
  ]);
  t.equal(nope.code, 2);
  t.equal(noTarget.code, 2);
  t.equal(badMode.code, 2);
  t.equal(typo.code, 2);
  t.match(typo.stderr, /^tessera: unknown option --tiemout; did you mean --timeout\? \(run 'tessera connect --help'\)$/m);
  t.match(missing.stderr, /^tessera: option --port needs a value/m);
  t.match(command.stderr, /did you mean 'connect'\?/);
  t.equal(bad.code, 5);
  t.match(bad.stderr, /^tessera: .*invitation/m);
  t.notMatch(bad.stderr, /at .*\.ts:\d+/, 'no stack trace without --debug');
  // A valid invitation pointing at a port nobody listens on.
  const invite = join(tmp, 'gone.tessera');
  const { host } = await startHost(['--invite', invite]);
  await host.stop();
  const gone = await runCli(['connect', invite, '--timeout', '2']);
  t.equal(gone.code, 4, gone.stderr);
});

t.test('two helpers asking at once are asked about one at a time', async (t) => {
  const host = new CliProcess(['host', '--port', '0', '--json'], { keepStdinOpen: true });
  t.teardown(() => host.stop());
  const listening = await host.waitFor('listening');
  const first = runCli(['connect', String(listening.url), '--frames', '1', '--json']);
  const second = runCli(['connect', String(listening.url), '--frames', '1', '--json']);
  await host.waitFor('consent-request');
  await host.waitFor('consent-request', (e) => e !== host.events.find((x) => x.event === 'consent-request'));
  for (let i = 0; i < 100 && (host.stderr.match(/Allow\? \[y\/n\]/g) ?? []).length < 1; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  t.equal((host.stderr.match(/Allow\? \[y\/n\]/g) ?? []).length, 1, 'only the first question is on screen');
  host.send('y');
  for (let i = 0; i < 100 && (host.stderr.match(/Allow\? \[y\/n\]/g) ?? []).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal((host.stderr.match(/Allow\? \[y\/n\]/g) ?? []).length, 2, 'then the second');
  host.send('n');
  const results = await Promise.all([first, second]);
  t.same(results.map((r) => r.code).sort(), [0, 3], 'one accepted, one declined');
});
