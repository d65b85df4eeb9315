import t from 'tap';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../src/core/index.js';
import { HandshakeError, readInvitation } from '../../src/handshake/index.js';
import { AeadFrameProtector } from '../../src/framing/aead.js';
import { AEAD_SUITES, aeadNonce, setupCase, makeResponder, prepareRefusal, refusalReply, summarize, type AeadCase, type RefusalCase, type VectorCase } from './handshake-vectors.js';

const vectors = JSON.parse(readFileSync(new URL('../../spec/vectors/handshake.json', import.meta.url), 'utf8')) as { cases: VectorCase[] };
const hex = (s: string) => fromHex(s)!;

for (const c of vectors.cases) {
  t.test(`${c.name}: the initiator with fixed randomness produces the same bytes`, async (t) => {
    const s = setupCase(c);
    t.equal(toHex(s.initiator.next()!), c.messages.clientHello);
    t.same(s.initiator.receive(hex(c.messages.serverHello)), { type: 'send' });
    t.equal(toHex(s.initiator.next()!), c.messages.auth);
    t.same(s.initiator.receive(hex(c.messages.welcome)), { type: 'done' });
    t.same(summarize(s.initiator.finish(), 'helper'), c.result);
    if (c.invitationText && s.invitation) {
      t.equal(s.invitation.toText(), c.invitationText);
      t.equal(s.invitation.toUrl(), c.invitationUrl);
      t.same(readInvitation(c.invitationText, { now: c.now }).toBinary(), s.invitation.toBinary());
      t.same(readInvitation(c.invitationUrl!, { now: c.now }).toBinary(), s.invitation.toBinary());
    }
  });

  t.test(`${c.name}: the responder fed those bytes produces the same replies`, async (t) => {
    const s = setupCase(c);
    const res = makeResponder(c, s);
    t.same(res.receive(hex(c.messages.clientHello)), { type: 'send' });
    t.equal(toHex(res.next()!), c.messages.serverHello);
    const step = res.receive(hex(c.messages.auth));
    t.equal(step.type, 'consent');
    res.accept(c.consent);
    t.equal(toHex(res.next()!), c.messages.welcome);
    t.same(summarize(res.finish(), 'host'), c.result);
  });
}

const refusals = (JSON.parse(readFileSync(new URL('../../spec/vectors/handshake.json', import.meta.url), 'utf8')) as { refusals: RefusalCase[] }).refusals;

for (const c of refusals) {
  t.test(`${c.name}: the initiator opens the sealed refusal as the host's authenticated word`, async (t) => {
    const s = setupCase(c as unknown as VectorCase);
    t.equal(toHex(s.initiator.next()!), c.messages.clientHello);
    t.same(s.initiator.receive(hex(c.messages.serverHello)), { type: 'send' });
    t.equal(toHex(s.initiator.next()!), c.messages.auth);
    const err = (() => {
      try {
        s.initiator.receive(hex(c.messages.refusal));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    t.ok(err instanceof HandshakeError, 'a HandshakeError');
    t.equal((err as HandshakeError).refusal, c.refusal);
    t.equal((err as HandshakeError).authenticated, c.authenticated);
  });

  t.test(`${c.name}: the responder fed those bytes seals the same refusal`, async (t) => {
    const s = setupCase(c as unknown as VectorCase);
    prepareRefusal(c, s);
    const res = makeResponder(c as unknown as VectorCase, s);
    t.same(res.receive(hex(c.messages.clientHello)), { type: 'send' });
    t.equal(toHex(res.next()!), c.messages.serverHello);
    const err = refusalReply(c, res, res.receive(hex(c.messages.auth)));
    t.equal(err.refusal, c.refusal);
    t.equal(toHex(res.next()!), c.messages.refusal);
    t.equal(res.next(), undefined, 'nothing after the refusal');
  });
}

const aead = (JSON.parse(readFileSync(new URL('../../spec/vectors/handshake.json', import.meta.url), 'utf8')) as { aead: AeadCase[] }).aead;

t.test('transport AEAD vectors cover every cipher id', async (t) => {
  t.same(aead.map((c) => c.cipher), [1, 2, 3]);
});

for (const c of aead) {
  t.test(`aead ${c.name}: frames seal and open as listed (spec/handshake.md §7)`, async (t) => {
    const suite = AEAD_SUITES[c.cipher]!;
    t.equal(suite.name, c.name);
    const key = hex(c.key);
    const sender = new AeadFrameProtector(suite, key, new Uint8Array(32));
    const receiver = new AeadFrameProtector(suite, new Uint8Array(32), key);
    for (const f of c.frames) {
      const counter = BigInt(f.counter);
      t.equal(toHex(aeadNonce(suite, counter)), f.nonce, `frame ${f.counter}: nonce`);
      t.equal(toHex(suite.seal(key, hex(f.nonce), hex(f.body))), f.sealed, `frame ${f.counter}: the suite seals with that nonce`);
      t.equal(hex(f.sealed).byteLength, hex(f.body).byteLength + 16, `frame ${f.counter}: a 16-byte tag`);
      if (counter < 3n) {
        t.equal(toHex(sender.seal(hex(f.body))), f.sealed, `frame ${f.counter}: the protector seals the same bytes`);
        t.equal(toHex(receiver.open(hex(f.sealed))), f.body, `frame ${f.counter}: the protector opens it`);
      } else {
        t.equal(toHex(suite.open(key, hex(f.nonce), hex(f.sealed))!), f.body, `frame ${f.counter}: opens`);
      }
    }
    const first = hex(c.frames[0]!.sealed);
    first[first.byteLength - 1]! ^= 1;
    t.equal(suite.open(key, hex(c.frames[0]!.nonce), first), undefined, 'a changed byte fails to open');
  });
}
