import t from 'tap';
import nacl from 'tweetnacl';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../src/core/index.js';
import { parsePolicy, parseHelpers, allowedHelper, DEFAULT_POLICY, toBase64 } from '../../../src/handshake/index.js';
import { loadPolicy, loadHelpers } from '../../../src/node/index.js';

t.test('defaults: solicited on with control and 6 hours, mailto; offer off', async (t) => {
  t.same(parsePolicy('{}'), DEFAULT_POLICY);
  t.same(DEFAULT_POLICY.solicited, { enabled: true, permit: 'control', maxTicketTime: { value: 6, units: 'hours' }, emailMethod: 'mailto', maxUses: 10 });
  t.equal(DEFAULT_POLICY.offer.enabled, false);
  const p = parsePolicy({ offer: { enabled: true, permit: 'view', helpers: ['user:bob', 'group:support'] }, solicited: { emailMethod: 'attachment' } });
  t.equal(p.offer.permit, 'view');
  t.equal(p.solicited.emailMethod, 'attachment');
  t.equal(p.solicited.permit, 'control');
});

t.test('errors name the field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{ solicited: { maxTicketTime: { value: 1, units: 'weeks' } } }, /^policy: solicited\.maxTicketTime\.units must be minutes, hours or days$/],
    [{ solicited: { maxTicketTime: { value: 0, units: 'hours' } } }, /solicited\.maxTicketTime\.value must be a positive integer/],
    [{ solicited: { maxTicketTime: { value: 31, units: 'days' } } }, /at most 30 days/],
    [{ solicited: { permit: 'admin' } }, /^policy: solicited\.permit must be view or control$/],
    [{ solicited: { enabled: 'yes' } }, /solicited\.enabled must be true or false/],
    [{ solicited: { emailMethod: 'smtp' } }, /emailMethod must be mailto or attachment/],
    [{ offer: { helpers: ['bob'] } }, /offer\.helpers\[0\]/],
    [{ offer: { helpers: 'user:bob' } }, /offer\.helpers must be an array/],
    [{ offer: [] }, /policy: offer must be an object/],
    [{ colour: 1 }, /unknown field "colour"/],
    ['{', /not valid json/],
    [null, /policy must be an object/],
  ];
  for (const [input, re] of cases) {
    const err = t.throws(() => parsePolicy(input)) as Error & { code: string };
    t.equal(err.code, 'TESSERA_ERR_INVALID_CONFIG');
    t.match(err.message, re);
  }
});

t.test('helpers directory: keys in hex or base64, groups of known users, allow-list', async (t) => {
  const alice = nacl.sign.keyPair(), bob = nacl.sign.keyPair(), eve = nacl.sign.keyPair();
  const helpers = parseHelpers(JSON.stringify({ users: { alice: [toHex(alice.publicKey)], bob: [toBase64(bob.publicKey)] }, groups: { support: ['bob'] } }));
  const policy = parsePolicy({ offer: { enabled: true, helpers: ['user:alice', 'group:support'] } });
  t.equal(allowedHelper(policy, helpers, alice.publicKey), 'alice');
  t.equal(allowedHelper(policy, helpers, bob.publicKey), 'bob', 'by group');
  t.equal(allowedHelper(policy, helpers, eve.publicKey), undefined);
  t.equal(allowedHelper(parsePolicy({ offer: { enabled: true, helpers: ['user:alice'] } }), helpers, bob.publicKey), undefined);
  const errs: [unknown, RegExp][] = [
    [{ users: { alice: ['abcd'] } }, /users\.alice\[0\] must be a 32-byte ed25519 public key/],
    [{ users: { alice: [] } }, /users\.alice must be a non-empty array/],
    [{ users: { alice: [toHex(alice.publicKey)] }, groups: { g: ['carol'] } }, /groups\.g\[0\] must name a user listed in users/],
    [{ users: { 'bad name': [toHex(alice.publicKey)] } }, /invalid user name/],
    [{ people: {} }, /unknown field "people"/],
  ];
  for (const [input, re] of errs) {
    const err = t.throws(() => parseHelpers(input)) as Error & { code: string };
    t.equal(err.code, 'TESSERA_ERR_INVALID_CONFIG');
    t.match(err.message, re);
  }
});

t.test('loadPolicy and loadHelpers read files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-policy-'));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ solicited: { permit: 'view' } }));
  writeFileSync(join(dir, 'helpers.json'), JSON.stringify({ users: {}, groups: {} }));
  t.equal(loadPolicy(join(dir, 'policy.json')).solicited.permit, 'view');
  t.equal(loadHelpers(join(dir, 'helpers.json')).users.size, 0);
  t.throws(() => loadPolicy(join(dir, 'missing.json')), { code: 'TESSERA_ERR_INVALID_CONFIG' });
});
