import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { Host, Helper, ReplayScreen, loadPng } from '../../src/index.js';

const corpusRoot = resolve(import.meta.dirname, '../../../shared/corpus');

/** Writes a small synthetic sequence: a scrolling text-like pattern, a moving block and a photo-like area. */
async function writeSequence(dir: string, frames: number, width: number, height: number): Promise<void> {
  for (let f = 0; f < frames; f++) {
    const rgb = Buffer.alloc(width * height * 3, 240);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        const row = y + f * 7;
        if ((row % 14 < 9) && ((x * 7 + (row >> 2) * 13) % 11 < 4)) rgb[i] = rgb[i + 1] = rgb[i + 2] = 30;
        if (x > 20 + f * 9 && x < 80 + f * 9 && y > 40 && y < 90) {
          rgb[i] = 200;
          rgb[i + 1] = 40;
          rgb[i + 2] = (x * y + f) & 255;
        }
      }
    }
    await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toFile(join(dir, `${String(f).padStart(4, '0')}.png`));
  }
}

async function replayAndCompare(t: Test, dir: string) {
  const source = await ReplayScreen.open({ dir, pace: 'ack' });
  const host = new Host({ source, consent: () => 'view' });
  await host.listen({ port: 0 });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ mode: 'view', expires: '10m' });
  const helper = await Helper.connect(invitation.toURL());
  t.teardown(() => helper.close());
  const files = readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
  // Keep a copy of every picture the helper decodes; replay at pace 'ack' must not skip any frame.
  const seen: Buffer[] = [Buffer.from(helper.framebuffer.data)];
  helper.on('frame', () => seen.push(Buffer.from(helper.framebuffer.data)));
  const last = Buffer.from((await loadPng(join(dir, files.at(-1)!))).data);
  await helper.waitForFrame((fb) => Buffer.from(fb.data.buffer, fb.data.byteOffset, fb.data.byteLength).equals(last));
  let at = 0;
  let matched = 0;
  for (const file of files) {
    const expected = Buffer.from((await loadPng(join(dir, file))).data);
    while (at < seen.length && !seen[at]!.equals(expected)) at++;
    if (at === seen.length) break;
    matched++;
  }
  t.equal(matched, files.length, `all ${files.length} frames arrived pixel-exact, in order`);
  // Byte counters agree on both ends, including bytes that arrived together with the handshake's last message.
  await new Promise((r) => setTimeout(r, 100));
  const sent = host.sessions[0]!.stats.bytesSent;
  t.ok(Math.abs(helper.stats.bytesReceived - sent) < 256, `the helper counted ${helper.stats.bytesReceived} of the ${sent} bytes sent`);
}

t.test('a generated sequence replayed with pace ack arrives pixel-exact, frame by frame', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await writeSequence(dir, 8, 320, 200);
  await replayAndCompare(t, dir);
});

const typingDir = join(corpusRoot, 'typing');
t.test(
  'a corpus sequence replayed with pace ack arrives pixel-exact, frame by frame',
  { skip: existsSync(typingDir) ? false : `../shared/corpus is absent (${typingDir}); the generated sequence above covers replay` },
  async (t) => {
    await replayAndCompare(t, typingDir);
  },
);
