import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli, CliProcess } from '../helpers/cli.js';
import { startSmtp } from '../integration/email-smtp-server.js';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-cli-x-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const fixtures = resolve(import.meta.dirname, '../fixtures/msrc');

async function startHost(args: string[]): Promise<{ host: CliProcess; listening: Record<string, unknown> }> {
  const host = new CliProcess(['host', '--port', '0', '--json', '--accept', 'auto', ...args]);
  t.teardown(() => host.stop());
  return { host, listening: await host.waitFor('listening') };
}

t.test('host --email sends the invitation by SMTP and connect reads the saved .eml', async (t) => {
  const smtp = await startSmtp();
  t.teardown(() => smtp.close());
  for (const method of ['attachment', 'mailto']) {
    const { host } = await startHost(['--email', 'helper@example.test', '--smtp', smtp.url, '--method', method, '--force']);
    const sent = await host.waitFor('emailed');
    t.match(sent, { to: 'helper@example.test', method });
    const raw = smtp.messages.at(-1)!.raw;
    const eml = join(tmp, `${method}.eml`);
    writeFileSync(eml, raw);
    const r = await runCli(['connect', eml, '--frames', '1', '--json']);
    t.equal(r.code, 0, `${method}: ${r.stderr}`);
    t.ok(r.events.some((e) => e.event === 'connected'), `${method}: the helper connected from the email alone`);
    await host.stop();
  }
});

t.test('a mail server that refuses the login leaves the invitation valid', async (t) => {
  const smtp = await startSmtp({
    authOptional: false,
    onAuth(_auth, _session, callback) {
      callback(new Error('Invalid username or password'));
    },
  });
  t.teardown(() => smtp.close());
  const invite = join(tmp, 'fallback.tessera');
  const { host } = await startHost(['--email', 'helper@example.test', '--smtp', `smtp://user:wrong@127.0.0.1:${smtp.port}`, '--invite', invite, '--force']);
  const failed = await host.waitFor('email-failed');
  t.match(failed, { code: 'TESSERA_ERR_EMAIL_FAILED' });
  for (let i = 0; i < 100 && !/still valid/.test(host.stderr); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(host.stderr, /refused the login.*still valid/);
  const r = await runCli(['connect', invite, '--frames', '1', '--json']);
  t.equal(r.code, 0, r.stderr);
});

t.test('host --mailto-uri prints a mailto: link carrying the invitation link', async (t) => {
  const { host, listening } = await startHost(['--mailto-uri']);
  const m = await host.waitFor('mailto');
  const uri = String(m.uri);
  t.match(uri, /^mailto:/);
  t.ok(decodeURIComponent(uri).includes(String(listening.url)), 'the body holds the tessera:// link');
});

t.test('host --web serves the viewer and gives its link in listening.viewer', async (t) => {
  const { listening } = await startHost(['--web', '0']);
  const viewer = String(listening.viewer);
  t.match(viewer, /^http:\/\/127\.0\.0\.1:\d+\/#tessera%3A%2F%2F/);
  const res = await fetch(viewer.slice(0, viewer.indexOf('#')));
  t.equal(res.status, 200);
  t.match(await res.text(), /<html/i);
});

t.test('inspect reads Windows Remote Assistance invitations and rejects malformed ones', async (t) => {
  const r = await runCli(['inspect', join(fixtures, 'ms-rai-type2.MsRcIncident'), '--json']);
  t.equal(r.code, 0, r.stderr);
  const ev = r.events.find((e) => e.event === 'msrc-incident');
  t.ok(ev, 'an msrc-incident event');
  const human = await runCli(['inspect', join(fixtures, 'ms-rai-type1.MsRcIncident')]);
  t.match(human.stdout, /192\.168\.1\.65:3389/);
  t.notMatch(human.stdout, /PassStub:\s+[^p(]*[*^=_]/, 'the PassStub value is not printed');
  const bad = readdirSync(join(fixtures, 'malformed')).find((f) => f.endsWith('.MsRcIncident'));
  if (bad) {
    const m = await runCli(['inspect', join(fixtures, 'malformed', bad)]);
    t.equal(m.code, 5, m.stderr);
  }
});

t.test('a policy that lowers the invitation says what it lowered, and to what', async (t) => {
  const policy = join(tmp, 'strict-policy.json');
  writeFileSync(policy, JSON.stringify({ solicited: { enabled: true, permit: 'view', maxTicketTime: { value: 1, units: 'hours' }, maxUses: 2 } }));
  const { host, listening } = await startHost(['--policy', policy, '--expires', '2d', '--mode', 'control', '--uses', '5']);
  const lowered = await host.waitFor('policy-lowered');
  t.match(lowered, { mode: 'view', uses: 2 }, 'the event says what the invitation now is');
  t.equal(lowered.expires, listening.expires);
  const hours = (Date.parse(String(listening.expires)) - Date.now()) / 3_600_000;
  t.ok(hours > 0.9 && hours <= 1, `the invitation lives one hour, not two days (${hours.toFixed(2)} h)`);
  t.ok(await host.waitForStderr(/policy lowered the invitation: lifetime 2 d -> (1 h|59 min) \(expires [^)]+\), mode control -> view, helpers 5 -> 2/), 'the warning says to what');
});
