/** The host's pointer feed (src/api/host/cursor-feed.ts): paced reads, the newest state wins, newcomers served at once. */
import t from 'tap';
import { CursorFeed, type CursorMember } from '../../../src/api/host/cursor-feed.js';
import type { CursorState, ScreenSource } from '../../../src/adapters/types.js';

function fakeSource() {
  let listener: (() => void) | undefined;
  const state = { x: 0, y: 0 };
  let reads = 0;
  const source: ScreenSource = {
    width: 100,
    height: 100,
    capture: () => ({ frame: { width: 100, height: 100, data: new Uint8Array(40_000) } }),
    readCursor: () => {
      reads++;
      return { x: state.x, y: state.y, visible: true };
    },
    onCursor: (l) => {
      listener = l;
      return () => (listener = undefined);
    },
  };
  return { source, state, move: (x: number) => ((state.x = x), listener?.()), reads: () => reads, listening: () => listener !== undefined };
}

class Member implements CursorMember {
  readonly got: CursorState[] = [];
  sendCursor(state: CursorState): void {
    this.got.push(state);
  }
}

t.test('a burst of moves is read at most about every 16 ms, and the last state arrives', async (t) => {
  const f = fakeSource();
  const feed = new CursorFeed<Member>({ source: f.source, clock: Date.now, onError: (e) => t.fail(String(e)) });
  const m = new Member();
  feed.add(m);
  feed.start();
  t.ok(f.listening());
  const started = Date.now();
  for (let i = 1; i <= 500; i++) f.move(i);
  await new Promise((r) => setTimeout(r, 80));
  const elapsed = Date.now() - started;
  t.ok(f.reads() <= Math.ceil(elapsed / 16) + 2, `${f.reads()} reads in ${elapsed} ms for 500 moves`);
  t.equal(m.got.at(-1)?.x, 500, 'the newest state wins');
  const late = new Member();
  feed.add(late);
  feed.taken(late);
  t.equal(late.got[0]?.x, 500, 'a helper that just took cursor gets the last state at once');
  feed.stop();
  t.notOk(f.listening(), 'stop lets go of the source');
});

t.test('a source without readCursor/onCursor is not supported (the host offers no cursor)', async (t) => {
  t.notOk(CursorFeed.supported({ width: 1, height: 1, capture: () => ({ frame: { width: 1, height: 1, data: new Uint8Array(4) } }) }));
  t.ok(CursorFeed.supported(fakeSource().source));
});
