import t from 'tap';
import nacl from 'tweetnacl';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/core/index.js';
import { Channel } from '../../src/framing/constants.js';
import { encodeFrame } from '../../src/framing/frame.js';
import { Deframer } from '../../src/framing/deframer.js';
import { Invitation, parsePolicy, parseHelpers, encodeClientHello, toBase64, toBase64Url, HandshakeError, newHolderKey } from '../../src/handshake/index.js';
import { nodeRandom } from '../../src/transport/handshake-crypto.js';
import { startHost, invite, helperConnect, hostResult, dial } from './handshake-fixture.js';

async function refusalOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    return err instanceof HandshakeError ? err.refusal : String((err as { code?: string }).code);
  }
}

t.test('an accepted session carries sealed frames both ways on the same stream', async (t) => {
  const fx = await startHost();
  t.teardown(() => fx.close());
  const { invitation } = invite(fx, { password: 'open sesame' });
  const { sock, result } = await helperConnect(fx, { invitation, password: 'open sesame' });
  const host = await (await hostResult(fx, 1)).result;
  const helper = await result;
  t.equal(helper.mode, 'control');
  t.equal(host.peer.ticketId, invitation.ticketIdHex);
  t.equal(helper.cipher.name, host.cipher.name);
  t.equal(helper.deframer.maxBodyBytes, 16 * 1024 * 1024);
  const hostSock = fx.sockets[0]!;
  // Host writes two sealed frames; the helper's deframer opens them from the same stream.
  hostSock.write(encodeFrame(Channel.Control, Uint8Array.of(1, 2), host.protector));
  hostSock.write(encodeFrame(Channel.Display, new Uint8Array(20_000).fill(7), host.protector));
  const frames = await new Promise<{ channel: number; n: number }[]>((resolve) => {
    const got: { channel: number; n: number }[] = [];
    sock.on('data', (c: Buffer) => {
      helper.deframer.push(c);
      for (let f; (f = helper.deframer.next()); ) got.push({ channel: f.channel, n: f.payload.byteLength });
      if (got.length === 2) resolve(got);
    });
    sock.resume();
  });
  t.same(frames, [{ channel: 1, n: 2 }, { channel: 2, n: 20_000 }]);
  // An altered frame from the helper fails to open on the host, which closes the session.
  const closed = new Promise<string>((resolve) => {
    hostSock.on('data', (c: Buffer) => {
      try {
        host.deframer.push(c);
        while (host.deframer.next());
      } catch (err) {
        hostSock.destroy();
        resolve((err as { code: string }).code);
      }
    });
    hostSock.resume();
  });
  const bad = encodeFrame(Channel.Input, Uint8Array.of(9, 9, 9), helper.protector);
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 0x80;
  sock.write(bad);
  t.equal(await closed, 'TESSERA_ERR_DECRYPT_FAILED');
  await new Promise((r) => sock.once('close', r));
  t.pass('helper sees the connection close');
});

