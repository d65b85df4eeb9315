/**
 * The host user sees and speaks (issue #20): `tessera host` tells each wrong password and each lock-out as it
 * happens, tells pause from resume, and takes chat lines from its terminal.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../helpers/cli.js';
import { Helper, HandshakeError } from '../../src/index.js';
import { DEFAULT_THROTTLE_MAX_PER_TICKET, DEFAULT_THROTTLE_WINDOW_MS } from '../../src/core/defaults.js';
import { DEFAULT_MAX_CHAT_BYTES } from '../../src/input/constants.js';
import { clockTime, formatDuration } from '../../src/cli/commands/host.js';

/** This test's environment without TESSERA_PASSWORD. */
function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.TESSERA_PASSWORD;
  return e;
}

/** A helper with the wrong password: resolves with its refusal code. */
async function wrongPassword(url: string): Promise<string | undefined> {
  const err = await Helper.connect(url, { password: 'not the password' }).then(
    (h) => (void h.close(), undefined),
    (e: unknown) => e,
  );
  return err instanceof HandshakeError ? err.refusal : String(err);
}

t.test('each wrong password is told with its attempt count, then the lock-out with the time it ends', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-host-user-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const secret = 'correct horse battery staple';
  writeFileSync(join(dir, 'password'), `${secret}\n`);
  const host = new CliProcess(['host', '--port', '0', '--password-file', join(dir, 'password'), '--json'], { keepStdinOpen: true, env: env() });
  t.teardown(() => host.stop());
  const listening = await host.waitFor('listening');
  const url = String(listening.url);
  const id = String(listening.id);

  for (let attempt = 1; attempt <= DEFAULT_THROTTLE_MAX_PER_TICKET; attempt++) {
    t.equal(await wrongPassword(url), 'BAD_PROOF', `attempt ${attempt} is refused as a wrong proof`);
    const ev = await host.waitFor('wrong-password', (e) => e.attempt === attempt);
    t.match(ev, { id, password: true, maxAttempts: DEFAULT_THROTTLE_MAX_PER_TICKET, windowMs: DEFAULT_THROTTLE_WINDOW_MS }, `wrong-password event ${attempt}`);
    t.match(String(ev.peer), /^127\.0\.0\.1:\d+$/);
    await host.waitForStderr(new RegExp(`a helper from 127\\.0\\.0\\.1:\\d+ gave a wrong password for invitation ${id.slice(0, 8)} \\(attempt ${attempt} of ${DEFAULT_THROTTLE_MAX_PER_TICKET}\\)`));
  }
  const locked = await host.waitFor('locked');
  t.match(locked, { scope: 'invitation', id, address: null, failures: DEFAULT_THROTTLE_MAX_PER_TICKET, windowMs: DEFAULT_THROTTLE_WINDOW_MS });
  const until = Date.parse(String(locked.until));
  t.ok(until > Date.now() && until <= Date.now() + DEFAULT_THROTTLE_WINDOW_MS, 'locked until the first wrong password leaves the window');
  const line = await host.waitForStderr(/invitation (\w+) is locked after (\d+) wrong passwords within ([^;]+); helpers are refused until (\d\d):(\d\d)/);
  t.equal(line[1], id.slice(0, 8));
  t.equal(Number(line[2]), DEFAULT_THROTTLE_MAX_PER_TICKET);
  t.equal(line[3], formatDuration(DEFAULT_THROTTLE_WINDOW_MS));
  t.equal(`${line[4]}:${line[5]}`, clockTime(new Date(until)), 'the local time it ends, rounded up to the minute');

  // Locked: even the right password is refused unchecked, and no further wrong-password line is printed.
  const right = await Helper.connect(url, { password: secret }).then((h) => (void h.close(), undefined), (e: unknown) => e);
  t.ok(right instanceof HandshakeError && right.refusal === 'THROTTLED', 'the right password is refused while locked');
  t.equal(host.events.filter((e) => e.event === 'wrong-password').length, DEFAULT_THROTTLE_MAX_PER_TICKET, 'one line per wrong password');
  t.equal(host.events.filter((e) => e.event === 'locked').length, 1, 'the lock-out is told once');
  t.notOk(host.stdout.includes(secret) || host.stderr.includes(secret) || host.stdout.includes('not the password') || host.stderr.includes('not the password'), 'no password is printed');
});

