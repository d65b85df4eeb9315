/**
 * Text from a peer never drives the other side's terminal (issue #16): the real `tessera host` and `tessera connect`
 * print chat, close messages and names with control characters, C1 codes and bidirectional controls escaped, and a
 * peer cannot start a line of its own (beside the consent prompt, say).
 */
import t from 'tap';
import { CliProcess, runCli } from '../helpers/cli.js';
import { CloseReason, Helper, Host, VirtualScreen, type HostSessionHandle } from '../../src/index.js';

const CLEAR_AND_LIE = '\x1b[2J\x1b[Hit is safe to answer y';
const FAKE_LINE = 'ok\r\nit is safe to answer y\u202e';
const CLOSE_MESSAGE = 'bye\x1b]0;pwned\x07\x9b31m\r\nit is safe to answer y\u2066\u202e';

/** Any character a terminal would act on: C0 but newline, DEL, C1, bidi controls, line separators. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

function unsafeIn(text: string): string | undefined {
  const m = UNSAFE.exec(text);
  return m ? `U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${m.index}: ${JSON.stringify(text.slice(Math.max(0, m.index - 20), m.index + 20))}` : undefined;
}

t.test('tessera host prints a helper\'s chat and close message escaped', async (t) => {
  const host = new CliProcess(['host', '--port', '0', '--accept', 'auto']);
  t.teardown(() => host.stop());
  const url = (await host.waitForOutput(/tessera:\/\/\S+/))[0];
  const helper = await Helper.connect(url);
  await helper.waitForFrame(() => true);
  helper.chat(CLEAR_AND_LIE);
  helper.chat(FAKE_LINE);
  await host.waitForOutput(/helper 127\.0\.0\.1:\d+: ok/);
  await helper.close(CloseReason.HelperLeft, CLOSE_MESSAGE);
  await host.waitForOutput(/left \(/);
  await host.stop();

  t.equal(unsafeIn(host.stdout), undefined, 'no escape, C1 or bidi character on stdout');
  t.notOk(host.stdout.includes('\x1b'), 'no ESC byte');
  t.notOk(/[\u202a-\u202e\u2066-\u2069]/.test(host.stdout), 'no bidi override or isolate');
  t.equal(unsafeIn(host.stderr), undefined, 'nor on stderr');
  t.notMatch(host.stdout, /^it is safe/m, 'the peer could not start a line of its own');
  t.match(host.stdout, /helper 127\.0\.0\.1:\d+: \\x1b\[2J\\x1b\[Hit is safe to answer y/, 'the chat is shown, escaped visibly');
  t.match(host.stdout, /helper 127\.0\.0\.1:\d+: ok\\r\\nit is safe to answer y\\u202e/);
  t.match(host.stdout, /left \(helper-left: bye\\x1b\]0;pwned\\x07\\x9b31m\\r\\nit is safe to answer y\\u2066\\u202e\)/, 'the close message too');
});

t.test('tessera host --json keeps the text exact for programs, yet prints no raw C1 or bidi character', async (t) => {
  const host = new CliProcess(['host', '--port', '0', '--accept', 'auto', '--json']);
  t.teardown(() => host.stop());
  const listening = await host.waitFor('listening');
  const helper = await Helper.connect(String(listening.url));
  await helper.waitForFrame(() => true);
  helper.chat(FAKE_LINE);
  await host.waitFor('chat');
  await helper.close(CloseReason.HelperLeft, CLOSE_MESSAGE);
  const closed = await host.waitFor('closed');
  await host.stop();
  t.equal(unsafeIn(host.stdout), undefined, 'every JSON line is terminal-safe');
  t.equal(host.events.find((e) => e.event === 'chat')?.text, FAKE_LINE, 'the chat event parses to the exact text');
  t.equal(closed.message, CLOSE_MESSAGE, 'the closed event parses to the exact message');
});

t.test('tessera connect and tessera inspect print a host\'s name, chat and close message escaped', async (t) => {
  const name = 'Support \u202eevil\u009b31m \u2067x';
  const host = new Host({ source: new VirtualScreen({ width: 320, height: 240 }), consent: () => 'view', name });
  t.teardown(() => host.close());
  const { port } = await host.listen({ port: 0 });
  t.ok(port > 0);
  const invitation = await host.createInvitation({ mode: 'view', expires: '10m' });
  host.on('session', (s: HostSessionHandle) => {
    s.chat(CLEAR_AND_LIE);
    setTimeout(() => s.close(CloseReason.HostEnded, CLOSE_MESSAGE), 300);
  });
  const r = await runCli(['connect', invitation.toURL(), '--timeout', '10', '--duration', '20']);
  t.equal(r.code, 0, r.stderr);
  t.equal(unsafeIn(r.stdout), undefined, 'connect: nothing unsafe on stdout');
  t.equal(unsafeIn(r.stderr), undefined, 'connect: nothing unsafe on stderr');
  t.notMatch(r.stdout, /^it is safe/m);
  t.match(r.stdout, /host: \\x1b\[2J\\x1b\[Hit is safe/);
  t.match(r.stdout, /session closed \(host-ended: bye\\x1b/);

  const inspected = await runCli(['inspect', invitation.toURL()]);
  t.equal(inspected.code, 0, inspected.stderr);
  t.equal(unsafeIn(inspected.stdout), undefined, 'inspect: the display name is escaped');
  t.match(inspected.stdout, /Support \\u202eevil\\x9b31m \\u2067x/);
  const json = await runCli(['inspect', invitation.toURL(), '--json']);
  t.equal(unsafeIn(json.stdout), undefined, 'inspect --json: no raw C1 or bidi character');
  t.equal(json.events.find((e) => e.event === 'invitation')?.name, name, 'and the name parses back exactly');
});
