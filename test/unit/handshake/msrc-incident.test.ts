import t from 'tap';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { inspect } from 'node:util';
import { ErrorCode, TesseraError } from '../../../src/core/index.js';
import { InvitationError } from '../../../src/handshake/invitation.js';
import { MAX_MSRC_INCIDENT_CHARS, describeMsRcIncident, parseMsRcIncident, type MsRcIncident } from '../../../src/handshake/msrc-incident.js';
import { decodeMsRcIncidentBytes, readMsRcIncidentFile, MAX_MSRC_INCIDENT_BYTES } from '../../../src/node/msrc-incident-file.js';
import { caught } from '../../helpers/errors.js';

const FIXTURES = new URL('../../fixtures/msrc/', import.meta.url);
const fixture = (name: string) => new URL(name, FIXTURES).pathname;
const TYPE1 = readFileSync(fixture('ms-rai-type1.MsRcIncident'), 'utf8');
const TYPE2 = readFileSync(fixture('ms-rai-type2.MsRcIncident'), 'utf8');
const PASS_STUB_1 = 'o2*5GdBARK_JBB';
const PASS_STUB_2 = 'fg^2IkiL*z3j4U';
const DT_START = 1160080069;

function expectInvalid(fn: () => unknown): InvitationError {
  const err = caught(fn);
  if (!(err instanceof InvitationError)) throw new Error(`expected InvitationError, got ${String(err)}`);
  if (err.code !== ErrorCode.InvalidInvitation) throw new Error(`expected TESSERA_ERR_INVALID_INVITATION, got ${err.code}`);
  return err;
}

t.test('the MS-RAI §6 type 1 sample parses with its fields', async (t) => {
  const inc = parseMsRcIncident(TYPE1);
  t.equal(inc.type, 1);
  t.equal(inc.declaredEncoding, 'Unicode');
  t.equal(inc.username, 'jeff');
  t.equal(inc.ticket.protocolVersion, 65538);
  t.equal(inc.ticket.protocolType, 1);
  t.same(inc.ticket.addresses, [{ host: '192.168.1.65', port: 3389 }, { host: 'jeff_xp', port: 3389 }]);
  t.equal(inc.ticket.sessionId, 'ot9B5Ut8n6FmiIOr2Aa915WwuLcMdtNl5AoXFiA4wLg=', 'the line break inside the wrapped value is dropped');
  t.equal(inc.ticket.protocolSpecificParms, '5nKH3X0Ikre0jjL9SaRlfN10p9o=');
  t.equal(inc.ticket.keyHashBytes, 20, 'KH is a SHA-1 hash');
  t.equal(inc.ticketEncrypted, true);
  t.equal(inc.start.getTime(), DT_START * 1000);
  t.equal(inc.lengthMinutes, 60);
  t.equal(inc.end.getTime(), (DT_START + 60 * 60) * 1000);
  t.equal(inc.lhTicketBytes, undefined);
  t.equal(inc.hasLhTicket, false);
  t.equal(inc.hasPassStub, true);
  t.equal(inc.revealPassStub(), PASS_STUB_1);
  t.equal(inc.modem, false);
  t.same(inc.otherAttributes, []);
});

t.test('the MS-RAI §6 type 2 sample parses with its fields, including "PassStub= " with a space', async (t) => {
  const inc = parseMsRcIncident(TYPE2);
  t.equal(inc.type, 2);
  t.equal(inc.username, 'jeff');
  t.same(inc.ticket.addresses, [{ host: '172.31.244.101', port: 55646 }]);
  t.equal(inc.ticket.sessionId, 'BnrZvG4FglMwHBhZgo7SkJEqD90DrPYPnxtC/lvUcczDCZJacjm0w80gKyzCHTTc');
  t.equal(inc.ticket.protocolSpecificParms, 'VasNb+Ymg1mvJ/AJWSh56qq7pk4=');
  t.equal(inc.hasLhTicket, true);
  const hexDigits = /LHTICKET="([^"]*)"/.exec(TYPE2)![1]!.replace(/\s/g, '').length;
  t.equal(inc.lhTicketBytes, hexDigits / 2);
  t.equal(inc.lhTicketBytes! % 16, 0, 'whole AES blocks');
  t.equal(inc.revealPassStub(), PASS_STUB_2);
  t.equal(inc.ticketEncrypted, true);
  t.equal(inc.lengthMinutes, 60);
});

