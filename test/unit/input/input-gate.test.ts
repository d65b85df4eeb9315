import t from 'tap';
import fc from 'fast-check';
import { StateError } from '../../../src/core/index.js';
import { InputGate, type InputEvent } from '../../../src/input/index.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

const keyA: InputEvent = { type: 'keyDown', code: 'KeyA', modifiers: 0 };
const move = (x: number, y: number): InputEvent => ({ type: 'pointerMove', x, y, buttons: 0 });

t.test('view mode drops everything and counts it', async (t) => {
  const gate = new InputGate({ width: 800, height: 600, now: clock().now });
  t.equal(gate.mode, 'view');
  t.same(gate.admit([keyA, move(1, 1), { type: 'text', text: 'x' }]), []);
  t.same(gate.stats, { admitted: 0, dropped: { notControl: 3, paused: 0, outOfBounds: 0, rateLimited: 0, invalid: 0 } });
  t.equal(gate.admitClipboard(), false);
  t.equal(gate.stats.dropped.notControl, 4);
  gate.setMode('control');
  t.equal(gate.filter(keyA), true);
  t.equal(gate.admitClipboard(), true);
  t.equal(gate.stats.admitted, 2);
});

t.test('paused drops and counts; resuming admits again', async (t) => {
  const gate = new InputGate({ width: 800, height: 600, now: clock().now, mode: 'control' });
  gate.setPaused(true);
  t.equal(gate.paused, true);
  t.equal(gate.filter(keyA), false);
  t.equal(gate.admitClipboard(), false);
  t.equal(gate.stats.dropped.paused, 2);
  gate.setPaused(false);
  t.equal(gate.filter(keyA), true);
});

t.test('pointer events outside the screen are dropped; resize moves the bounds', async (t) => {
  const gate = new InputGate({ width: 800, height: 600, now: clock().now, mode: 'control' });
  t.equal(gate.filter(move(799, 599)), true);
  t.equal(gate.filter(move(800, 0)), false);
  t.equal(gate.filter(move(0, 600)), false);
  t.equal(gate.filter({ type: 'buttonDown', button: 0, x: 900, y: 10 }), false);
  t.equal(gate.stats.dropped.outOfBounds, 3);
  gate.resize(1000, 700);
  t.equal(gate.filter(move(900, 650)), true);
  t.equal(gate.filter({ type: 'wheel', dx: 0, dy: 120 }), true, 'wheel has no position');
  t.throws(() => gate.resize(0, 10), StateError);
});

t.test('invalid events are dropped as invalid', async (t) => {
  const gate = new InputGate({ width: 800, height: 600, now: clock().now, mode: 'control' });
  t.equal(gate.filter({ type: 'keyDown', code: 'Nope', modifiers: 0 } as unknown as InputEvent), false);
  t.equal(gate.filter({ type: 'pointerMove', x: -5, y: 0, buttons: 0 }), false);
  t.equal(gate.filter({ type: 'text', text: '' }), false);
  t.equal(gate.stats.dropped.invalid, 3);
});

t.test('rate limit: exactly the bucket is admitted, then exactly the refill per interval', async (t) => {
  const c = clock();
  const gate = new InputGate({ width: 800, height: 600, now: c.now, mode: 'control', maxEventsPerSecond: 100 });
  const burst: InputEvent[] = Array.from({ length: 150 }, (_, i) => move(i, i));
  t.equal(gate.admit(burst).length, 100, 'the full bucket (one second of events)');
  t.equal(gate.stats.dropped.rateLimited, 50);
  c.advance(100);
  t.equal(gate.admit(burst).length, 10, '100 ms refills 10 events');
  c.advance(250);
  t.equal(gate.admit(burst).length, 25, '250 ms refills 25 events');
  c.advance(60_000);
  t.equal(gate.admit(burst).length, 100, 'a long quiet spell refills only up to the bucket');
  c.advance(-5_000);
  t.equal(gate.admit(burst).length, 0, 'a clock stepping back refills nothing');
});

