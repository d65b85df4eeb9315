/**
 * `tessera connect` never leaves the helper guessing (issue #20 item 3): once the host has proved its key and asks
 * its user, the helper hears that it is waiting for the host user; `--timeout` bounds the whole wait, the host
 * user's decision included (exit 4 with a plain sentence); the wait ends as soon as the user answers.
 */
import t, { type Test } from 'tap';
import { CliProcess } from '../helpers/cli.js';

/** A host that asks its user (answers typed on stdin), and its invitation URL. */
async function askingHost(t: Test): Promise<{ host: CliProcess; url: string }> {
  const host = new CliProcess(['host', '--port', '0', '--uses', '3'], { keepStdinOpen: true });
  t.teardown(() => host.stop());
  const url = (await host.waitForOutput(/tessera:\/\/\S+/))[0];
  return { host, url };
}

t.test('--timeout bounds the wait for the host user: a waiting event, then exit 4 saying who did not answer', async (t) => {
  const { host, url } = await askingHost(t);
  const startedAt = Date.now();
  const helper = new CliProcess(['connect', url, '--timeout', '3', '--json']);
  t.teardown(() => helper.stop());
  t.match(await helper.waitFor('waiting'), { for: 'consent', timeoutS: 3 }, 'the helper is told it waits for the host user');
  for (let i = 0; i < 250 && !host.stderr.includes('Allow? [y/n]'); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(host.stderr, /Allow\? \[y\/n\]/, 'while the host user is being asked');
  const code = await helper.exited;
  const elapsed = Date.now() - startedAt;
  t.equal(code, 4, 'nobody answered within --timeout: connection failed');
  t.match(helper.stderr, /gave up after 3 s: the host user did not answer/, 'one plain sentence');
  t.notMatch(helper.stderr, /at .*\.ts:\d+/, 'no stack trace');
  t.ok(elapsed >= 3_000, `it waited the whole --timeout (${elapsed} ms), not the 10 s connect default nor the 90 s consent default`);
});

t.test('without --json the helper reads that it waits; the host user says yes and the session starts', async (t) => {
  const { host, url } = await askingHost(t);
  const helper = new CliProcess(['connect', url, '--frames', '1']);
  t.teardown(() => helper.stop());
  await helper.waitForOutput(/waiting for them to accept/);
  t.notMatch(helper.stdout, /connected to/, 'not connected before the host user answers');
  host.send('y');
  await helper.waitForOutput(/connected to/);
  t.equal(await helper.exited, 0);
});
