import t from 'tap';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../src/core/index.js';
import { readInvitation } from '../../src/handshake/index.js';
import { setupCase, makeResponder, summarize, type VectorCase } from './handshake-vectors.js';

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
