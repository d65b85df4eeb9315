/**
 * The pointer's channel end to end (spec/session.md §6.9): a Host sharing the virtual desktop, a Helper over TCP.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Host, Helper, VirtualScreen, compositeCursor, loadPng, type CursorState } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';

async function setup(t: { teardown(fn: () => unknown): void }, hostCursor = true) {
  const screen = new VirtualScreen({ width: 640, height: 400, now: () => Date.UTC(2026, 10, 25, 10, 0, 0) });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', name: 'test-host', cursor: hostCursor });
  await host.listen({ port: 0 });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ mode: 'control', expires: '30m' });
  return { screen, host, invitation };
}

function nextCursor(helper: Helper, test: (c: CursorState) => boolean): Promise<CursorState> {
  const now = helper.cursor;
  if (now && test(now)) return Promise.resolve(now);
  return new Promise((resolve) => {
    const on = (c: CursorState) => {
      if (!test(c)) return;
      helper.off('cursor', on);
      resolve(c);
    };
    helper.on('cursor', on);
  });
}

t.test('the helper sees the host pointer move and change shape; its own pointer input moves it too', async (t) => {
  const { screen, host, invitation } = await setup(t);
  const features: string[][] = [];
  host.on('session', (s) => s.on('features', (f: string[]) => features.push(f)));
  const helper = await Helper.connect(invitation.toURL(), { requestControl: true });
  t.teardown(() => helper.close());
  const first = await nextCursor(helper, () => true);
  t.same([first.x, first.y, first.visible], [320, 200, true], 'the pointer at the centre, at once');
  t.ok(first.shape, 'with its shape');
  t.same(features, [['cursor']]);
  screen.movePointer(10, 20);
  const moved = await nextCursor(helper, (c) => c.x === 10 && c.y === 20);
  t.equal(moved.shape?.id, 1);
  const field = screen.fieldRect;
  screen.movePointer(field.x + 5, field.y + 5);
  const beam = await nextCursor(helper, (c) => c.x === field.x + 5);
  t.equal(beam.shape?.id, 2, 'an I-beam over the text field');
  t.equal(beam.shape?.hotX, 3);
  helper.pointer(100, 50);
  await nextCursor(helper, (c) => c.x === 100 && c.y === 50);
  t.pass("the helper's own pointer input moves the host pointer");
  // A burst of moves is coalesced: the last one arrives, far fewer than 200 messages.
  let events = 0;
  helper.on('cursor', () => events++);
  for (let i = 0; i < 200; i++) screen.movePointer(200 + i, 300);
  await nextCursor(helper, (c) => c.x === 399);
  t.ok(events < 50, `200 moves in a burst arrived as ${events} messages`);
});

t.test('compositeCursor blends the shape at position less hotspot, clipped', async (t) => {
  const picture = { width: 4, height: 4, data: new Uint8Array(64).fill(200) };
  const shape = { id: 1, width: 2, height: 2, hotX: 1, hotY: 1, rgba: new Uint8Array([0, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 128, 0, 0, 0, 255]) };
  const out = compositeCursor(picture, { x: 0, y: 0, visible: true, shape });
  t.same([...out.data.subarray(0, 4)], [0, 0, 0, 200], 'only the bottom-right pixel lands, on (0,0)');
  t.equal(picture.data[0], 200, 'the picture itself is untouched');
  const hidden = compositeCursor(picture, { x: 1, y: 1, visible: false, shape });
  t.same(hidden.data, picture.data);
  const blend = compositeCursor(picture, { x: 1, y: 1, visible: true, shape });
  t.same([...blend.data.subarray(16, 20)], [Math.round((255 * 128 + 200 * 127) / 255), Math.round((200 * 127) / 255), Math.round((200 * 127) / 255), 200], 'half alpha blends');
});

t.test('a host with cursor off offers nothing, and a helper that declines gets no cursor', async (t) => {
  const off = await setup(t, false);
  const h1 = await Helper.connect(off.invitation.toURL());
  t.teardown(() => h1.close());
  await h1.waitForFrame(() => true);
  const on = await setup(t);
  const h2 = await Helper.connect(on.invitation.toURL(), { cursor: false });
  t.teardown(() => h2.close());
  await h2.waitForFrame(() => true);
  on.screen.movePointer(5, 5);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(h1.cursor, undefined);
  t.equal(h2.cursor, undefined);
  t.notOk(h1.closed || h2.closed);
});

t.test('tessera connect --snapshot F.png --cursor draws the pointer into the PNG', async (t) => {
  const { screen, invitation } = await setup(t);
  screen.movePointer(40, 60);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cursor-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // One child process only (the CLI's start-up is most of this test's time); without --cursor the PNG is the plain
  // framebuffer, as the other snapshot tests check.
  const run = await runCli(['connect', invitation.toURL(), '--snapshot', join(dir, 'with.png'), '--cursor', '--duration', '1', '--json']);
  t.equal(run.code, 0, run.stderr);
  const plain = screen.snapshot();
  const expected = compositeCursor(plain, screen.readCursor());
  t.notOk(Buffer.from(expected.data).equals(Buffer.from(plain.data)), 'the pointer changes the picture');
  t.ok(Buffer.from((await loadPng(join(dir, 'with.png'))).data).equals(Buffer.from(expected.data)), 'the pointer blended at its place');
});
