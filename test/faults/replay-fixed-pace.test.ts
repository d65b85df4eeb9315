/**
 * Regression found by the load test (test/attack/load.test.ts): a ReplayScreen at a fixed pace has onDamage (for the
 * ack pace) but never reports damage when its frames change with time, so the host polled it only once a second and
 * `tessera host --screen replay:DIR@FPS` streamed about 1 fps. Here a non-looping replay of 8 distinct frames plays
 * in 1.6 s; the helper must see most of them (at one poll a second it saw 2 or 3).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Helper, Host, ReplayScreen } from '../../src/index.js';
import { generateReplay } from '../attack/load-lib.js';

t.test('a fixed-pace replay is captured at its frame rate, not once a second', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pace-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await generateReplay(dir, 8, 320, 240);
  const source = await ReplayScreen.open({ dir, fps: 5, pace: 'fixed', loop: false });
  const host = new Host({ source, consent: () => 'view', name: 'pace' });
  await host.listen({ port: 0 });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ expires: '10m' });
  const helper = await Helper.connect(invitation.toURL());
  t.teardown(() => helper.close());
  const seen = new Set<string>();
  helper.on('frame', () => seen.add(createHash('sha1').update(helper.framebuffer.data).digest('hex')));
  await new Promise<void>((resolve) => {
    const check = () => (source.done || helper.closed ? resolve() : setTimeout(check, 20));
    check();
  });
  await new Promise((r) => setTimeout(r, 300));
  t.ok(seen.size >= 5, `the helper saw ${seen.size} of the 8 frames`);
});
