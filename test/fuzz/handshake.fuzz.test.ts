// Seeded mutation fuzzing and fast-check properties for the handshake (ARCHITECTURE.md, "Tests"): every message decoder,
// both state machines, readInvitation (text and url), parsePolicy and parseHelpers. Oracle: the call
// returns, or throws a TesseraError with a known code; nothing else.
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { TesseraError, fromHex, isErrorCode, toHex } from '../../src/core/index.js';
import {
  decodeClientHello, decodeServerHello, decodeSealed, decodeAuthPayload, decodeWelcomePayload, decodeRefusal, encodeAuthPayload, encodeWelcomePayload,
  readInvitation, parsePolicy, parseHelpers, MessageType,
} from '../../src/handshake/index.js';
import { setupCase, makeResponder, type VectorCase } from '../conformance/handshake-vectors.js';
import { Prng, fuzzIterations, fuzzSeed } from '../helpers/prng.js';
import { mutate } from '../helpers/mutate.js';

const SEED = fuzzSeed();
const N = fuzzIterations(3000);
const vectors = JSON.parse(readFileSync(new URL('../../spec/vectors/handshake.json', import.meta.url), 'utf8')) as { cases: VectorCase[] };
const hex = (s: string) => fromHex(s)!;

function oracle(t: Test, fn: () => unknown, what: string, input: Uint8Array | string): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof TesseraError && isErrorCode(err.code)) return true;
    t.fail(`${what} threw a non-tessera error (seed ${SEED}): ${String(err)} for ${typeof input === 'string' ? JSON.stringify(input) : toHex(input)}`);
    return false;
  }
}

t.test(`message decoders (seed ${SEED})`, async (t) => {
  const rng = new Prng(SEED);
  const msgs = vectors.cases.flatMap((c) => Object.values(c.messages).map(hex));
  const payloads = [
    encodeAuthPayload({ kind: 'ticket', mode: 'control', ticketId: new Uint8Array(16), holder: new Uint8Array(32), ticketSig: new Uint8Array(64), holderSig: new Uint8Array(64), passwordSig: new Uint8Array(64) }),
    encodeAuthPayload({ kind: 'offer', mode: 'view', identity: new Uint8Array(32), signature: new Uint8Array(64) }),
    encodeWelcomePayload({ mode: 'control', width: 1920, height: 1080, codecs: { tile: 64, name: 'x', ok: true } }),
    Uint8Array.of(0x7f, 0, 4),
  ];
  const pool = [...msgs, ...payloads];
  const decoders: [string, (b: Uint8Array) => unknown][] = [
    ['clientHello', decodeClientHello], ['serverHello', decodeServerHello], ['auth-sealed', (b) => decodeSealed(b, MessageType.Auth, 'auth')],
    ['authPayload', decodeAuthPayload], ['welcomePayload', decodeWelcomePayload], ['refusal', decodeRefusal],
  ];
  let ok = true;
  for (let i = 0; i < N && ok; i++) {
    const input = mutate(rng, rng.pick(pool), pool);
    for (const [name, d] of decoders) ok = oracle(t, () => d(input), name, input) && ok;
  }
  // The decoders still decode valid input afterwards.
  t.equal(decodeClientHello(hex(vectors.cases[0]!.messages.clientHello)).version, 1);
  t.equal(decodeAuthPayload(payloads[0]!).kind, 'ticket');
  t.ok(ok);
});

t.test(`state machines fed mutated messages (seed ${SEED})`, async (t) => {
  const rng = new Prng(SEED ^ 0x5eed);
  let ok = true;
  for (let i = 0; i < Math.min(N, 300) && ok; i++) {
    const c = rng.pick(vectors.cases);
    const s = setupCase(c);
    const res = makeResponder(c, s);
    const stage = rng.int(4);
    const m = c.messages;
    if (stage === 0) {
      const input = mutate(rng, hex(m.clientHello));
      ok = oracle(t, () => res.receive(input), 'responder clientHello', input);
    } else if (stage === 1) {
      res.receive(hex(m.clientHello));
      const input = mutate(rng, hex(m.auth));
      ok = oracle(t, () => res.receive(input), 'responder auth', input);
    } else if (stage === 2) {
      s.initiator.next();
      const input = mutate(rng, hex(m.serverHello));
      ok = oracle(t, () => s.initiator.receive(input), 'initiator serverHello', input);
    } else {
      s.initiator.next();
      s.initiator.receive(hex(m.serverHello));
      s.initiator.next();
      const input = mutate(rng, hex(m.welcome));
      ok = oracle(t, () => s.initiator.receive(input), 'initiator welcome', input);
    }
  }
  t.ok(ok);
});

