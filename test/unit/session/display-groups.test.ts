import t from 'tap';
import { FakeMember } from '../../helpers/display-member.js';
import { DisplayGroups, type DisplayEncoder } from '../../../src/session/display-groups.js';
import type { Framebuffer } from '../../../src/codec/framebuffer.js';

/** An encoder that records what it was asked and "encodes" the frame's first byte, keyed on its reference. */
class FakeEncoder implements DisplayEncoder {
  last: number | undefined;
  keyFrames = 0;
  encodes = 0;
  encode(frame: Framebuffer): Uint8Array | undefined {
    this.encodes++;
    const v = frame.data[0]!;
    if (this.last === v) return undefined;
    const key = this.last === undefined ? 1 : 0;
    if (key) this.keyFrames++;
    this.last = v;
    return new Uint8Array([key, v]);
  }
  reset(): void {
    this.last = undefined;
  }
}

const Member = FakeMember;
type Member = FakeMember;

const frame = (v: number): Framebuffer => ({ width: 1, height: 1, data: new Uint8Array([v, 0, 0, 255]) });

t.test('each frame is encoded once and fanned out to every member', async (t) => {
  const encoders: FakeEncoder[] = [];
  const groups = new DisplayGroups<Member>({ createEncoder: () => (encoders.push(new FakeEncoder()), encoders.at(-1)!) });
  const a = new Member();
  const b = new Member();
  groups.add(a);
  groups.add(b);
  await groups.offer(frame(1), undefined, 0);
  a.ackAll();
  b.ackAll();
  await groups.offer(frame(2), undefined, 10);
  t.equal(encoders.length, 1, 'one encoder for the group');
  t.equal(encoders[0]!.encodes, 2, 'one encode per frame');
  t.same(a.sent, b.sent, 'both members got the same bytes');
  t.same(a.sent.map((u) => [...u]), [[1, 1], [0, 2]]);
});

t.test('a newcomer restarts the group with a key frame', async (t) => {
  const groups = new DisplayGroups<Member>({ createEncoder: () => new FakeEncoder() });
  const a = new Member();
  groups.add(a);
  await groups.offer(frame(1), undefined, 0);
  a.ackAll();
  const b = new Member();
  groups.add(b);
  await groups.offer(frame(1), undefined, 10);
  t.same([...b.sent[0]!], [1, 1], 'the newcomer gets a key frame of the unchanged screen');
  t.same([...a.sent[1]!], [1, 1], 'and so does the old member, in step');
});

t.test('a busy group coalesces frames and a laggard is split off after lagSplitMs', async (t) => {
  const groups = new DisplayGroups<Member>({ createEncoder: () => new FakeEncoder(), lagSplitMs: 100 });
  const fast = new Member();
  const slow = new Member();
  groups.add(fast);
  groups.add(slow);
  await groups.offer(frame(1), undefined, 0);
  await groups.offer(frame(2), undefined, 1);
  fast.ackAll();
  // slow never acknowledges: the group is blocked.
  await groups.offer(frame(3), undefined, 2);
  await groups.offer(frame(4), undefined, 50);
  t.equal(fast.sent.length, 2, 'the group waits while one member has no room');
  const gen = await groups.offer(frame(5), undefined, 200);
  t.equal(groups.groupCount, 2, 'the laggard got a group of its own');
  t.same([...fast.sent.at(-1)!], [0, 5], 'the fast member jumps to the newest frame (coalesced)');
  t.notOk(groups.delivered(gen));
  fast.ackAll();
  slow.ackAll();
  await groups.offer(frame(5), undefined, 300);
  t.same([...slow.sent.at(-1)!], [1, 5], 'the laggard restarts with a key frame of the newest state');
  slow.ackAll();
  t.ok(groups.delivered(gen), 'every member has decoded the frame');
});

t.test('members leave, empty groups go away, wantsFrame follows room', async (t) => {
  const groups = new DisplayGroups<Member>({ createEncoder: () => new FakeEncoder() });
  t.notOk(groups.wantsFrame(0), 'nobody to send to');
  const a = new Member();
  a.room = 1;
  groups.add(a);
  t.ok(groups.wantsFrame(0));
  await groups.offer(frame(1), undefined, 0);
  t.notOk(groups.wantsFrame(1), 'no room until acknowledged');
  groups.remove(a);
  t.equal(groups.groupCount, 0);
  t.equal(groups.memberCount, 0);
});

/**
 * Drives DisplayGroups as the host does, on a simulated clock: every `tickMs` the acking members acknowledge what
 * they received, and when wantsFrame(now) says so the current screen is offered. The screen changes every 50 ms.
 * Nothing else calls offer(): a group held back by a laggard gets no capture, as on the real host.
 */
async function simulate(groups: DisplayGroups<Member>, acking: readonly Member[], fromMs: number, toMs: number, tickMs = 10): Promise<void> {
  for (let now = fromMs; now < toMs; now += tickMs) {
    for (const m of acking) m.ackAll();
    if (groups.wantsFrame(now)) await groups.offer(frame(1 + (Math.floor(now / 50) % 250)), undefined, now);
  }
}

