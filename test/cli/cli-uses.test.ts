/**
 * `tessera host --uses N` and the consent prompt's account of the invitation's use and of the helper's key
 * (spec/handshake.md §2.5); `tessera connect` wording of a refusal that came before the host proved its key (§3.5).
 */
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { CliProcess, runCli } from '../helpers/cli.js';
import { Helper, HandshakeError } from '../../src/index.js';
import { createInvitation, dhKeyPair, newHolderKey } from '../../src/handshake/index.js';
import { Channel, encodeFrame } from '../../src/framing/index.js';
import { nodeRandom } from '../../src/transport/handshake-crypto.js';

/** Waits (bounded) until the host's stderr holds `count` consent prompts; returns the last one. */
async function prompt(host: CliProcess, count: number): Promise<string> {
  for (let i = 0; i < 1500; i++) {
    const prompts = host.stderr.split('Allow? [y/n]');
    if (prompts.length > count) return prompts[count - 1]!;
    if (host.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no consent prompt number ${count}; stderr: ${host.stderr}`);
}

t.test('--uses 2: the prompt says how often the invitation was used and shows the helper key; a third helper is refused', async (t) => {
  const host = new CliProcess(['host', '--port', '0', '--uses', '2'], { keepStdinOpen: true });
  t.teardown(() => host.stop());
  const url = (await host.waitForOutput(/tessera:\/\/\S+/))[0];
  t.match(host.stdout, /for up to 2 helpers/, 'the invitation says how many helpers it admits');

  const [a, b] = [newHolderKey(nodeRandom), newHolderKey(nodeRandom)];
  const first = Helper.connect(url, { holder: a });
  const p1 = await prompt(host, 1);
  t.match(p1, /Invitation: first use \(admits at most 2 helpers\)\./);
  t.match(p1, /Helper key [0-9a-f]{4}( [0-9a-f]{4}){3}: a helper not seen with this invitation before\./);
  t.match(p1, /it does not tell you who they are/, 'the key is labelled for what it is');
  host.send('y');
  const helperA = await first;
  t.teardown(() => helperA.close());
  t.ok(p1.includes(helperA.holderFingerprint!), 'the prompt shows the key the helper holds');

  const second = Helper.connect(url, { holder: b });
  const p2 = await prompt(host, 2);
  t.match(p2, /Invitation: used 1 time before, last at \d{4}-\d\d-\d\dT[\d:.]+Z, by 1 of at most 2 helpers\./);
  host.send('y');
  const helperB = await second;
  t.teardown(() => helperB.close());
  t.ok(p2.includes(helperB.holderFingerprint!));

  const back = Helper.connect(url, { holder: a });
  const p3 = await prompt(host, 3);
  t.match(p3, /used 2 times before/);
  t.match(p3, /: the same helper as before, reconnecting\./);
  host.send('y');
  const againA = await back;
  t.teardown(() => againA.close());

  const third = await Helper.connect(url, { holder: newHolderKey(nodeRandom) }).then(() => undefined, (e: unknown) => e);
  t.ok(third instanceof HandshakeError && third.refusal === 'TICKET_IN_USE', 'a third helper is refused');
  t.equal(host.stderr.split('Allow? [y/n]').length - 1, 3, 'without a prompt');
});

t.test('--uses out of range is a usage error', async (t) => {
  for (const n of ['0', '101', 'x']) {
    const r = await runCli(['host', '--port', '0', '--uses', n]);
    t.equal(r.code, 2, `--uses ${n}: ${r.stderr}`);
    t.match(r.stderr, /uses/);
  }
});

t.test('tessera connect words a refusal in the clear as not the host word (exit 3)', async (t) => {
  // Something on the path that answers every ClientHello with THROTTLED in the clear.
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('data', () => s.end(encodeFrame(Channel.Handshake, Uint8Array.of(0x7f, 0, 5))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  const port = (server.address() as { port: number }).port;
  const { invitation } = createInvitation({
    hostKey: dhKeyPair(nodeRandom(32)).publicKey, addresses: [`127.0.0.1:${port}`], expires: { value: 1, units: 'hours' }, name: 'h', now: Date.now, random: nodeRandom,
  });
  const r = await runCli(['connect', invitation.toUrl(), '--json']);
  t.equal(r.code, 3, r.stderr);
  t.match(r.stderr, /refused by something on the way, or by a host that could not prove its key: THROTTLED/);
  t.notMatch(r.stderr, /refused by the host/);
  t.match(r.events.find((e) => e.event === 'refused'), { code: 'THROTTLED', authenticated: false });
});
