/**
 * The pure-TypeScript scrypt and its primitives against published vectors (FIPS 180-2 / RFC 6234 for SHA-256,
 * RFC 7914 §11 for PBKDF2-HMAC-SHA-256, RFC 7914 §12 for scrypt) and against node:crypto on random inputs.
 */
import t from 'tap';
import fc from 'fast-check';
import { createHash, createHmac, pbkdf2Sync, scryptSync } from 'node:crypto';
import {
  PASSWORD_SCRYPT_PARAMS,
  SCRYPT_LIMITS,
  checkScryptParams,
  hmacSha256,
  passwordKeyAsync,
  pbkdf2HmacSha256,
  pureScryptKdf,
  scrypt,
  scryptAsync,
  sha256,
  type ScryptParams,
} from '../../../src/handshake/scrypt.js';
import { SCRYPT_PARAMS, scryptKdf } from '../../../src/node/crypto.js';
import { ConfigError, ErrorCode } from '../../../src/core/index.js';

/** fast-check seed; set FC_SEED to replay a failure (fast-check prints the seed and path when a property fails). */
const SEED = Number(process.env.FC_SEED ?? 7914);
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Vectors are written as in the RFCs: hex bytes separated by spaces and line breaks. */
const unspace = (s: string): string => s.replace(/\s+/g, '');

