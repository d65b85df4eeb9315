import t from 'tap';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { fromHex, toHex } from '../../../src/core/index.js';
import { fromBase64, hkdf, hmacSha512, toBase64, toBase64Url, utf8, dh, dhKeyPair } from '../../../src/handshake/crypto.js';

const hex = (s: string) => fromHex(s)!;

t.test('hmac-sha-512 matches RFC 4231', async (t) => {
  // RFC 4231 §4.2 and §4.3, HMAC-SHA-512 outputs.
  t.equal(toHex(hmacSha512(new Uint8Array(20).fill(0x0b), utf8('Hi There'))),
    '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854');
  t.equal(toHex(hmacSha512(utf8('Jefe'), utf8('what do ya want for nothing?'))),
    '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737');
  // Test cases 3, 4, 6 and 7 (long keys hashed first), cross-checked with node:crypto.
  const cases: [Uint8Array, Uint8Array][] = [
    [new Uint8Array(20).fill(0xaa), new Uint8Array(50).fill(0xdd)],
    [hex('0102030405060708090a0b0c0d0e0f10111213141516171819'), new Uint8Array(50).fill(0xcd)],
    [new Uint8Array(131).fill(0xaa), utf8('Test Using Larger Than Block-Size Key - Hash Key First')],
    [new Uint8Array(131).fill(0xaa), utf8('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.')],
  ];
  for (const [k, d] of cases) t.equal(toHex(hmacSha512(k, d)), createHmac('sha512', k).update(d).digest('hex'));
  t.equal(toHex(hmacSha512(utf8('k'), utf8('ab'), utf8('cd'))), toHex(hmacSha512(utf8('k'), utf8('abcd'))), 'data parts are concatenated');
});

t.test('hkdf-sha-512 matches the known vector for RFC 5869 case 1 inputs and node:crypto', async (t) => {
  const okm = hkdf(hex('000102030405060708090a0b0c'), new Uint8Array(22).fill(0x0b), hex('f0f1f2f3f4f5f6f7f8f9'), 42);
  t.equal(toHex(okm), '832390086cda71fb47625bb5ceb168e4c8e26a1a16ed34d9fc7fe92c1481579338da362cb8d9f925d7cb');
  for (let i = 0; i < 20; i++) {
    const salt = randomBytes(i * 7 % 90), ikm = randomBytes(1 + i * 13), info = randomBytes(i * 3), len = 1 + i * 37;
    t.equal(toHex(hkdf(salt, ikm, info, len)), Buffer.from(hkdfSync('sha512', ikm, salt, info, len)).toString('hex'), `random case ${i}`);
  }
  t.throws(() => hkdf(new Uint8Array(0), new Uint8Array(1), new Uint8Array(0), 255 * 64 + 1));
});

t.test('base64 and base64url round-trip and reject non-canonical input', async (t) => {
  for (let n = 0; n < 40; n++) {
    const b = new Uint8Array(randomBytes(n));
    t.same(fromBase64(toBase64(b)), b);
    t.same(fromBase64(toBase64Url(b)), b);
    t.equal(toBase64(b), Buffer.from(b).toString('base64'));
    t.equal(toBase64Url(b), Buffer.from(b).toString('base64url'));
  }
  t.same(fromBase64('QQ'), Uint8Array.of(0x41), 'unpadded input');
  t.equal(fromBase64('QR'), undefined, 'non-zero trailing bits');
  t.equal(fromBase64('Q'), undefined);
  t.equal(fromBase64('a-b+'), undefined, 'mixed alphabets');
  t.equal(fromBase64('QQ=A'), undefined);
  t.equal(fromBase64('**'), undefined);
});

t.test('x25519 rejects low-order peer keys', async (t) => {
  const kp = dhKeyPair(new Uint8Array(randomBytes(32)));
  t.throws(() => dh(kp.secretKey, new Uint8Array(32), 'test'), { code: 'TESSERA_ERR_INVALID_FIELD' });
  const other = dhKeyPair(new Uint8Array(randomBytes(32)));
  t.same(dh(kp.secretKey, other.publicKey, 'x'), dh(other.secretKey, kp.publicKey, 'x'));
});