t.test('a member that never acknowledges is split off within lagSplitMs and the other keeps its update rate', async (t) => {
  const lagSplitMs = 1_000;
  const durationMs = 5_000;
  const alone = new DisplayGroups<Member>({ createEncoder: () => new FakeEncoder(), lagSplitMs });
  const soloMember = new Member();
  alone.add(soloMember);
  await simulate(alone, [soloMember], 0, durationMs);

  const groups = new DisplayGroups<Member>({ createEncoder: () => new FakeEncoder(), lagSplitMs });
  const normal = new Member();
  const stalled = new Member();
  groups.add(normal);
  groups.add(stalled);
  // Step the clock until the stalled member has no room left, then note when the split happens.
  let now = 0;
  for (; now < durationMs && stalled.canSendUpdate; now += 10) await simulate(groups, [normal], now, now + 10);
  const blockedAt = now;
  t.notOk(stalled.canSendUpdate, 'the stalled member filled its room');
  for (; now < durationMs && groups.groupCount < 2; now += 10) await simulate(groups, [normal], now, now + 10);
  // The step that split (and, in the same wantsFrame/offer, sent the normal member the screen of that moment).
  const splitAt = now - 10;
  t.equal(groups.groupCount, 2, 'the stalled member got a group of its own');
  t.ok(splitAt - blockedAt <= lagSplitMs, `split ${splitAt - blockedAt} ms after the group was held back (lagSplitMs ${lagSplitMs})`);
  await simulate(groups, [normal], now, durationMs);

  const ratio = normal.sent.length / soloMember.sent.length;
  t.comment(`alone: ${soloMember.sent.length} updates in ${durationMs} ms; beside a stalled member: ${normal.sent.length} (ratio ${ratio.toFixed(2)})`);
  t.ok(ratio >= 0.5, `the normal member keeps at least half its update rate (${ratio.toFixed(2)})`);
  // After the split, the normal member sees every screen state it sees when alone, in the same order.
  const screenAtSplit = 1 + Math.floor(splitAt / 50);
  const statesAfter = (m: Member) => m.sent.map((u) => u[1]!).filter((v) => v > screenAtSplit);
  t.ok(statesAfter(soloMember).length > 0, 'the run goes on after the split');
  t.same(statesAfter(normal), statesAfter(soloMember), 'after the split the normal member gets every change, as when alone');
  t.equal(stalled.sent.length, 2, 'the stalled member got no more than its room');
  t.equal(groups.memberCount, 2, 'nobody was dropped');
});

t.test('the split needs no capture: wantsFrame alone notices the laggard and splits it when lagSplitMs is up', async (t) => {
  const groups = new DisplayGroups<Member>({ createEncoder: () => new FakeEncoder(), lagSplitMs: 100 });
  const fast = new Member();
  const slow = new Member();
  groups.add(fast);
  groups.add(slow);
  await groups.offer(frame(1), undefined, 0);
  await groups.offer(frame(2), undefined, 1);
  fast.ackAll();
  t.notOk(groups.wantsFrame(10), 'held back by the laggard');
  t.notOk(groups.wantsFrame(109), 'still within lagSplitMs');
  t.equal(groups.groupCount, 1);
  t.ok(groups.wantsFrame(110), 'lagSplitMs after the group was first seen held back, it wants a frame');
  t.equal(groups.groupCount, 2, 'because the laggard was split off');
  await groups.offer(frame(3), undefined, 111);
  t.same([...fast.sent.at(-1)!], [0, 3], 'the fast member goes on with deltas');
  t.equal(slow.sent.length, 2, 'the laggard gets nothing while it has no room');
});

t.test('time when every member is busy does not count as lag', async (t) => {
  const groups = new DisplayGroups<Member>({ createEncoder: () => new FakeEncoder(), lagSplitMs: 100 });
  const a = new Member();
  const b = new Member();
  groups.add(a);
  groups.add(b);
  await groups.offer(frame(1), undefined, 0);
  await groups.offer(frame(2), undefined, 1);
  // Both busy for far longer than lagSplitMs (a slow link for everyone): nobody holds anybody back.
  t.notOk(groups.wantsFrame(50));
  t.notOk(groups.wantsFrame(500));
  a.ackAll();
  t.notOk(groups.wantsFrame(510), 'a has room, b not yet: the lag clock starts now');
  b.ackAll();
  t.ok(groups.wantsFrame(560), 'b caught up within lagSplitMs');
  t.equal(groups.groupCount, 1, 'so nobody was split off');
  await groups.offer(frame(3), undefined, 560);
  t.same(a.sent, b.sent, 'both got the same updates');
});

t.test('a member that loses its room while a lossy encode is awaited still gets that update, in order, once it has room', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const inner = new FakeEncoder();
  // An asynchronous encoder (the lossy path): the members' room may change while it runs.
  const slow: DisplayEncoder = {
    encode: async (f: Framebuffer) => {
      await gate;
      return inner.encode(f);
    },
    reset: () => inner.reset(),
  };
  const groups = new DisplayGroups<Member>({ createEncoder: () => slow });
  const a = new Member();
  const b = new Member();
  groups.add(a);
  groups.add(b);
  const offered = groups.offer(frame(1), undefined, 0);
  // b fills its window from elsewhere while the encode runs (room 1, one update outstanding).
  b.room = 0;
  release();
  await offered;
  t.same(a.sent.map((u) => [...u]), [], 'nobody gets the update before every member has room: they stay in step');
  t.notOk(groups.delivered(groups.generation), 'the frame is not delivered');
  b.room = 2;
  t.notOk(groups.sendPending(1), 'once b has room the update goes out');
  t.same(a.sent.map((u) => [...u]), [[1, 1]]);
  t.same(b.sent.map((u) => [...u]), [[1, 1]], 'b got the key update it would otherwise have missed');
  a.ackAll();
  b.ackAll();
  await groups.offer(frame(2), undefined, 2);
  t.same(b.sent.map((u) => [...u]), [[1, 1], [0, 2]], 'and the next delta builds on a picture b has');
});