t.test('each refusal code is reached over TCP and logged without secrets', async (t) => {
  const fx = await startHost({ policy: parsePolicy({ solicited: { permit: 'control' } }) });
  t.teardown(() => fx.close());
  let n = 0;
  const attempt = async (o: Parameters<typeof helperConnect>[1]) => {
    const { result } = await helperConnect(fx, o);
    n++;
    const code = await refusalOf(result);
    await refusalOf((await hostResult(fx, n)).result);
    return code;
  };
  const { invitation } = invite(fx, { password: 'pw-1' });
  // One helper (one holder key) throughout: an invitation admits the same helper again, and no other (spec §2.5).
  const holder = newHolderKey(nodeRandom);
  t.equal(await attempt({ invitation, password: 'pw-1', holder }), 'accepted');

  // TICKET_IN_USE: another helper with the same invitation and password; the refusal comes sealed, the host's word.
  const { result: second } = await helperConnect(fx, { invitation, password: 'pw-1', holder: newHolderKey(nodeRandom) });
  n++;
  const inUse = await second.then(() => undefined, (e: unknown) => e);
  t.ok(inUse instanceof HandshakeError && inUse.refusal === 'TICKET_IN_USE' && inUse.authenticated, 'a second helper is refused TICKET_IN_USE, authenticated');
  await refusalOf((await hostResult(fx, n)).result);

  // TICKET_UNKNOWN: an invitation whose ticket this host never stored.
  const other = await startHost();
  const { invitation: foreign } = invite(other, {});
  await other.close();
  const foreignHere = new Invitation({ ...foreign, hostKey: fx.hostKey.publicKey, addresses: foreign.addresses, name: foreign.name });
  t.equal(await attempt({ invitation: foreignHere }), 'TICKET_UNKNOWN');

  // HOST_KEY_MISMATCH: any change to the host key in the invitation.
  for (const flip of [0, 17, 31]) {
    const key = invitation.hostKey.slice();
    key[flip] = key[flip]! ^ 1;
    t.equal(await attempt({ invitation: new Invitation({ ...invitation, hostKey: key, passwordSalt: invitation.passwordSalt }), password: 'pw-1' }), 'HOST_KEY_MISMATCH');
  }

  // BAD_PROOF then THROTTLED after 5 wrong passwords, released after 10 minutes.
  for (let i = 0; i < 5; i++) t.equal(await attempt({ invitation, password: `wrong-${i}`, holder }), 'BAD_PROOF');
  t.equal(await attempt({ invitation, password: 'pw-1', holder }), 'THROTTLED', 'even the right password is not checked');
  fx.now += 10 * 60_000 + 1;
  t.equal(await attempt({ invitation, password: 'pw-1', holder }), 'accepted', 'released with time');

  // USER_DECLINED
  fx.consent = () => 'decline';
  t.equal(await attempt({ invitation, password: 'pw-1', holder }), 'USER_DECLINED');
  fx.consent = () => ({ mode: 'control', width: 1, height: 1 });

  // TICKET_REVOKED
  const { invitation: inv2 } = invite(fx, {});
  fx.store.revoke(inv2.ticketIdHex);
  t.equal(await attempt({ invitation: inv2 }), 'TICKET_REVOKED');

  // TICKET_EXPIRED: the invitation is valid in form; the host's clock has passed its expiry.
  const { invitation: inv3 } = invite(fx, { expiresMinutes: 5 });
  fx.now += 6 * 60_000;
  t.equal(await attempt({ invitation: inv3 }), 'TICKET_EXPIRED');

  // VERSION_MISMATCH: a raw ClientHello of version 2.
  const raw = await dial(fx);
  n++;
  const reply = new Promise<Uint8Array>((resolve) => {
    const d = new Deframer();
    raw.on('data', (c: Buffer) => {
      d.push(c);
      const f = d.next();
      if (f) resolve(f.payload);
    });
  });
  raw.write(encodeFrame(Channel.Handshake, encodeClientHello({ version: 2, ephemeral: new Uint8Array(32).fill(9), ciphers: [1] })));
  t.same(await reply, Uint8Array.of(0x7f, 0, 8));
  t.equal(await refusalOf((await hostResult(fx, n)).result), 'VERSION_MISMATCH');

  // The audit log holds each decision and no secret.
  const events = fx.log.read();
  const codes = new Set(events.map((e) => e.code));
  for (const c of ['TICKET_UNKNOWN', 'BAD_PROOF', 'THROTTLED', 'USER_DECLINED', 'TICKET_REVOKED', 'TICKET_EXPIRED', 'VERSION_MISMATCH', 'TICKET_IN_USE']) t.ok(codes.has(c), `audit has ${c}`);
  t.ok(events.some((e) => e.decision === 'accepted' && e.ticketId === invitation.ticketIdHex && e.mode === 'control'));
  t.ok(events.some((e) => e.decision === 'reconnected' && e.ticketId === invitation.ticketIdHex && e.helper?.startsWith('holder:')), 'the same helper again is audited as reconnected');
  t.ok(events.some((e) => e.decision === 'created'));
  const log = readFileSync(fx.log.path);
  const text = log.toString('utf8');
  for (const inv of [invitation, inv2, inv3]) {
    const s = inv.secret;
    for (const form of [toHex(s), toBase64(s), toBase64Url(s), toBase64(s).replace(/=+$/, '')]) t.notOk(text.includes(form), 'no encoded secret');
    t.equal(log.indexOf(Buffer.from(s)), -1, 'no raw secret bytes');
  }
  t.notOk(text.includes('pw-1'), 'no password');
  t.notOk(text.includes(toBase64(fx.hostKey.secretKey)) || text.includes(toHex(fx.hostKey.secretKey)), 'no host key');
});

t.test('a recorded handshake replayed by an attacker fails', async (t) => {
  const fx = await startHost();
  t.teardown(() => fx.close());
  const { invitation } = invite(fx, {});
  const sock = await dial(fx);
  const sent: Buffer[] = [];
  const write = sock.write.bind(sock);
  sock.write = ((chunk: Buffer, ...rest: never[]) => {
    sent.push(Buffer.from(chunk));
    return write(chunk, ...rest);
  }) as typeof sock.write;
  const { connectHandshake } = await import('../../src/transport/handshake-io.js');
  await connectHandshake(sock, { invitation });
  await (await hostResult(fx, 1)).result;
  const attacker = await dial(fx);
  attacker.on('error', () => undefined);
  for (const chunk of sent) attacker.write(chunk);
  t.equal(await refusalOf((await hostResult(fx, 2)).result), 'BAD_PROOF');
  attacker.destroy();
});