t.test('attributes with no whitespace between them, no declaration', async (t) => {
  const inc = parseMsRcIncident(readFileSync(fixture('variants/no-space-between-attributes.MsRcIncident'), 'utf8'));
  const sample = parseMsRcIncident(TYPE1);
  t.same(inc.toJSON(), { ...sample.toJSON(), declaredEncoding: undefined });
  t.equal(inc.revealPassStub(), PASS_STUB_1);
});

t.test('CRLF, single quotes, entities, comments, spaces around "=", an IPv6 zone address, unknown attributes', async (t) => {
  const inc = parseMsRcIncident(readFileSync(fixture('variants/crlf-single-quotes-entities.MsRcIncident'), 'utf8'));
  t.equal(inc.username, 'jeff & ann \u263a');
  t.same(inc.ticket.addresses, [{ host: 'fe80::1032:53d9:5a01:909b%3', port: 49228 }, { host: '192.168.1.200', port: 49230 }]);
  t.equal(inc.lengthMinutes, 360);
  t.equal(inc.ticketEncrypted, false, 'absent RCTICKETENCRYPTED means not encrypted');
  t.equal(inc.hasPassStub, false);
  t.equal(inc.modem, true);
  t.same(inc.otherAttributes, ['URA']);
  t.equal(inc.declaredEncoding, 'UTF-8');
});

t.test('UTF-16 files: BOM little- and big-endian, and "Unicode" without a BOM', async (t) => {
  const expected = parseMsRcIncident(TYPE2).toJSON();
  const le = readFileSync(fixture('variants/ms-rai-type2-utf16le-bom.MsRcIncident'));
  const decoded = decodeMsRcIncidentBytes(le);
  t.equal(decoded.encoding, 'utf-16le');
  t.same(parseMsRcIncident(decoded.text).toJSON(), expected);
  t.same(readMsRcIncidentFile(fixture('variants/ms-rai-type2-utf16le-bom.MsRcIncident')).toJSON(), expected);

  const beBody = Buffer.from(TYPE2, 'utf16le').swap16();
  const be = decodeMsRcIncidentBytes(Buffer.concat([Buffer.from([0xfe, 0xff]), beBody]));
  t.equal(be.encoding, 'utf-16be');
  t.same(parseMsRcIncident(be.text).toJSON(), expected);

  const noBom = decodeMsRcIncidentBytes(Buffer.from(TYPE1.trimStart(), 'utf16le'));
  t.equal(noBom.encoding, 'utf-16le', 'zero bytes reveal UTF-16LE without a BOM');
  t.equal(parseMsRcIncident(noBom.text).username, 'jeff');
  const noBomBe = decodeMsRcIncidentBytes(Buffer.from(TYPE1.trimStart(), 'utf16le').swap16());
  t.equal(noBomBe.encoding, 'utf-16be');

  const utf8Bom = decodeMsRcIncidentBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TYPE1)]));
  t.equal(utf8Bom.encoding, 'utf-8');
  t.equal(parseMsRcIncident(utf8Bom.text).type, 1);
});