t.test('SHA-256 matches the FIPS 180-2 / RFC 6234 vectors', async (t) => {
  t.equal(hex(sha256(ascii('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', '"abc"');
  t.equal(hex(sha256(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1', 'the 448-bit message');
  t.equal(hex(sha256(new Uint8Array(1_000_000).fill(0x61))), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0', "a million 'a'");
  t.equal(hex(sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'the empty message');
});

t.test('PBKDF2-HMAC-SHA-256 matches the RFC 7914 §11 vectors', async (t) => {
  t.equal(
    hex(pbkdf2HmacSha256('passwd', ascii('salt'), 1, 64)),
    unspace(`55 ac 04 6e 56 e3 08 9f ec 16 91 c2 25 44 b6 05 f9 41 85 21 6d de 04 65 e6 8b 9d 57 c2 0d ac bc
             49 ca 9c cc f1 79 b6 45 99 16 64 b3 9d 77 ef 31 7c 71 b8 45 b1 e3 0b d5 09 11 20 41 d3 a1 97 83`),
    'P = "passwd", S = "salt", c = 1',
  );
  t.equal(
    hex(pbkdf2HmacSha256('Password', ascii('NaCl'), 80000, 64)),
    unspace(`4d dc d8 f6 0b 98 be 21 83 0c ee 5e f2 27 01 f9 64 1a 44 18 d0 4c 04 14 ae ff 08 87 6b 34 ab 56
             a1 d4 25 a1 22 58 33 54 9a db 84 1b 51 c9 b3 17 6a 27 2b de bb a1 d0 78 47 8f 62 b3 97 f3 3c 8d`),
    'P = "Password", S = "NaCl", c = 80000',
  );
});

t.test('scrypt matches the RFC 7914 §12 vectors', async (t) => {
  t.equal(
    hex(scrypt('', new Uint8Array(0), { N: 16, r: 1, p: 1, keyBytes: 64 })),
    unspace(`77 d6 57 62 38 65 7b 20 3b 19 ca 42 c1 8a 04 97 f1 6b 48 44 e3 07 4a e8 df df fa 3f ed e2 14 42
             fc d0 06 9d ed 09 48 f8 32 6a 75 3a 0f c8 1f 17 e8 d3 e0 fb 2e 0d 36 28 cf 35 e2 0c 38 d1 89 06`),
    'P = "", S = "", N = 16, r = 1, p = 1',
  );
  t.equal(
    hex(scrypt('password', ascii('NaCl'), { N: 1024, r: 8, p: 16, keyBytes: 64 })),
    unspace(`fd ba be 1c 9d 34 72 00 78 56 e7 19 0d 01 e9 fe 7c 6a d7 cb c8 23 78 30 e7 73 76 63 4b 37 31 62
             2e af 30 d9 2e 22 a3 88 6f f1 09 27 9d 98 30 da c7 27 af b9 4a 83 ee 6d 83 60 cb df a2 cc 06 40`),
    'P = "password", S = "NaCl", N = 1024, r = 8, p = 16',
  );
  t.equal(
    hex(scrypt('pleaseletmein', ascii('SodiumChloride'), { N: 16384, r: 8, p: 1, keyBytes: 64 })),
    unspace(`70 23 bd cb 3a fd 73 48 46 1c 06 cd 81 fd 38 eb fd a8 fb ba 90 4f 8e 3e a9 b5 43 f6 54 5d a1 f2
             d5 43 29 55 61 3f 0f cf 62 d4 97 05 24 2a 9a f9 e6 1e 85 dc 0d 65 1e 40 df cf 01 7b 45 57 58 87`),
    'P = "pleaseletmein", S = "SodiumChloride", N = 16384, r = 8, p = 1',
  );
  // The fourth vector (N = 2^20, r = 8) needs 1 GiB of scratch, above SCRYPT_LIMITS.maxMemoryBytes: it is refused up front.
  const err = t.throws(() => scrypt('pleaseletmein', ascii('SodiumChloride'), { N: 1 << 20, r: 8, p: 1, keyBytes: 64 })) as ConfigError;
  t.equal(err.code, ErrorCode.InvalidConfig, 'the 1 GiB vector is refused before allocating');
});

t.test('SHA-256, HMAC-SHA-256 and PBKDF2 equal node:crypto on random inputs', async (t) => {
  const bytes = (max: number) => fc.uint8Array({ maxLength: max });
  fc.assert(
    fc.property(bytes(300), (data) => hex(sha256(data)) === createHash('sha256').update(data).digest('hex')),
    { seed: SEED, numRuns: 300 },
  );
  fc.assert(
    fc.property(bytes(150), bytes(200), (key, data) => hex(hmacSha256(key, data)) === createHmac('sha256', key).update(data).digest('hex')),
    { seed: SEED, numRuns: 300 },
  );
  fc.assert(
    fc.property(bytes(100), bytes(80), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 200 }), (password, salt, c, keyBytes) =>
      hex(pbkdf2HmacSha256(password, salt, c, keyBytes)) === pbkdf2Sync(password, salt, c, keyBytes, 'sha256').toString('hex'),
    ),
    { seed: SEED, numRuns: 200 },
  );
  t.pass('300 + 300 + 200 random inputs agree');
});

t.test('scrypt equals node:crypto scryptSync on random inputs at small N', async (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 100 }),
      fc.uint8Array({ maxLength: 100 }),
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 130 }),
      (password, salt, log2N, r, p, keyBytes) => {
        const N = 1 << log2N;
        return hex(scrypt(password, salt, { N, r, p, keyBytes })) === scryptSync(password, salt, keyBytes, { N, r, p }).toString('hex');
      },
    ),
    { seed: SEED, numRuns: 200 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 24 }), fc.uint8Array({ maxLength: 32 }), (password, salt) => {
      // String passwords are UTF-8, unpaired surrogates as U+FFFD, exactly as Node encodes them.
      const params = { N: 4, r: 2, p: 1, keyBytes: 32 };
      return hex(scrypt(password, salt, params)) === scryptSync(password, salt, 32, { N: 4, r: 2, p: 1 }).toString('hex');
    }),
    { seed: SEED, numRuns: 200 },
  );
  t.pass('400 random derivations agree');
});

t.test('the password KDF equals src/node scryptKdf, NFC-normalised, sync and async', async (t) => {
  t.same(PASSWORD_SCRYPT_PARAMS, SCRYPT_PARAMS, 'the same parameters as the Node KDF');
  const salt = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
  const composed = 'caf\u00e9 \u{1F511}';
  const decomposed = 'cafe\u0301 \u{1F511}';
  const want = hex(scryptKdf(composed, salt));
  t.equal(hex(pureScryptKdf(composed, salt)), want, 'pureScryptKdf equals scryptKdf');
  t.equal(hex(pureScryptKdf(decomposed, salt)), want, 'a decomposed password derives the same key');
  let pauses = 0;
  const key = await passwordKeyAsync(decomposed, salt, { sliceSteps: 4096, pause: async () => void pauses++ });
  t.equal(hex(key), want, 'passwordKeyAsync equals scryptKdf');
  // 2N BlockMix steps in slices of 4096: 8 slices, a pause between each.
  t.equal(pauses, (2 * PASSWORD_SCRYPT_PARAMS.N) / 4096 - 1, 'it pauses between slices');
  t.not(hex(pureScryptKdf('cafe', salt)), want, 'another password derives another key');
});