t.test('rate limit: default 2000 events per second, configurable burst', async (t) => {
  const c = clock();
  const gate = new InputGate({ width: 800, height: 600, now: c.now, mode: 'control' });
  const many: InputEvent[] = Array.from({ length: 2500 }, () => move(1, 1));
  t.equal(gate.admit(many).length, 2000);
  c.advance(1000);
  t.equal(gate.admit(many).length, 2000);
  const small = new InputGate({ width: 800, height: 600, now: c.now, mode: 'control', maxEventsPerSecond: 1000, burstEvents: 10 });
  t.equal(small.admit(many).length, 10);
  c.advance(5);
  t.equal(small.admit(many).length, 5);
});

t.test('releases of held keys and buttons pass the rate limit', async (t) => {
  const c = clock();
  const gate = new InputGate({ width: 800, height: 600, now: c.now, mode: 'control', maxEventsPerSecond: 2 });
  t.equal(gate.filter({ type: 'keyDown', code: 'ShiftLeft', modifiers: 1 }), true);
  t.equal(gate.filter({ type: 'buttonDown', button: 0, x: 5, y: 5 }), true);
  t.equal(gate.filter(keyA), false, 'bucket empty');
  t.equal(gate.filter({ type: 'keyUp', code: 'KeyB', modifiers: 0 }), false, 'a key that is not held is limited');
  t.equal(gate.filter({ type: 'keyUp', code: 'ShiftLeft', modifiers: 0 }), true);
  const up = gate.admitEvent({ type: 'buttonUp', button: 0, x: 5000, y: 7 });
  t.same(up, { type: 'buttonUp', button: 0, x: 799, y: 7 }, 'a held button is released with a clamped position');
  t.same(gate.heldKeys, []);
  t.equal(gate.heldButtons, 0);
});

t.test('releaseAll returns what is held and forgets it', async (t) => {
  const gate = new InputGate({ width: 800, height: 600, now: clock().now, mode: 'control' });
  gate.admit([
    { type: 'keyDown', code: 'ControlLeft', modifiers: 2 },
    { type: 'keyDown', code: 'KeyC', modifiers: 2 },
    { type: 'keyDown', code: 'KeyX', modifiers: 0 },
    { type: 'keyUp', code: 'KeyX', modifiers: 0 },
    { type: 'buttonDown', button: 0, x: 10, y: 20 },
    { type: 'buttonDown', button: 2, x: 10, y: 20 },
    { type: 'pointerMove', x: 30, y: 40, buttons: 3 },
  ]);
  t.same(gate.heldKeys, ['ControlLeft', 'KeyC']);
  t.equal(gate.heldButtons, 3);
  t.same(gate.releaseAll(), [
    { type: 'keyUp', code: 'ControlLeft', modifiers: 0 },
    { type: 'keyUp', code: 'KeyC', modifiers: 0 },
    { type: 'buttonUp', button: 0, x: 30, y: 40 },
    { type: 'buttonUp', button: 2, x: 30, y: 40 },
  ]);
  t.same(gate.releaseAll(), []);
});

t.test('revoking control or pausing keeps what is held for releaseAll', async (t) => {
  const gate = new InputGate({ width: 800, height: 600, now: clock().now, mode: 'control' });
  gate.filter({ type: 'keyDown', code: 'AltLeft', modifiers: 4 });
  gate.setPaused(true);
  t.same(gate.releaseAll(), [{ type: 'keyUp', code: 'AltLeft', modifiers: 0 }]);
  gate.setPaused(false);
  gate.filter({ type: 'buttonDown', button: 1, x: 3, y: 4 });
  gate.setMode('view');
  t.equal(gate.filter({ type: 'buttonUp', button: 1, x: 3, y: 4 }), false, 'the helper can no longer release it');
  t.same(gate.releaseAll(), [{ type: 'buttonUp', button: 1, x: 3, y: 4 }]);
  t.same(gate.releaseAll(), []);
  t.throws(() => gate.setMode('admin' as 'view'), StateError);
});

t.test('constructor checks its options', async (t) => {
  const now = clock().now;
  t.throws(() => new InputGate({ width: 0, height: 1, now }), StateError);
  t.throws(() => new InputGate({ width: 1, height: 1, now, maxEventsPerSecond: 0 }), StateError);
  t.throws(() => new InputGate({ width: 1, height: 1, now, burstEvents: 0.5 }), StateError);
});

const text = (s: string): InputEvent => ({ type: 'text', text: s });