t.test('a host restarted on the same state folder accepts an unexpired invitation', async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tessera-restart-'));
  const first = await startHost({ stateDir });
  const { invitation } = invite(first, { password: 'again' });
  await first.close();
  const second = await startHost({ stateDir });
  t.teardown(async () => {
    await second.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  t.not(second.port, 0);
  second.now = first.now + 30 * 60_000;
  const { result } = await helperConnect(second, { invitation, password: 'again' });
  t.equal((await result).mode, 'control');
});

t.test('a view-only policy caps a control invitation to view', async (t) => {
  const fx = await startHost({ policy: parsePolicy({ solicited: { permit: 'view' } }) });
  t.teardown(() => fx.close());
  const { invitation } = invite(fx, { policy: parsePolicy({}) });
  t.equal(invitation.mode, 'control');
  let asked: string | undefined;
  fx.consent = (req) => {
    asked = req.maxMode;
    return { mode: 'control', width: 1, height: 1 };
  };
  const { result } = await helperConnect(fx, { invitation });
  t.equal((await result).mode, 'view');
  t.equal(asked, 'view');
});

t.test('offers: allowed by group membership; outside the allow-list or disabled is POLICY_DENIED', async (t) => {
  const alice = nacl.sign.keyPair(), bob = nacl.sign.keyPair(), mallory = nacl.sign.keyPair();
  const helpers = parseHelpers({ users: { alice: [toBase64(alice.publicKey)], bob: [toHex(bob.publicKey)] }, groups: { helpdesk: ['bob'] } });
  const fx = await startHost({ helpers, policy: parsePolicy({ offer: { enabled: true, helpers: ['group:helpdesk'] } }) });
  const off = await startHost({ helpers });
  t.teardown(async () => {
    await fx.close();
    await off.close();
  });
  let req: { helper?: string | undefined } | undefined;
  fx.consent = (r) => {
    req = r;
    return { mode: 'control', width: 3, height: 4 };
  };
  const ok = await helperConnect(fx, { hostKey: fx.hostKey.publicKey, identity: bob });
  t.equal((await ok.result).mode, 'control');
  t.equal(req?.helper, 'bob');
  const host = await (await hostResult(fx, 1)).result;
  t.equal(host.peer.helper, 'bob');
  t.equal(await refusalOf((await helperConnect(fx, { hostKey: fx.hostKey.publicKey, identity: alice })).result), 'POLICY_DENIED');
  t.equal(await refusalOf((await helperConnect(fx, { hostKey: fx.hostKey.publicKey, identity: mallory })).result), 'POLICY_DENIED');
  t.equal(await refusalOf((await helperConnect(off, { hostKey: off.hostKey.publicKey, identity: bob })).result), 'POLICY_DENIED', 'offer disabled');
  await new Promise((r) => setTimeout(r, 20));
  const events = fx.log.read();
  t.ok(events.some((e) => e.decision === 'accepted' && e.helper === 'bob'));
  t.equal(events.filter((e) => e.code === 'POLICY_DENIED').length, 2);
});

t.test('a handshake that does not finish in time is dropped', async (t) => {
  const fx = await startHost({ extra: { timeoutMs: 150 } });
  t.teardown(() => fx.close());
  const sock = await dial(fx);
  const closed = new Promise((r) => sock.once('close', r));
  sock.on('error', () => undefined);
  t.equal(await refusalOf((await hostResult(fx, 1)).result), 'TESSERA_ERR_HANDSHAKE_TIMEOUT');
  await closed;
  t.ok(fx.log.read().some((e) => e.decision === 'timeout'));
  // The helper side times out too when the host never answers.
  const { connectHandshake } = await import('../../src/transport/handshake-io.js');
  const { invitation } = invite(fx, {});
  const { createServer } = await import('node:net');
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const { connect } = await import('node:net');
  const s2 = connect((silent.address() as { port: number }).port, '127.0.0.1');
  await new Promise((r) => s2.once('connect', r));
  t.equal(await refusalOf(connectHandshake(s2, { invitation, timeoutMs: 100 })), 'TESSERA_ERR_HANDSHAKE_TIMEOUT');
  const ac = new AbortController();
  const s3 = connect((silent.address() as { port: number }).port, '127.0.0.1');
  await new Promise((r) => s3.once('connect', r));
  const p = connectHandshake(s3, { invitation, signal: ac.signal });
  ac.abort();
  t.equal(await refusalOf(p), 'ABORT_ERR');
  silent.close();
});
