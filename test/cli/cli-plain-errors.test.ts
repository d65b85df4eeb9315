/**
 * Every error a person sees is one plain sentence (issue #20 item 3): no byte offsets, no field names, no clause
 * said twice; the detail is under --debug and in the --json event. And the host key has one written form, which
 * `tessera offer --host-key` takes in each place it is printed.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, CliProcess, type RunResult } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-plain-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** Internals that must never reach a person's stderr. */
const INTERNALS = /offset|bytes at|\bleft\b|ticketId|hostKey|fragment|base64|nameLength|TESSERA_ERR_|at .*\.ts:\d+/;

/** Asserts stderr is `tessera: ` and one sentence, without internals or a repeated clause. */
function onePlainLine(t: Test, r: RunResult, what: string): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  t.equal(lines.length, 1, `${what}: one line (${r.stderr})`);
  const line = lines[0] ?? '';
  t.match(line, /^tessera: /, `${what}: the sentence`);
  t.notMatch(line, INTERNALS, `${what}: no internals (${line})`);
  const clauses = line.replace(/^tessera: /, '').split(/[:;(),?]\s*/).map((c) => c.trim().replace(/^(could not|cannot) /, '')).filter((c) => c.length > 8);
  t.equal(new Set(clauses).size, clauses.length, `${what}: no clause twice (${line})`);
  return line;
}

/** A real invitation from a host that is then stopped. */
async function realInvitation(): Promise<{ url: string; file: string }> {
  const file = join(tmp, 'real.tessera');
  const host = new CliProcess(['host', '--port', '0', '--json', '--invite', file]);
  const listening = await host.waitFor('listening');
  await host.stop();
  return { url: String(listening.url), file };
}