t.test(`readInvitation, text and url (seed ${SEED})`, async (t) => {
  const rng = new Prng(SEED ^ 0x1a1a);
  const c = vectors.cases[0]!;
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const pool = [enc.encode(c.invitationText!), enc.encode(c.invitationUrl!)];
  let ok = true;
  for (let i = 0; i < N && ok; i++) {
    const text = dec.decode(mutate(rng, rng.pick(pool), pool));
    ok = oracle(t, () => readInvitation(text, { now: c.now }), 'readInvitation', text);
  }
  // Mutations of the binary form inside a well-formed url.
  const bin = Buffer.from(c.invitationUrl!.split('#')[1]!, 'base64url');
  for (let i = 0; i < N && ok; i++) {
    const url = `tessera://192.0.2.10:3389/#${Buffer.from(mutate(rng, bin)).toString('base64url')}`;
    ok = oracle(t, () => readInvitation(url, { now: c.now }), 'readInvitation url', url);
  }
  fc.assert(fc.property(fc.string({ maxLength: 400 }), (s) => {
    for (const input of [s, `tessera-invitation 1\n${s}`, `tessera://${s}`]) {
      try {
        readInvitation(input, { now: 0 });
      } catch (err) {
        if (!(err instanceof TesseraError && isErrorCode(err.code))) return false;
      }
    }
    return true;
  }), { seed: SEED, numRuns: 1000 });
  t.ok(ok);
});

t.test(`parsePolicy and parseHelpers (seed ${SEED})`, async (t) => {
  const rng = new Prng(SEED ^ 0x9011c7);
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const policy = enc.encode(JSON.stringify({ solicited: { enabled: true, permit: 'view', maxTicketTime: { value: 2, units: 'hours' }, emailMethod: 'attachment' }, offer: { enabled: true, permit: 'control', helpers: ['user:a', 'group:g'] } }));
  const helpers = enc.encode(JSON.stringify({ users: { a: ['00'.repeat(32)], b: ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='] }, groups: { g: ['a', 'b'] } }));
  let ok = true;
  for (let i = 0; i < N && ok; i++) {
    const p = dec.decode(mutate(rng, policy));
    const h = dec.decode(mutate(rng, helpers));
    ok = oracle(t, () => parsePolicy(p), 'parsePolicy', p) && oracle(t, () => parseHelpers(h), 'parseHelpers', h);
  }
  const check = (fn: () => unknown) => {
    try {
      fn();
      return true;
    } catch (err) {
      return err instanceof TesseraError && err.code === 'TESSERA_ERR_INVALID_CONFIG';
    }
  };
  fc.assert(fc.property(fc.jsonValue(), (v) => check(() => parsePolicy(v)) && check(() => parseHelpers(v)) && check(() => parsePolicy(JSON.stringify(v)))), { seed: SEED, numRuns: 1000 });
  const policyArb = fc.record({
    solicited: fc.record({ enabled: fc.boolean(), permit: fc.constantFrom('view', 'control'), maxTicketTime: fc.record({ value: fc.integer({ min: 1, max: 30 }), units: fc.constantFrom('minutes', 'hours', 'days') }), emailMethod: fc.constantFrom('mailto', 'attachment') }, { requiredKeys: [] }),
    offer: fc.record({ enabled: fc.boolean(), permit: fc.constantFrom('view', 'control'), helpers: fc.array(fc.constantFrom('user:a', 'group:b', 'user:c.d')) }, { requiredKeys: [] }),
  }, { requiredKeys: [] });
  fc.assert(fc.property(policyArb, (v) => {
    const p = parsePolicy(v);
    return JSON.stringify(parsePolicy(JSON.parse(JSON.stringify(p)))) === JSON.stringify(p);
  }), { seed: SEED, numRuns: 500 });
  t.ok(ok);
});
