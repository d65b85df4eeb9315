/**
 * Secrets on disk and in argv (issue #16): passwords never come from the command line, and the files that hold a
 * secret (--invite, keygen --out) are 0600, replaced atomically and never written through a symbolic link; a state
 * folder that cannot be read is reported as such, not taken for an empty one.
 */
import t from 'tap';
import { lstatSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, runCli } from '../helpers/cli.js';
import { Host, VirtualScreen } from '../../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-cli-s-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const posix = process.platform !== 'win32';
const SECRET = 'hunter2-do-not-echo';
/** The environment of this test without TESSERA_PASSWORD, plus `extra`. */
const env = (extra: Record<string, string> = {}) => {
  const e = { ...process.env, ...extra };
  if (!('TESSERA_PASSWORD' in extra)) delete e.TESSERA_PASSWORD;
  return e;
};

t.test('--password VALUE is refused with exit 2, naming the three ways and never repeating the value', async (t) => {
  const cases = [
    ['host', '--port', '0', '--password', SECRET],
    ['host', '--port', '0', `--password=${SECRET}`],
    ['connect', 'tessera://127.0.0.1:1/#AAAA', '--password', SECRET],
    ['connect', '--password', SECRET, 'tessera://127.0.0.1:1/#AAAA'],
  ];
  for (const args of cases) {
    const r = await runCli([...args, '--json'], { env: env() });
    t.equal(r.code, 2, `${args.join(' ')}: exit 2 (${r.stderr.trim()})`);
    t.match(r.stderr, /^tessera: a password is never taken on the command line[^\n]*--password \(asks on the terminal\), --password-file F .* TESSERA_PASSWORD environment variable\n$/, 'one sentence naming the three ways');
    t.notOk(r.stderr.includes(SECRET) || r.stdout.includes(SECRET), 'the value is not echoed');
  }
});

t.test('a bare --password still means "ask": without a terminal that is a usage error that says so', async (t) => {
  const r = await runCli(['host', '--port', '0', '--password'], { env: env() });
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, /--password asks on a terminal and there is none; in scripts use --password-file F or the TESSERA_PASSWORD/);
  const host = new Host({ source: new VirtualScreen({ width: 320, height: 240 }), consent: () => 'view', name: 'h' });
  t.teardown(() => host.close());
  await host.listen({ port: 0 });
  const url = (await host.createInvitation({ expires: '10m', password: SECRET })).toURL();
  const c = await runCli(['connect', '--password', url], { env: env() });
  t.equal(c.code, 2, 'connect --password URL: the URL is the invitation, the password is asked for');
  t.match(c.stderr, /asks on a terminal/);
  const both = await runCli(['host', '--password', '--password-file', join(tmp, 'nope')], { env: env() });
  t.equal(both.code, 2);
  t.match(both.stderr, /either --password or --password-file, not both/);
  const missing = await runCli(['host', '--port', '0', '--password-file', join(tmp, 'no-such-file')], { env: env() });
  t.equal(missing.code, 2);
  t.match(missing.stderr, /--password-file .*no-such-file could not be read \(ENOENT\)/);
});

t.test('TESSERA_PASSWORD protects an invitation and answers it; a wrong one is BAD_PROOF', async (t) => {
  const host = new CliProcess(['host', '--port', '0', '--json', '--accept', 'auto', '--uses', '2'], { env: env({ TESSERA_PASSWORD: SECRET }) });
  t.teardown(() => host.stop());
  const listening = await host.waitFor('listening');
  const url = String(listening.url);
  const none = await runCli(['connect', url, '--json'], { env: env() });
  t.equal(none.code, 2, 'the invitation needs a password');
  t.match(none.stderr, /needs a password: give it with --password \(asks on the terminal\), --password-file F .* TESSERA_PASSWORD/);
  const wrong = await runCli(['connect', url, '--json'], { env: env({ TESSERA_PASSWORD: 'wrong' }) });
  t.equal(wrong.code, 3, wrong.stderr);
  t.match(wrong.events.find((e) => e.event === 'refused'), { code: 'BAD_PROOF' });
  // Two different helpers (two processes, two holder keys): the host admits two (--uses 2).
  const ok = await runCli(['connect', url, '--frames', '1', '--json'], { env: env({ TESSERA_PASSWORD: SECRET }) });
  t.equal(ok.code, 0, ok.stderr);
  const pw = join(tmp, 'pw');
  writeFileSync(pw, `${SECRET}\n`);
  const file = await runCli(['connect', url, '--frames', '1', '--password-file', pw, '--json'], { env: env({ TESSERA_PASSWORD: 'wrong' }) });
  t.equal(file.code, 0, `--password-file wins over the environment: ${file.stderr}`);
});