t.test('a damaged or incomplete invitation: one plain sentence, exit 5, the detail under --debug and --json', async (t) => {
  const { url, file } = await realInvitation();
  const cases: Array<[string, string]> = [
    ['a made-up fragment', 'tessera://127.0.0.1:1/#AAAA'],
    ['a link cut in its base64', url.slice(0, 60)],
    ['a link cut by two characters', url.slice(0, -2)],
    ['a link whose host was edited', url.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:1')],
  ];
  const text = readFileSync(file, 'utf8');
  const cut = join(tmp, 'cut.tessera');
  writeFileSync(cut, text.split('\n').slice(0, 5).join('\n'));
  cases.push(['a .tessera file cut short', cut]);
  const results = await Promise.all(cases.map(([, target]) => runCli(['connect', target])));
  for (const [i, [what]] of cases.entries()) {
    const r = results[i]!;
    t.equal(r.code, 5, `${what}: exit 5 unchanged`);
    t.match(onePlainLine(t, r, what), /this invitation is damaged or incomplete/);
  }
  const debug = await runCli(['connect', url.slice(0, -2), '--debug']);
  t.equal(debug.code, 5);
  t.match(debug.stderr, /^tessera: this invitation is damaged[^\n]*\ndetail: invalid invitation: truncated invitation: name needs 2 bytes at offset \d+, 1 left \[code TESSERA_ERR_INVALID_INVITATION, context invitation\]\n/, '--debug: the sentence, then the detail');
  const json = await runCli(['connect', url.slice(0, -2), '--json']);
  t.equal(json.code, 5);
  const ev = json.events.find((e) => e.event === 'error');
  t.match(ev, { code: 'TESSERA_ERR_INVALID_INVITATION', message: /^this invitation is damaged/, exitCode: 5, detail: { message: /name needs 2 bytes at offset/, code: 'TESSERA_ERR_INVALID_INVITATION', context: 'invitation' } });
});

t.test('garbage in a .tessera file and a missing file: plain sentences, exit 5', async (t) => {
  const garbage = join(tmp, 'garbage.tessera');
  writeFileSync(garbage, 'garbage\n\x00\x01 not an invitation');
  const r = await runCli(['connect', garbage]);
  t.equal(r.code, 5);
  t.match(onePlainLine(t, r, 'garbage'), /this is not a tessera invitation/);
  const missing = await runCli(['connect', join(tmp, 'nowhere.tessera')]);
  t.equal(missing.code, 5);
  t.match(onePlainLine(t, missing, 'missing'), /could not read .*nowhere\.tessera \(there is no such file\)$/);
  t.notMatch(missing.stderr, /ENOENT/, 'no system error code for people');
  const json = await runCli(['connect', join(tmp, 'nowhere.tessera'), '--json']);
  t.match(json.events.find((e) => e.event === 'error'), { detail: { causes: [/ENOENT/] } }, 'the system error in the detail');
});

t.test('a host that cannot be reached: once, plainly, exit 4; the causes in the detail, each once', async (t) => {
  const { file } = await realInvitation();
  const dead = join(tmp, 'dead.tessera');
  writeFileSync(dead, readFileSync(file, 'utf8').replace(/^address: .*$/m, 'address: 127.0.0.1:1'));
  const r = await runCli(['connect', dead]);
  t.equal(r.code, 4, 'exit 4 unchanged');
  const line = onePlainLine(t, r, 'dead port');
  t.match(line, /^tessera: could not reach the host at 127\.0\.0\.1:1 \(nothing answered there: is it still sharing\?/);
  t.equal((line.match(/127\.0\.0\.1:1\b/g) ?? []).length, 1, 'the address once');
  const json = await runCli(['connect', dead, '--json']);
  const ev = json.events.find((e) => e.event === 'error');
  t.match(ev, { code: 'TESSERA_ERR_IO', exitCode: 4, detail: { message: 'could not connect to 127.0.0.1:1', context: 'connect', received: '127.0.0.1:1', causes: ['connect ECONNREFUSED 127.0.0.1:1'] } }, "'cannot connect to' is not repeated as a cause");
  const debug = await runCli(['connect', dead, '--debug']);
  t.match(debug.stderr, /\ndetail: could not connect to 127\.0\.0\.1:1 \[[^\]]*\]; caused by: connect ECONNREFUSED 127\.0\.0\.1:1\n/);
});

t.test('a relay that refuses: one plain sentence, exit 3, the refusal code in --json', async (t) => {
  const relay = new CliProcess(['relay', '--port', '0', '--bind', '127.0.0.1', '--json', '--no-web']);
  t.teardown(() => relay.stop());
  const listening = await relay.waitFor('listening');
  const id = join(tmp, 'relay-id.json');
  await runCli(['keygen', '--out', id]);
  const key = 'qtYhcp1vxKiSRob2sYhhgiWR6qbpJu_-gfBevBiu7x8';
  const r = await runCli(['offer', '--relay', `ws://127.0.0.1:${listening.port}`, '--identity', id, '--host-key', key]);
  t.equal(r.code, 3, 'exit 3 unchanged');
  t.match(onePlainLine(t, r, 'relay refusal'), /the relay does not know this host right now/);
  t.notMatch(r.stderr, /UNKNOWN_ID/);
  const json = await runCli(['offer', '--relay', `ws://127.0.0.1:${listening.port}`, '--identity', id, '--host-key', key, '--json']);
  t.match(json.events.find((e) => e.event === 'refused'), { code: 'UNKNOWN_ID', detail: { message: /refused the helper \(UNKNOWN_ID\)/, code: 'TESSERA_ERR_RELAY_REFUSED' } });
});

t.test('the host key: one form everywhere, taken by offer --host-key in each; a fingerprint is refused with why', async (t) => {
  const id = join(tmp, 'alice.json');
  const k = await runCli(['keygen', '--out', id, '--json']);
  const publicKey = String(k.events[0]!.publicKey);
  const policy = join(tmp, 'policy.json');
  writeFileSync(policy, JSON.stringify({ offer: { enabled: true, permit: 'control', helpers: ['user:alice'] } }));
  const helpers = join(tmp, 'helpers.json');
  writeFileSync(helpers, JSON.stringify({ users: { alice: [publicKey] } }));
  const invite = join(tmp, 'offer-host.tessera');
  const host = new CliProcess(['host', '--port', '0', '--accept', 'auto', '--policy', policy, '--helpers', helpers, '--invite', invite]);
  t.teardown(() => host.stop());
  await host.waitForOutput(/waiting for a helper/);
  const printed = /host key \(for offers\): (\S+)/.exec(host.stdout)?.[1];
  const port = /listening on 127\.0\.0\.1:(\d+)/.exec(host.stdout)?.[1];
  t.ok(printed && port, `tessera host prints the key and the port: ${host.stdout}`);
  t.equal(printed!.length, 43, 'base64url, 43 characters');

  const inspected = await runCli(['inspect', invite]);
  t.match(inspected.stdout, new RegExp(`^  host key: ${printed}$`, 'm'), 'inspect shows the same form');
  const inspectedJson = await runCli(['inspect', invite, '--json']);
  t.equal(inspectedJson.events[0]!.hostKey, printed, 'and so does its --json');
  t.match(readFileSync(invite, 'utf8'), new RegExp(`^host-key: ${printed}$`, 'm'), 'and the invitation file');

  const bytes = Buffer.from(printed!, 'base64url');
  const forms: Array<[string, string]> = [
    ['as tessera host prints it', printed!],
    ['with the spaces of a copy', `  ${printed}\n`],
    ['in hex', bytes.toString('hex')],
    ['in padded base64', bytes.toString('base64')],
  ];
  for (const [what, form] of forms) {
    const r = await runCli(['offer', `127.0.0.1:${port}`, '--identity', id, '--host-key', form, '--frames', '1', '--json']);
    t.equal(r.code, 0, `${what}: accepted (${r.stderr})`);
    t.ok(r.events.some((e) => e.event === 'connected'), `${what}: connected`);
  }

  // The fingerprint inspect and the email used to show: 10 bytes of SHA-512, hex in groups of four.
  const { createHash } = await import('node:crypto');
  const fingerprint = createHash('sha512').update(bytes).digest('hex').slice(0, 20).replace(/(.{4})(?!$)/g, '$1:');
  for (const form of [fingerprint, fingerprint.replace(/:/g, '')]) {
    const r = await runCli(['offer', `127.0.0.1:${port}`, '--identity', id, '--host-key', form]);
    t.equal(r.code, 2, 'a usage error');
    t.match(onePlainLine(t, r, 'fingerprint'), /needs the whole host key, not a fingerprint: a fingerprint only checks a key and cannot be turned back into one .*host key \(for offers\)/);
  }
  const wrong = await runCli(['offer', `127.0.0.1:${port}`, '--identity', id, '--host-key', Buffer.alloc(32, 7).toString('base64url'), '--timeout', '10']);
  t.equal(wrong.code, 3, 'a wrong key: refused, exit 3 unchanged');
  t.match(onePlainLine(t, wrong, 'wrong key'), /HOST_KEY_MISMATCH .*--host-key is wrong/);
  const nonsense = await runCli(['offer', `127.0.0.1:${port}`, '--identity', id, '--host-key', 'not-a-key']);
  t.equal(nonsense.code, 2);
  t.match(onePlainLine(t, nonsense, 'not a key'), /--host-key is not a host key \('tessera host' prints the key as "host key \(for offers\)", 43 characters\)/);
});