t.test('bad encodings and oversized files are refused with the invitation code', async (t) => {
  t.match(expectInvalid(() => decodeMsRcIncidentBytes(new Uint8Array([0xff, 0xfe, 0x3c]))).message, /odd number of bytes/);
  t.match(expectInvalid(() => decodeMsRcIncidentBytes(new Uint8Array([0x3c, 0xc3, 0x28]))).message, /not valid utf-8/);
  expectInvalid(() => decodeMsRcIncidentBytes(new Uint8Array(MAX_MSRC_INCIDENT_BYTES + 1)));
  expectInvalid(() => parseMsRcIncident('<'.repeat(MAX_MSRC_INCIDENT_CHARS + 1)));
  const dir = mkdtempSync(join(tmpdir(), 'tessera-msrc-'));
  const big = join(dir, 'big.MsRcIncident');
  writeFileSync(big, Buffer.alloc(MAX_MSRC_INCIDENT_BYTES + 1, 0x20));
  t.match(expectInvalid(() => readMsRcIncidentFile(big)).message, /larger than/);
  t.match(expectInvalid(() => readMsRcIncidentFile(join(dir, 'missing.MsRcIncident'))).message, /cannot read the file \(ENOENT\)/);
});

t.test('every malformed variant gives TESSERA_ERR_INVALID_INVITATION naming the field at fault', async (t) => {
  const expected = JSON.parse(readFileSync(fixture('malformed/expected-fields.json'), 'utf8')) as Record<string, string>;
  const files = readdirSync(new URL('malformed/', FIXTURES)).filter((f) => f.endsWith('.MsRcIncident'));
  t.same(files.sort(), Object.keys(expected).sort(), 'every variant has an expected field');
  for (const file of files) {
    const text = readFileSync(fixture(`malformed/${file}`), 'utf8');
    const err = expectInvalid(() => parseMsRcIncident(text));
    t.equal(err.field, expected[file], `${file}: ${err.message}`);
    t.equal(err.context, 'msrc-incident');
    t.match(err.message, /^invalid remote assistance invitation: [^\n]+[^.\n]$/, `${file}: one sentence, no trailing period`);
    t.notOk(err.message.includes(PASS_STUB_1) || err.message.includes(PASS_STUB_2), `${file}: no PassStub in the message`);
  }
});

t.test('the PassStub never appears in inspect, JSON or the description', async (t) => {
  for (const [text, stub] of [[TYPE1, PASS_STUB_1], [TYPE2, PASS_STUB_2]] as const) {
    const inc = parseMsRcIncident(text);
    const outputs = [inspect(inc, { depth: 10 }), JSON.stringify(inc), describeMsRcIncident(inc, 0), String(Object.keys(inc))];
    for (const out of outputs) t.notOk(out.includes(stub), 'the PassStub is hidden');
    t.match(describeMsRcIncident(inc, 0), /PassStub: +present/);
  }
});

t.test('describeMsRcIncident says whether the invitation has expired', async (t) => {
  const inc: MsRcIncident = parseMsRcIncident(TYPE1);
  const before = describeMsRcIncident(inc, inc.end.getTime() - 1);
  const after = describeMsRcIncident(inc, inc.end.getTime());
  t.match(before, /not expired/);
  t.match(after, /\(expired\)/);
  t.equal(inc.isExpired(inc.end.getTime() - 1), false);
  t.equal(inc.isExpired(inc.end.getTime()), true);
  t.match(before, /type 1/);
  t.match(before, /192\.168\.1\.65:3389, jeff_xp:3389/);
  t.match(before, /2006-10-05T21:27:49Z/);
  t.match(describeMsRcIncident(parseMsRcIncident(TYPE2), 0), /LHTICKET: +880 bytes/);
});

t.test('a wrapped value may break inside the base64 of RCTICKET but not inside other numbers', async (t) => {
  const wrapped = TYPE1.replace('DtLength="60"', 'DtLength="6\n0"');
  t.equal(expectInvalid(() => parseMsRcIncident(wrapped)).field, 'DtLength');
  t.ok(parseMsRcIncident(TYPE1.replace('65538,1,', '655\n38,1,')), 'RCTICKET whitespace is a layout artifact');
  t.type(caught(() => parseMsRcIncident(42 as unknown as string)), TesseraError);
});