t.test('host --invite: an existing 0644 file ends 0600; a symbolic link is refused', { skip: posix ? false : 'POSIX modes and links' }, async (t) => {
  const invite = join(tmp, 'help.tessera');
  writeFileSync(invite, 'old', { mode: 0o644 });
  const host = new CliProcess(['host', '--port', '0', '--json', '--accept', 'auto', '--invite', invite], { env: env() });
  t.teardown(() => host.stop());
  await host.waitFor('listening');
  t.equal(statSync(invite).mode & 0o777, 0o600);
  t.match(readFileSync(invite, 'utf8'), /^tessera-invitation 1/);
  await host.stop();

  const target = join(tmp, 'elsewhere');
  writeFileSync(target, 'precious', { mode: 0o644 });
  const link = join(tmp, 'link.tessera');
  symlinkSync(target, link);
  const r = await runCli(['host', '--port', '0', '--invite', link], { env: env(), timeoutMs: 30_000 });
  t.not(r.code, 0, 'the host does not start');
  t.match(r.stderr, /^tessera: refusing to write .*link\.tessera: it is a symbolic link[^\n]*\n$/, `one sentence: ${r.stderr}`);
  t.equal(readFileSync(target, 'utf8'), 'precious', 'the link target is untouched');
});

t.test('keygen --out: 0600 over an existing 0644 file with --force; a symbolic link is refused', { skip: posix ? false : 'POSIX modes and links' }, async (t) => {
  const id = join(tmp, 'id.json');
  writeFileSync(id, '{}', { mode: 0o644 });
  const refused = await runCli(['keygen', '--out', id]);
  t.equal(refused.code, 2, 'an existing file needs --force');
  const r = await runCli(['keygen', '--out', id, '--force', '--json']);
  t.equal(r.code, 0, r.stderr);
  t.equal(statSync(id).mode & 0o777, 0o600);
  t.match(JSON.parse(readFileSync(id, 'utf8')), { type: 'tessera-identity' });

  const target = join(tmp, 'id-target');
  writeFileSync(target, 'precious');
  const link = join(tmp, 'id-link.json');
  symlinkSync(target, link);
  const l = await runCli(['keygen', '--out', link, '--force']);
  t.not(l.code, 0);
  t.match(l.stderr, /symbolic link/);
  t.equal(readFileSync(target, 'utf8'), 'precious');
  t.ok(lstatSync(link).isSymbolicLink());
  const dangling = join(tmp, 'dangling.json');
  symlinkSync(join(tmp, 'nowhere'), dangling);
  const d = await runCli(['keygen', '--out', dangling]);
  t.equal(d.code, 2, 'a dangling link counts as existing');
});

t.test('an unreadable state folder is reported, not taken for an empty one', async (t) => {
  const state = join(tmp, 'state');
  const host = new CliProcess(['host', '--port', '0', '--json', '--accept', 'auto', '--state', state], { env: env() });
  t.teardown(() => host.stop());
  const listening = await host.waitFor('listening');
  renameSync(state, `${state}.away`);
  writeFileSync(state, 'in the way');
  const r = await runCli(['connect', String(listening.url), '--timeout', '5', '--json'], { env: env() });
  t.not(r.code, 0, 'the helper is not admitted');
  t.notOk(r.events.some((e) => e.event === 'refused' && e.code === 'TICKET_UNKNOWN'), `and not told TICKET_UNKNOWN: ${r.stderr}`);
  const reported = await host.waitFor('error', (e) => /turned away: could not read .*tickets\.json \(ENOTDIR\)/.test(String(e.message)));
  t.equal(reported.code, 'TESSERA_ERR_IO');
  t.match(host.stderr, /warning: a helper was turned away: could not read .*tickets\.json \(ENOTDIR\); check the state folder/);
  const list = await runCli(['invitations', 'list', '--state', state], { env: env() });
  t.not(list.code, 0, 'invitations list fails');
  t.notMatch(list.stdout, /no invitations/);
  t.match(list.stderr, /tessera: (state folder could not be created|could not read .*tickets\.json) \((ENOTDIR|EEXIST)\)/);
  rmSync(state);
  renameSync(`${state}.away`, state);
  const ok = await runCli(['connect', String(listening.url), '--frames', '1', '--json'], { env: env() });
  t.equal(ok.code, 0, `admitted once the folder is back: ${ok.stderr}`);
});
