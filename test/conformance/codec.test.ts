/**
 * Replays spec/vectors/codec.json (spec/codec.md): each update decodes in order with both inflaters, and the
 * picture after it has the recorded SHA-256 (lossy updates: the right size).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { FflateInflateBackend, TileDecoder, type InflateBackend } from '../../src/codec/index.js';
import { fromHex } from '../../src/core/index.js';
import { ZlibInflateBackend } from '../../src/node/zlib-backend.js';
import { SharpImageCodec } from '../../src/node/sharp-image-codec.js';
import { repoRoot } from '../helpers/codec-corpus.js';
import type { CodecVector } from '../helpers/codec-vectors.js';

const { vectors } = JSON.parse(readFileSync(path.join(repoRoot, 'spec/vectors/codec.json'), 'utf8')) as { vectors: CodecVector[] };

t.test('vectors use every encoding', async (t) => {
  const total: Record<string, number> = {};
  for (const v of vectors) for (const u of v.updates) for (const [k, n] of Object.entries(u.stats)) total[k] = (total[k] ?? 0) + n;
  for (const k of ['solid', 'palette', 'indexed', 'pixels', 'prev', 'cache', 'copies', 'lossy', 'refresh']) t.ok(total[k]! > 0, `${k}: ${total[k]}`);
});

t.test('vectors pin the shortest-varint rule and the seq wrap', async (t) => {
  const byName = new Map(vectors.map((v) => [v.name, v]));
  t.equal(byName.get('reject-non-shortest-varint')?.updates[0]?.error, 'TESSERA_ERR_INVALID_FIELD');
  t.equal(byName.get('reject-seq-skip')?.updates[1]?.error, 'TESSERA_ERR_INVALID_FIELD');
  t.same(byName.get('seq-wrap')?.updates.map((u) => u.hex.slice(4, 12)), ['ffffffff', '00000000', '00000001']);
});

for (const v of vectors) {
  for (const [name, make] of [['fflate', () => new FflateInflateBackend()], ['zlib', () => new ZlibInflateBackend()]] as Array<[string, () => InflateBackend]>) {
    t.test(`${v.name} decodes (${name} inflater)`, async (t) => {
      const dec = new TileDecoder({ maxWidth: v.width, maxHeight: v.height, inflate: make(), imageCodec: new SharpImageCodec() });
      for (const [i, u] of v.updates.entries()) {
        if (u.error !== undefined) {
          await t.rejects(dec.decodeAsync(fromHex(u.hex)!), { code: u.error }, `update ${i} is rejected with ${u.error}`);
          continue;
        }
        const r = await dec.decodeAsync(fromHex(u.hex)!);
        t.equal(r.keyFrame, u.keyFrame, `update ${i} key flag`);
        t.equal(r.framebuffer.data.length, v.width * v.height * 4, `update ${i} size`);
        if (u.sha256 !== null) t.equal(createHash('sha256').update(r.framebuffer.data).digest('hex'), u.sha256, `update ${i} picture`);
      }
    });
  }
}