t.test('scryptAsync stops with AbortError when its signal aborts', async (t) => {
  const ac = new AbortController();
  let pauses = 0;
  const params: ScryptParams = { N: 1024, r: 1, p: 2, keyBytes: 32 };
  const run = scryptAsync('pw', ascii('salt'), params, {
    sliceSteps: 64,
    signal: ac.signal,
    pause: async () => {
      if (++pauses === 3) ac.abort(new Error('stop'));
    },
  });
  await t.rejects(run, { name: 'AbortError', code: 'ABORT_ERR' });
  t.equal(pauses, 3, 'no slice runs after the abort');
  await t.rejects(scryptAsync('pw', ascii('salt'), params, { signal: AbortSignal.abort() }), { code: 'ABORT_ERR' }, 'an aborted signal stops it before any work');
  t.equal(hex(await scryptAsync('pw', ascii('salt'), params, { sliceSteps: 100 })), hex(scrypt('pw', ascii('salt'), params)), 'uneven slices give the same key');
});

t.test('parameters out of bounds are refused with TESSERA_ERR_INVALID_CONFIG before any work', async (t) => {
  const ok: ScryptParams = { N: 16, r: 1, p: 1, keyBytes: 32 };
  const bad: Array<[Partial<ScryptParams>, string, string]> = [
    [{ N: 0 }, 'N', 'N = 0'],
    [{ N: 1 }, 'N', 'N = 1'],
    [{ N: 3 }, 'N', 'N not a power of two'],
    [{ N: 1000 }, 'N', 'N = 1000'],
    [{ N: 16.5 }, 'N', 'N not an integer'],
    [{ N: SCRYPT_LIMITS.maxN * 2 }, 'N', 'N = 2^21'],
    [{ N: SCRYPT_LIMITS.maxN, r: 8 }, 'N', 'N = 2^20 with r = 8 (1 GiB)'],
    [{ r: 0 }, 'r', 'r = 0'],
    [{ p: 0 }, 'p', 'p = 0'],
    [{ r: 1.5 }, 'r', 'r not an integer'],
    [{ r: 64, p: 32 }, 'p', 'r * p = 2048'],
    [{ keyBytes: 0 }, 'keyBytes', 'empty output'],
    [{ keyBytes: SCRYPT_LIMITS.maxKeyBytes + 1 }, 'keyBytes', 'output over 1024 bytes'],
    [{ N: Number.NaN }, 'N', 'N = NaN'],
  ];
  for (const [change, field, what] of bad) {
    const params = { ...ok, ...change };
    t.throws(() => checkScryptParams(params), { code: ErrorCode.InvalidConfig, field }, what);
    t.throws(() => scrypt('pw', ascii('salt'), params), ConfigError, `${what}: scrypt refuses`);
    await t.rejects(scryptAsync('pw', ascii('salt'), params), { code: ErrorCode.InvalidConfig, field }, `${what}: scryptAsync refuses`);
  }
  t.throws(() => pbkdf2HmacSha256('pw', ascii('salt'), 0, 32), { code: ErrorCode.InvalidConfig, field: 'iterations' });
  t.throws(() => pbkdf2HmacSha256('pw', ascii('salt'), SCRYPT_LIMITS.maxIterations + 1, 32), { code: ErrorCode.InvalidConfig, field: 'iterations' });
  t.throws(() => pbkdf2HmacSha256('pw', ascii('salt'), 1, 1025), { code: ErrorCode.InvalidConfig, field: 'keyBytes' });
  await t.rejects(scryptAsync('pw', ascii('salt'), ok, { sliceSteps: 0 }), { code: ErrorCode.InvalidConfig, field: 'sliceSteps' });
  t.equal(scrypt('pw', ascii('salt'), { ...ok, keyBytes: SCRYPT_LIMITS.maxKeyBytes }).byteLength, 1024, 'a 1024-byte key is allowed');
});

t.test('error messages carry no password', async (t) => {
  try {
    scrypt('correct horse', ascii('salt'), { N: 3, r: 1, p: 1, keyBytes: 32 });
    t.fail('should throw');
  } catch (err) {
    t.notMatch(String((err as Error).message), /horse/);
    t.notMatch(JSON.stringify(err), /horse/);
  }
});
