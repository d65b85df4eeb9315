import t from 'tap';
import { inspect } from 'node:util';
import { randomBytes } from 'node:crypto';
import { toHex } from '../../../src/core/index.js';
import { createInvitation, readInvitation, describeInvitation, decodeInvitationBinary, parseAddress, parsePolicy, dhKeyPair, toBase64, toBase64Url, Invitation } from '../../../src/handshake/index.js';
import { scryptKdf } from '../../../src/node/crypto.js';

const NOW = 1_800_000_000_000;
const random = (n: number) => new Uint8Array(randomBytes(n));
const host = dhKeyPair(random(32));

function make(extra: Partial<Parameters<typeof createInvitation>[0]> = {}) {
  return createInvitation({ hostKey: host.publicKey, addresses: ['192.0.2.7', 'host.example:4000', '[2001:db8::1]:5000'], expires: { value: 2, units: 'hours' }, name: "Alice's PC", now: () => NOW + 123, random, ...extra });
}

function secretForms(inv: Invitation): string[] {
  const s = inv.secret;
  return [toHex(s), toBase64(s), toBase64Url(s), Buffer.from(s).toString('latin1')];
}

t.test('text and url forms round-trip to the same invitation', async (t) => {
  const { invitation, ticket } = make({ password: 'pw', kdf: scryptKdf });
  t.equal(invitation.createdMs % 1000, 0, 'whole seconds');
  t.equal(invitation.expiresMs - invitation.createdMs, 2 * 3600_000);
  t.same(invitation.addresses, [{ host: '192.0.2.7', port: 3389 }, { host: 'host.example', port: 4000 }, { host: '2001:db8::1', port: 5000 }]);
  const text = invitation.toText();
  t.match(text, /^tessera-invitation 1\n/);
  const url = invitation.toUrl();
  t.match(url, /^tessera:\/\/192\.0\.2\.7:3389\/#[A-Za-z0-9_-]+$/);
  t.ok(url.length < 300, `url is short enough for mailto (${url.length} chars)`);
  for (const form of [text, url, text.replace(/\n/g, '\r\n'), `  ${url}\n`]) {
    const back = readInvitation(form, { now: NOW });
    t.same(back.toBinary(), invitation.toBinary());
    t.same(back.secret, invitation.secret);
    t.equal(back.passwordRequired, true);
  }
  t.equal(ticket.id, invitation.ticketIdHex);
  t.equal(ticket.passwordVerifier?.byteLength, 32);
  t.notOk(JSON.stringify({ ...ticket, verifier: toHex(ticket.verifier) }).includes(toHex(invitation.secret)), 'ticket holds no secret');
});

t.test('summary, inspect and toJSON never show the secret', async (t) => {
  const { invitation } = make();
  const outputs = [describeInvitation(invitation), inspect(invitation), JSON.stringify(invitation), inspect(invitation, { depth: 10, showHidden: true })];
  for (const out of outputs) for (const s of secretForms(invitation)) t.notOk(out.includes(s), 'no secret form in output');
  t.match(describeInvitation(invitation), /Alice's PC/);
  t.match(describeInvitation(invitation), /expires:\s+\d{4}-/);
});

t.test('policy caps lifetime and mode; disabled solicited help refuses', async (t) => {
  const policy = parsePolicy({ solicited: { permit: 'view', maxTicketTime: { value: 30, units: 'minutes' } } });
  const { invitation, capped } = make({ policy, expires: { value: 3, units: 'days' }, mode: 'control' });
  t.equal(invitation.expiresMs - invitation.createdMs, 30 * 60_000);
  t.equal(invitation.mode, 'view');
  t.equal(capped, true);
  t.throws(() => make({ policy: parsePolicy({ solicited: { enabled: false } }) }), { code: 'TESSERA_ERR_INVALID_CONFIG' });
  t.throws(() => make({ expires: { value: 2, units: 'weeks' as 'days' } }), { code: 'TESSERA_ERR_INVALID_CONFIG' });
  t.throws(() => make({ password: 'x' }), { code: 'TESSERA_ERR_INVALID_CONFIG' }, 'password without kdf');
  t.throws(() => make({ addresses: ['bad host!'] }), { code: 'TESSERA_ERR_INVALID_CONFIG' });
});

t.test('expired invitations are refused with the expiry in the message', async (t) => {
  const { invitation } = make();
  const err = t.throws(() => readInvitation(invitation.toUrl(), { now: invitation.expiresMs })) as Error & { code: string };
  t.equal(err.code, 'TESSERA_ERR_INVITATION_EXPIRED');
  t.match(err.message, new Date(invitation.expiresMs).toISOString().slice(0, 19));
  t.ok(readInvitation(invitation.toText(), { now: () => invitation.expiresMs - 1 }));
});

t.test('unsupported versions and malformed input give clear codes and never echo secrets', async (t) => {
  const { invitation } = make();
  const text = invitation.toText();
  t.throws(() => readInvitation(text.replace('tessera-invitation 1', 'tessera-invitation 2'), { now: NOW }), { code: 'TESSERA_ERR_UNSUPPORTED_VERSION' });
  const bin = invitation.toBinary();
  bin[0] = 9;
  t.throws(() => readInvitation(`tessera://192.0.2.7:3389/#${toBase64Url(bin)}`, { now: NOW }), { code: 'TESSERA_ERR_UNSUPPORTED_VERSION' });
  const bad = [
    '',
    'hello',
    text.replace(/^mode: control$/m, 'mode: admin'),
    text.replace(/^ticket: .*$/m, 'ticket: 00'),
    text.replace(/^name: .*$/m, 'colour: blue'),
    text + 'mode: view\n',
    text.replace(/^secret: .*$/m, 'secret: !!!'),
    text.replace(/^address: .*$/m, 'address: 1.2.3.4:70000'),
    text.replace(/^created: .*$/m, 'created: 2030-02-30T00:00:00Z'),
    text.replace(/^expires: .*$/m, `expires: ${new Date(invitation.createdMs).toISOString().replace(/\.\d+Z/, 'Z')}`),
    invitation.toUrl().replace('192.0.2.7:3389', '192.0.2.8:3389'),
    invitation.toUrl() + 'A',
    invitation.toUrl().slice(0, -5),
    'tessera://x/#',
    text.replace(/^password: none$/m, 'password: required abc'),
  ];
  for (const input of bad) {
    const err = t.throws(() => readInvitation(input, { now: NOW })) as Error & { code: string };
    t.equal(err.code, 'TESSERA_ERR_INVALID_INVITATION', JSON.stringify(input.slice(0, 30)));
    for (const s of secretForms(invitation)) t.notOk(err.message.includes(s));
    t.notOk(err.message.includes(invitation.ticketIdHex), 'no ticket id in messages');
  }
});

t.test('binary decoder and address parser', async (t) => {
  const { invitation } = make();
  t.same(decodeInvitationBinary(invitation.toBinary()).toBinary(), invitation.toBinary());
  t.same(parseAddress('example.org'), { host: 'example.org', port: 3389 });
  t.same(parseAddress('[::1]'), { host: '::1', port: 3389 });
  for (const a of ['', ':80', 'a b', '[zz]:1', 'h:0', 'h:65536', 'h:']) t.throws(() => parseAddress(a), { code: 'TESSERA_ERR_INVALID_INVITATION' }, a);
});
