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
