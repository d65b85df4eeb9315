/**
 * An invitation is spent once (spec/handshake.md §2.5), over TCP with the Host and Helper API: a second helper at the
 * same time is refused, the same helper reconnects after its connection dropped, another helper is refused after the
 * first left, and `uses: 2` admits two different helpers and refuses a third. Every refusal and reconnection is audited.
 */
import t from 'tap';
import { createServer, connect, type Socket } from 'node:net';
import { Host, Helper, HandshakeError, VirtualScreen, type AuditEvent, type HostConsentRequest, type HostSessionHandle } from '../../src/index.js';
import { newHolderKey } from '../../src/handshake/index.js';
import { nodeRandom } from '../../src/transport/handshake-crypto.js';

async function setup(t: { teardown(fn: () => unknown): void }) {
  const screen = new VirtualScreen({ width: 320, height: 240, now: () => Date.UTC(2026, 10, 25, 10, 0, 0) });
  const requests: HostConsentRequest[] = [];
  const audit: AuditEvent[] = [];
  const host = new Host({
    source: screen,
    consent: (r) => {
      requests.push(r);
      return 'view';
    },
    name: 'uses-host',
  });
  host.on('audit', (e: AuditEvent) => audit.push(e));
  await host.listen({ port: 0 });
  t.teardown(() => host.close());
  return { host, requests, audit };
}

/** A TCP relay in front of the host whose connections the test can cut, as a network would. */
async function relay(t: { teardown(fn: () => unknown): void }, port: number) {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

const refusalOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

function sessionClosed(handle: HostSessionHandle): Promise<void> {
  return new Promise((resolve) => handle.once('close', () => resolve()));
}

t.test('a second helper at the same time is refused TICKET_IN_USE, as the host word, and audited', async (t) => {
  const { host, requests, audit } = await setup(t);
  const invitation = await host.createInvitation({ expires: '30m' });
  const first = await Helper.connect(invitation.toURL(), { holder: newHolderKey(nodeRandom) });
  t.teardown(() => first.close());
  await first.waitForFrame(() => true);
  const err = await refusalOf(Helper.connect(invitation.toURL(), { holder: newHolderKey(nodeRandom) }));
  t.ok(err instanceof HandshakeError, 'refused');
  t.equal((err as HandshakeError).refusal, 'TICKET_IN_USE');
  t.equal((err as HandshakeError).authenticated, true, 'sealed: the host word');
  t.equal(requests.length, 1, 'the host user was not asked about the second helper');
  t.ok(audit.some((e) => e.decision === 'refused' && e.code === 'TICKET_IN_USE' && e.ticketId === invitation.id && e.helper?.startsWith('holder:')), 'audited with the holder');
  t.equal(host.sessions.length, 1);
});

t.test('the same helper reconnects after its connection dropped; another helper is refused after it left', async (t) => {
  const { host, requests, audit } = await setup(t);
  const net = await relay(t, host.port!);
  const invitation = await host.createInvitation({ expires: '30m', addresses: [`127.0.0.1:${net.port}`] });
  const sessions: HostSessionHandle[] = [];
  host.on('session', (s: HostSessionHandle) => sessions.push(s));

  // No holder given: the Helper keeps this process's key for the invitation in memory.
  const first = await Helper.connect(invitation.toURL());
  await first.waitForFrame(() => true);
  t.equal(requests[0]?.previousUses, 0, 'first use');
  t.equal(requests[0]?.returning, false);
  t.equal(requests[0]?.holderFingerprint, first.holderFingerprint, 'the prompt shows the key the helper can read out');
  const hostSide = sessionClosed(sessions[0]!);
  const helperSide = new Promise<void>((resolve) => first.once('close', () => resolve()));
  net.cut();
  await Promise.all([hostSide, helperSide]);

  const again = await Helper.connect(invitation.toURL());
  await again.waitForFrame(() => true);
  t.equal(requests[1]?.returning, true, 'the host user is told it is the same helper');
  t.equal(requests[1]?.previousUses, 1);
  t.equal(requests[1]?.holderFingerprint, first.holderFingerprint);
  t.ok(audit.some((e) => e.decision === 'reconnected' && e.ticketId === invitation.id), 'the reconnection is audited');

  const left = sessionClosed(sessions[1]!);
  await again.close();
  await left;
  const other = await refusalOf(Helper.connect(invitation.toURL(), { holder: newHolderKey(nodeRandom) }));
  t.equal((other as HandshakeError).refusal, 'TICKET_IN_USE', 'another helper with only the invitation is refused');
  t.equal(audit.filter((e) => e.code === 'TICKET_IN_USE').length, 1);
  t.equal(requests.length, 2);
});

t.test('uses: 2 admits two different helpers and refuses a third', async (t) => {
  const { host, requests, audit } = await setup(t);
  const invitation = await host.createInvitation({ expires: '30m', uses: 2 });
  t.equal(invitation.uses, 2);
  const a = await Helper.connect(invitation.toURL(), { holder: newHolderKey(nodeRandom) });
  t.teardown(() => a.close());
  const b = await Helper.connect(invitation.toURL(), { holder: newHolderKey(nodeRandom) });
  t.teardown(() => b.close());
  await Promise.all([a.waitForFrame(() => true), b.waitForFrame(() => true)]);
  t.not(a.holderFingerprint, b.holderFingerprint);
  t.equal(requests[1]?.holders, 1, 'the second prompt says one helper used it before');
  t.equal(requests[1]?.maxUses, 2);
  const c = await refusalOf(Helper.connect(invitation.toURL(), { holder: newHolderKey(nodeRandom) }));
  t.equal((c as HandshakeError).refusal, 'TICKET_IN_USE');
  t.equal(audit.filter((e) => e.decision === 'accepted' && e.ticketId === invitation.id).length, 2);
  t.same(host.listInvitations().find((r) => r.id === invitation.id)?.holders?.length, 2);
});
