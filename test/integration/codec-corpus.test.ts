import t from 'tap';
import { corpusSequences, defaultCorpusDir, loadSequence } from '../helpers/codec-corpus.js';
import { firstDiff, makePair } from '../helpers/codec-harness.js';

const sequences = corpusSequences();

if (sequences.length === 0) {
  t.test('corpus round trips', { skip: `screen corpus not found at ${defaultCorpusDir}; generated screens in roundtrip.test.ts and copy-cache.test.ts still cover the codec` }, async () => {});
} else {
  for (const seq of sequences) {
    t.test(`corpus ${seq}: lossless round trip, frame by frame`, async (t) => {
      let enc: ReturnType<typeof makePair>['enc'] | undefined;
      let dec: ReturnType<typeof makePair>['dec'] | undefined;
      let frames = 0, bytes = 0, copies = 0, deltaBytes = 0, mismatches = 0;
      for await (const f of loadSequence(seq)) {
        if (enc === undefined) ({ enc, dec } = makePair(f.width, f.height));
        const u = enc.encode(f);
        if (u !== undefined) {
          bytes += u.bytes.length;
          if (!u.keyFrame) deltaBytes += u.bytes.length;
          copies += u.stats.copies;
          dec!.decode(u.bytes.slice());
        }
        if (firstDiff(dec!.framebuffer!.data, f.data) >= 0) mismatches++;
        frames++;
      }
      t.equal(mismatches, 0, `${frames} frames decode exactly (${bytes} bytes)`);
      if (seq === 'terminal' || seq === 'web' || seq === 'drag') {
        t.ok(copies > 0, `${seq} uses copies (${copies})`);
      }
      if (seq === 'terminal' || seq === 'web') {
        // Without copies every scroll step repaints nearly the whole screen; with them only the new lines.
        t.ok(deltaBytes / (frames - 1) < 100_000, `${seq} scroll steps average ${Math.round(deltaBytes / (frames - 1))} bytes`);
      }
    });
  }
}
