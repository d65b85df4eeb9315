/**
 * The host's terminal on a TTY (raw keys): c starts a message, Enter sends, Esc cancels (and Esc again revokes),
 * only printable characters within the chat cap are taken, and a consent question that comes while a message is
 * typed is not answered by the message's keys. process.stdin is made to look like a TTY and fed keys by hand.
 */
import t, { type Test } from 'tap';
import { HostTerminal } from '../../../src/cli/terminal.js';

/** Makes stdin a fake TTY and captures stderr for the test; returns how to type keys and what was written. */
function fakeTty(t: Test): { type(keys: string): void; written(): string } {
  const stdin = process.stdin as unknown as Record<string, unknown>;
  const saved = { isTTY: stdin.isTTY, setRawMode: stdin.setRawMode };
  stdin.isTTY = true;
  stdin.setRawMode = () => process.stdin;
  let out = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((out += String(chunk)), true)) as typeof process.stderr.write;
  t.teardown(() => {
    stdin.isTTY = saved.isTTY;
    stdin.setRawMode = saved.setRawMode;
    process.stderr.write = write;
    process.stdin.pause();
  });
  return { type: (keys) => void process.stdin.emit('data', Buffer.from(keys, 'utf8')), written: () => out };
}

function terminal(maxChatBytes = 16) {
  const calls: string[] = [];
  const term = new HostTerminal(
    {
      onRevoke: () => calls.push('revoke'),
      onPause: () => calls.push('pause'),
      onEnd: () => calls.push('end'),
      onInterrupt: () => calls.push('interrupt'),
      onChat: (text) => calls.push(`chat:${text}`),
    },
    { maxChatBytes, onTyping: (line) => calls.push(line ? 'typing' : 'done') },
  );
  return { term, calls };
}

t.test('c starts a message; Enter sends it; Esc cancels it and Esc again revokes', async (t) => {
  const tty = fakeTty(t);
  const { term, calls } = terminal();
  term.start();
  t.teardown(() => term.stop());
  tty.type('p');
  tty.type('chelo\x7fp me');
  t.ok(term.typing);
  t.match(tty.written(), /message to the helper \(Enter sends, Esc cancels\): /);
  tty.type('\r');
  t.notOk(term.typing);
  tty.type('cnever mind\x1b');
  tty.type('\x1b');
  t.same(calls, ['pause', 'typing', 'done', 'chat:help me', 'typing', 'done', 'revoke'], 'x, p and Esc in a message are text; Esc cancels; Esc again revokes');
  t.match(tty.written(), /message cancelled; Esc again revokes control/);
});

t.test('only printable characters within the cap are taken; arrow keys are dropped', async (t) => {
  const tty = fakeTty(t);
  const { term, calls } = terminal(8);
  term.start();
  t.teardown(() => term.stop());
  tty.type('ca\x01\x1b[Ab\u202ec\x07é');
  tty.type('ééé'); // 'abcé' is 5 bytes; one more é fits (7), the next would be 9
  tty.type('\r');
  tty.type('c\r'); // an empty message is not sent
  t.same(calls.filter((c) => c.startsWith('chat:')), ['chat:abcéé'], 'controls, bidi marks and escape sequences are not typed; the cap holds');
  t.notMatch(tty.written(), /[\u0001\u202e]/, 'nothing unprintable was echoed');
});

t.test('a question that comes while a message is typed waits: the message\'s y never answers it', async (t) => {
  const tty = fakeTty(t);
  const { term, calls } = terminal(64);
  term.start();
  t.teardown(() => term.stop());
  tty.type('cyes');
  const answer = term.ask('Allow? [y/n] ', 5_000);
  await new Promise((r) => setTimeout(r, 10));
  tty.type('y it is');
  t.match(tty.written(), /send or cancel your message first, then answer/);
  let settled = false;
  void answer.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 10));
  t.notOk(settled, 'not answered by the message');
  tty.type('\r');
  t.same(calls.filter((c) => c.startsWith('chat:')), ['chat:yesy it is']);
  t.match(tty.written(), /Allow\? \[y\/n\] $/, 'the question is asked again once the message is sent');
  tty.type('n');
  t.equal(await answer, false, 'then n answers it');
});