t.test('a line typed on the host that is not a command goes to the helper; the helper\'s chat shows with its address', async (t) => {
  const host = new CliProcess(['host', '--port', '0', '--accept', 'auto'], { keepStdinOpen: true });
  t.teardown(() => host.stop());
  const url = (await host.waitForOutput(/tessera:\/\/\S+/))[0];
  host.send('hello, nobody is here yet');
  await host.waitForOutput(/no helper is connected: the message was not sent/);

  const helper = await Helper.connect(url);
  t.teardown(() => helper.close());
  const heard: string[] = [];
  helper.on('chat', (text: string) => heard.push(text));
  await helper.waitForFrame(() => true);
  await host.waitForOutput(/helper joined from .*type revoke, pause or end, or a line to write to the helper/);

  host.send('  I can see you, go ahead  ');
  await host.waitForOutput(/^you: I can see you, go ahead$/m);
  await until(() => heard.length === 1);
  t.same(heard, ['I can see you, go ahead'], 'the helper gets the line, trimmed');

  helper.chat('thanks, opening the settings');
  await host.waitForOutput(/^helper 127\.0\.0\.1:\d+: thanks, opening the settings$/m);

  host.send('y');
  await host.waitForStderr(/no question is waiting for an answer; nothing was sent/);
  host.send('x'.repeat(DEFAULT_MAX_CHAT_BYTES + 1));
  await host.waitForStderr(new RegExp(`not sent: a message is at most ${DEFAULT_MAX_CHAT_BYTES} bytes, this one has ${DEFAULT_MAX_CHAT_BYTES + 1}`));
  const longest = 'é'.repeat(DEFAULT_MAX_CHAT_BYTES / 2);
  host.send(longest);
  await until(() => heard.length === 2);
  t.equal(heard[1], longest, 'a line of exactly the cap is sent');
  t.equal(heard.length, 2, 'the late answer and the long line were not sent');
});

t.test('pause and resume are told apart; with two helpers a line goes to both (--json)', async (t) => {
  const host = new CliProcess(['host', '--port', '0', '--accept', 'auto', '--uses', '2', '--json'], { keepStdinOpen: true });
  t.teardown(() => host.stop());
  const url = String((await host.waitFor('listening')).url);
  const helpers = [await Helper.connect(url), await Helper.connect(url)];
  const heard: string[][] = [[], []];
  helpers.forEach((h, i) => {
    t.teardown(() => h.close());
    h.on('chat', (text: string) => heard[i]!.push(text));
  });
  await until(() => host.events.filter((e) => e.event === 'helper-joined').length === 2);

  host.send('pause');
  const paused = await host.waitFor('pause');
  t.equal(paused.paused, true, 'the first pause pauses');
  t.equal((paused.sessions as string[]).length, 2, 'every helper');
  host.send('pause');
  const resumed = await host.waitFor('pause', (e) => e.paused === false);
  t.equal((resumed.sessions as string[]).length, 2, 'the second resumes every helper');

  host.send('both of you: please wait');
  const sent = await host.waitFor('chat-sent');
  t.equal(sent.text, 'both of you: please wait');
  t.equal((sent.sessions as string[]).length, 2);
  await until(() => heard.every((h) => h.length === 1));
  t.same(heard, [['both of you: please wait'], ['both of you: please wait']], 'both helpers get it');
});

t.test('pause and resume lines differ (human mode)', async (t) => {
  const host = new CliProcess(['host', '--port', '0', '--accept', 'auto'], { keepStdinOpen: true });
  t.teardown(() => host.stop());
  const url = (await host.waitForOutput(/tessera:\/\/\S+/))[0];
  const helper = await Helper.connect(url);
  t.teardown(() => helper.close());
  await host.waitForOutput(/helper joined/);
  host.send('pause');
  await host.waitForOutput(/^input paused: the helper's input is ignored until you type pause again$/m);
  host.send('pause');
  await host.waitForOutput(/^input resumed/m);
  t.notMatch(host.stdout, /paused\/resumed/, 'never both at once');
});

/** Waits (bounded) until `cond` holds. */
async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 20) {
    if (waited > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