t.test('a text event takes one token per character, and a dropped one takes none', async (t) => {
  const c = clock();
  const gate = new InputGate({ width: 800, height: 600, now: c.now, mode: 'control', maxEventsPerSecond: 100 });
  t.equal(gate.filter(text('x'.repeat(60))), true, '60 characters fit in the bucket of 100');
  t.equal(gate.filter(text('y'.repeat(60))), false, '60 more do not: 40 tokens are left');
  t.equal(gate.stats.dropped.rateLimited, 1, 'the dropped text is counted once, under rateLimited');
  const moves: InputEvent[] = Array.from({ length: 50 }, (_, i) => move(i, i));
  t.equal(gate.admit(moves).length, 40, 'the dropped text took no tokens: 40 single events still pass');
  t.equal(gate.stats.dropped.rateLimited, 11);
  c.advance(300);
  t.equal(gate.filter(text('z'.repeat(31))), false, '300 ms refill 30 tokens, not 31');
  t.equal(gate.filter(text('z'.repeat(30))), true, 'but 30 characters pass');
  t.equal(gate.stats.admitted, 42);
});

t.test('characters are code points: not UTF-16 units, not UTF-8 bytes', async (t) => {
  const gate = new InputGate({ width: 800, height: 600, now: clock().now, mode: 'control', maxEventsPerSecond: 100, burstEvents: 4 });
  // Two astral characters (2 UTF-16 units, 4 UTF-8 bytes each) and two of two bytes: four code points.
  t.equal(gate.filter(text('😀🎉éß')), true, 'four code points take the four tokens');
  t.equal(gate.filter(text('a')), false, 'and nothing is left');
  const other = new InputGate({ width: 800, height: 600, now: clock().now, mode: 'control', maxEventsPerSecond: 100, burstEvents: 4 });
  t.equal(other.filter(text('abcde')), false, 'five code points do not fit in four tokens');
  t.equal(other.filter(text('😀😀')), true, 'two astral code points cost two, not four');
  t.equal(other.filter(text('😀😀😀')), false);
});

t.test('a 1 KiB text event costs 1024 tokens of the default 2000 events/s', async (t) => {
  const c = clock();
  const gate = new InputGate({ width: 800, height: 600, now: c.now, mode: 'control' });
  const kib = text('k'.repeat(1024));
  t.equal(gate.filter(kib), true);
  t.equal(gate.filter(kib), false, 'a second one in the same instant is over the limit');
  const moves: InputEvent[] = Array.from({ length: 1000 }, () => move(1, 1));
  t.equal(gate.admit(moves).length, 2000 - 1024, 'what the text left of the bucket');
  c.advance(1000);
  t.equal(gate.admit([kib, kib, kib]).length, 1, 'a second of refill admits one more 1 KiB text, not three');
});

t.test('a text event longer than the bucket is never admitted, even after a quiet spell', async (t) => {
  const c = clock();
  const gate = new InputGate({ width: 800, height: 600, now: c.now, mode: 'control', maxEventsPerSecond: 1000, burstEvents: 10 });
  c.advance(60_000);
  t.equal(gate.filter(text('x'.repeat(11))), false);
  t.equal(gate.filter(text('x'.repeat(10))), true, 'the bucket size is the longest text admitted');
  t.equal(gate.stats.dropped.rateLimited, 1);
});

t.test('property: admitted characters and events never exceed the bucket plus the refill', async (t) => {
  const step = fc.record({
    advanceMs: fc.integer({ min: 0, max: 200 }),
    event: fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }).map((s) => text(s)),
      fc.constant(move(3, 4)),
    ),
  });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 500 }), fc.array(step, { maxLength: 200 }), (rate, steps) => {
      const c = clock();
      const gate = new InputGate({ width: 800, height: 600, now: c.now, mode: 'control', maxEventsPerSecond: rate });
      let elapsedMs = 0;
      let used = 0;
      for (const { advanceMs, event } of steps) {
        c.advance(advanceMs);
        elapsedMs += advanceMs;
        if (gate.filter(event)) used += event.type === 'text' ? [...event.text].length : 1;
        // The bucket starts full (one second's worth) and refills at `rate` per second.
        if (!(used <= rate + (elapsedMs * rate) / 1000 + 1e-9)) return false;
      }
      const s = gate.stats;
      return s.admitted + s.dropped.rateLimited === steps.length;
    }),
    { seed: 1616, numRuns: 300 },
  );
  t.pass('bounded');
});
