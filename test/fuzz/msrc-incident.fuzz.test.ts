// Seeded, bounded fuzzing of the .MsRcIncident reader (ARCHITECTURE.md, "Tests"): byte mutations through the decoder and the
// parser, token-level mutations of the text, and a fast-check property over generated valid files.
// Oracle: the call returns, or throws an InvitationError with TESSERA_ERR_INVALID_INVITATION; nothing else.
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { ErrorCode, TesseraError } from '../../src/core/index.js';
import { InvitationError } from '../../src/handshake/invitation.js';
import { describeMsRcIncident, parseMsRcIncident } from '../../src/handshake/msrc-incident.js';
import { decodeMsRcIncidentBytes } from '../../src/node/msrc-incident-file.js';
import { Prng, fuzzIterations, fuzzSeed } from '../helpers/prng.js';
import { mutate } from '../helpers/mutate.js';

const SEED = fuzzSeed();
const N = fuzzIterations(3000);
const DIR = new URL('../fixtures/msrc/', import.meta.url);
// Plain Uint8Array copies: Buffer#slice returns a view, and the mutator relies on slice() copying.
const load = (name: string) => new Uint8Array(readFileSync(new URL(name, DIR)));
const seeds: Uint8Array[] = [
  load('ms-rai-type1.MsRcIncident'),
  load('ms-rai-type2.MsRcIncident'),
  ...readdirSync(new URL('variants/', DIR)).map((f) => load(`variants/${f}`)),
  ...readdirSync(new URL('malformed/', DIR)).filter((f) => f.endsWith('.MsRcIncident')).map((f) => load(`malformed/${f}`)),
];
const texts = seeds.map((b) => {
  try {
    return decodeMsRcIncidentBytes(b).text;
  } catch {
    return '';
  }
});
// Pieces of the format's own syntax, spliced in at random places.
const TOKENS = ['<', '>', '/>', '</', '"', "'", '=', ' ', '\n', '&', '&amp;', '&#0;', '&#x110000;', '&lt', '<!--', '-->', '<?xml', '?>', '<!DOCTYPE', 'UPLOADDATA', 'UPLOADINFO',
  'RCTICKET="', 'LHTICKET="', ',', ';', ':', '*', '65538', '=', '\uFEFF', '\uD800', 'DtLength="', '99999999999', '[', ']', '%'];

function oracle(t: Test, fn: () => unknown, what: string, input: Uint8Array | string): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof InvitationError && err.code === ErrorCode.InvalidInvitation) return true;
    const shown = typeof input === 'string' ? JSON.stringify(input.slice(0, 400)) : Buffer.from(input.subarray(0, 400)).toString('hex');
    t.fail(`${what} threw ${err instanceof TesseraError ? err.code : 'a non-tessera error'} (seed ${SEED}): ${String(err)} for ${shown}`);
    return false;
  }
}

t.test(`byte mutations through decode and parse (seed ${SEED})`, async (t) => {
  const rng = new Prng(SEED);
  let ok = true;
  let parsed = 0;
  for (let i = 0; i < N && ok; i++) {
    const input = mutate(rng, rng.pick(seeds), seeds);
    ok = oracle(t, () => {
      const inc = parseMsRcIncident(decodeMsRcIncidentBytes(input).text);
      describeMsRcIncident(inc, 0);
      parsed++;
    }, 'decode+parse', input);
  }
  t.ok(ok, `${N} mutated files; ${parsed} still parsed`);
  t.equal(parseMsRcIncident(texts[0]!).type, 1, 'the parser still reads a valid file afterwards');
});

t.test(`token mutations of the text (seed ${SEED})`, async (t) => {
  const rng = new Prng(SEED ^ 0x4d5352);
  let ok = true;
  for (let i = 0; i < N && ok; i++) {
    let text = rng.pick(texts);
    const rounds = rng.range(1, 4);
    for (let r = 0; r < rounds; r++) {
      const at = rng.int(text.length + 1);
      const op = rng.int(4);
      if (op === 0) text = text.slice(0, at) + rng.pick(TOKENS) + text.slice(at);
      else if (op === 1) text = text.slice(0, at) + text.slice(at + rng.range(1, 12));
      else if (op === 2) text = text.slice(0, at);
      else text = text.slice(0, at) + rng.pick(TOKENS).repeat(rng.range(1, 2000)) + text.slice(at);
    }
    ok = oracle(t, () => describeMsRcIncident(parseMsRcIncident(text), 0), 'parse', text);
  }
  t.ok(ok, `${N} token-mutated files`);
});

t.test('generated valid files parse back to their fields (fast-check)', async (t) => {
  const host = fc.oneof(fc.ipV4(), fc.domain().filter((d) => d.length <= 253));
  const b64 = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b).toString('base64'));
  fc.assert(
    fc.property(
      fc.array(fc.record({ host, port: fc.integer({ min: 1, max: 65535 }) }), { minLength: 1, maxLength: 8 }),
      b64(1, 48),
      b64(1, 32),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 1, max: 525_600 }),
      fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
      fc.boolean(),
      fc.constantFrom('\n', ' ', '', '\r\n   '),
      (addresses, sessionId, kh, start, length, blocks, encrypted, sep) => {
        const rc = `65538,1,${addresses.map((a) => `${a.host}:${a.port}`).join(';')},*,${sessionId},*,*,${kh}`;
        const wrapped = rc.replace(/(.{40})/g, `$1${sep === '' ? '\n' : sep}`);
        const lh = blocks === undefined ? '' : ` LHTICKET="${'0A'.repeat(blocks * 16).replace(/(.{60})/g, '$1\n')}"`;
        const text = `<?xml version="1.0" encoding="Unicode" ?>${sep}<UPLOADINFO TYPE="Escalated">${sep}<UPLOADDATA USERNAME="u"${lh} RCTICKET="${wrapped}"${sep}RCTICKETENCRYPTED="${encrypted ? 1 : 0}" DtStart="${start}" DtLength="${length}" PassStub="x" L="0"/>${sep}</UPLOADINFO>`;
        const inc = parseMsRcIncident(text);
        return (
          inc.type === (blocks === undefined ? 1 : 2) &&
          inc.ticket.addresses.length === addresses.length &&
          inc.ticket.addresses.every((a, i) => a.host === addresses[i]!.host && a.port === addresses[i]!.port) &&
          inc.ticket.sessionId === sessionId &&
          inc.ticket.protocolSpecificParms === kh &&
          inc.start.getTime() === start * 1000 &&
          inc.end.getTime() === (start + length * 60) * 1000 &&
          inc.ticketEncrypted === encrypted &&
          inc.lhTicketBytes === (blocks === undefined ? undefined : blocks * 16)
        );
      },
    ),
    { seed: SEED | 0, numRuns: 300 },
  );
  t.pass(`300 generated files (seed ${SEED | 0})`);
});
