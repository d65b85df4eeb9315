import t from 'tap';
import { DisplayGroups, type DisplayEncoder, type DisplayMember } from '../../../src/session/display-groups.js';
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

class Member implements DisplayMember {
  sent: Uint8Array[] = [];
  decodedSeq = 0;
  room = 2;
  get canSendUpdate(): boolean {
    return this.sent.length - this.decodedSeq < this.room;
  }
  sendUpdate(update: Uint8Array): number {
    this.sent.push(update);
    return this.sent.length;
  }
  ackAll(): void {
    this.decodedSeq = this.sent.length;
  }
}

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
  t.notOk(groups.wantsFrame(), 'nobody to send to');
  const a = new Member();
  a.room = 1;
  groups.add(a);
  t.ok(groups.wantsFrame());
  await groups.offer(frame(1), undefined, 0);
  t.notOk(groups.wantsFrame(), 'no room until acknowledged');
  groups.remove(a);
  t.equal(groups.groupCount, 0);
  t.equal(groups.memberCount, 0);
});
