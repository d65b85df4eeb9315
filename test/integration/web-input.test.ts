/**
 * The viewer's pure helpers, run in Node: DOM input to tessera events (web/input.ts) and a screen for every
 * refusal and close reason (web/messages.ts).
 */
import t from 'tap';
import { KeyTracker, PointerTracker, isPrintableKey, keyEvent, routeKey, screenPoint, sentCode, textEvents, wheelEvent } from '../../web/input.js';
import { REFUSAL_SCREENS, closeScreen, errorScreen, refusalScreen } from '../../web/messages.js';
import { Refusal } from '../../src/handshake/refusal.js';
import { CloseReason } from '../../src/session/constants.js';
import { Modifier } from '../../src/input/constants.js';

const key = (code: string, mods: Partial<KeyboardEvent> = {}) =>
  ({ code, shiftKey: false, ctrlKey: false, altKey: false, metaKey: false, getModifierState: () => false, ...mods }) as unknown as KeyboardEvent;

t.test('keys travel by physical code with their modifiers', async (t) => {
  t.same(keyEvent(key('KeyA', { shiftKey: true, ctrlKey: true }), true), { type: 'keyDown', code: 'KeyA', modifiers: Modifier.Shift | Modifier.Ctrl });
  t.same(keyEvent(key('Enter'), false), { type: 'keyUp', code: 'Enter', modifiers: 0 });
  t.same(keyEvent(key('KeyQ', { getModifierState: (k: string) => k === 'CapsLock' } as never), true), { type: 'keyDown', code: 'KeyQ', modifiers: Modifier.CapsLock });
  t.equal(keyEvent(key('NotAKey'), true), undefined, 'codes tessera cannot carry are dropped');
  t.equal(keyEvent(key(''), true), undefined);
});

/** A keydown as routeKey sees it: `key` is what the helper's layout produced, `code` the physical key. */
const down = (key: string, code: string, mods: { shiftKey?: boolean; ctrlKey?: boolean; altKey?: boolean; metaKey?: boolean; isComposing?: boolean; keyCode?: number; altGraph?: boolean } = {}) =>
  ({
    key,
    code,
    ctrlKey: mods.ctrlKey ?? false,
    altKey: mods.altKey ?? false,
    metaKey: mods.metaKey ?? false,
    isComposing: mods.isComposing ?? false,
    keyCode: mods.keyCode ?? 0,
    getModifierState: (m: string) => m === 'AltGraph' && mods.altGraph === true,
  }) as unknown as KeyboardEvent;

t.test('printable characters are told from key names', async (t) => {
  for (const k of ['a', 'A', 'é', '€', 'ß', ' ', '«', '😀', 'e\u0301', '👩‍💻']) t.ok(isPrintableKey(k), `${JSON.stringify(k)} is a character`);
  for (const k of ['', 'Enter', 'ArrowLeft', 'F1', 'Dead', 'Shift', 'Unidentified', '\u0008', '\u007f', '\t']) t.notOk(isPrintableKey(k), `${JSON.stringify(k)} is not`);
});

t.test('in characters mode printable keys go as text, shortcuts and navigation as physical codes', async (t) => {
  const m = 'characters' as const;
  t.equal(routeKey(down('a', 'KeyA'), m), 'text');
  t.equal(routeKey(down('A', 'KeyA', { shiftKey: true }), m), 'text', 'Shift changes the character, which travels as it is');
  t.equal(routeKey(down('/', 'Digit7', { shiftKey: true }), m), 'text', 'a German Shift+7');
  t.equal(routeKey(down('€', 'KeyE', { altGraph: true }), m), 'text', 'AltGr on Linux');
  t.equal(routeKey(down('€', 'KeyE', { ctrlKey: true, altKey: true, altGraph: true }), m), 'text', 'AltGr on Windows reports Ctrl+Alt');
  t.equal(routeKey(down('ƒ', 'KeyF', { altKey: true }), m), 'text', 'macOS Option types characters');
  t.equal(routeKey(down(' ', 'Space'), m), 'text');
  t.equal(routeKey(down('1', 'Numpad1'), m), 'text');
  t.equal(routeKey(down('a', 'KeyA', { ctrlKey: true }), m), 'key', 'Ctrl+A is a shortcut');
  t.equal(routeKey(down('c', 'KeyC', { metaKey: true }), m), 'key', 'Meta+C is a shortcut');
  t.equal(routeKey(down('f', 'KeyF', { altKey: true }), m), 'key', 'Alt+F opens a menu');
  for (const [k, c] of [['Enter', 'Enter'], ['Tab', 'Tab'], ['Backspace', 'Backspace'], ['ArrowLeft', 'ArrowLeft'], ['F5', 'F5'], ['Escape', 'Escape'], ['Shift', 'ShiftLeft'], ['Control', 'ControlLeft'], ['Delete', 'Delete']] as const) {
    t.equal(routeKey(down(k, c), m), 'key', `${k} is a key`);
  }
  t.equal(routeKey(down('Dead', 'BracketLeft'), m), 'compose', 'a dead key waits for its character');
  t.equal(routeKey(down('Process', 'KeyN', { keyCode: 229 }), m), 'compose', 'an input method key waits for compositionend');
  t.equal(routeKey(down('n', 'KeyN', { isComposing: true }), m), 'compose');
  t.equal(routeKey(down('CapsLock', 'CapsLock'), m), 'drop', 'the characters already carry Caps Lock');
  t.equal(routeKey(down('AltGraph', 'AltRight'), m), 'drop', 'the characters already carry AltGr');
});

t.test('a shortcut on a letter goes by the letter in characters mode, by the position in keys mode', async (t) => {
  const germanCtrlZ = down('z', 'KeyY', { ctrlKey: true });
  t.equal(sentCode(germanCtrlZ, 'characters'), 'KeyZ', "a German helper's Ctrl+Z is undo on the host");
  t.equal(sentCode(germanCtrlZ, 'keys'), 'KeyY');
  t.equal(sentCode(down('a', 'KeyQ', { ctrlKey: true }), 'characters'), 'KeyA', 'an AZERTY Ctrl+A selects all');
  t.equal(sentCode(down('c', 'KeyC', { ctrlKey: true }), 'characters'), 'KeyC');
  t.equal(sentCode(down('ArrowLeft', 'ArrowLeft', { ctrlKey: true }), 'characters'), 'ArrowLeft');
  t.equal(sentCode(down('z', 'KeyY'), 'characters'), 'KeyY', 'no shortcut, no change (that key goes as text anyway)');
  t.equal(sentCode(down('ц', 'KeyW', { ctrlKey: true }), 'characters'), 'KeyW', 'a letter no US key carries keeps its position');
  t.same(keyEvent(down('z', 'KeyY', { ctrlKey: true }), true, 'KeyZ'), { type: 'keyDown', code: 'KeyZ', modifiers: Modifier.Ctrl });
});

t.test('in keys mode every key goes by its physical code', async (t) => {
  for (const e of [down('a', 'KeyA'), down('€', 'KeyE', { altGraph: true }), down('a', 'KeyA', { ctrlKey: true }), down('ArrowUp', 'ArrowUp'), down('Dead', 'BracketLeft'), down('CapsLock', 'CapsLock')]) {
    t.equal(routeKey(e, 'keys'), 'key', `${e.key} (${e.code})`);
  }
});

t.test('composed text becomes text events within the text limit', async (t) => {
  t.same(textEvents('«ñ»'), [{ type: 'text', text: '«ñ»' }]);
  t.same(textEvents(''), []);
  t.same(textEvents('a\ud800'), [], 'a lone surrogate cannot travel');
  const long = '€'.repeat(500); // 1500 bytes of UTF-8.
  const events = textEvents(long);
  t.equal(events.length, 2);
  t.equal(events.map((e) => (e.type === 'text' ? e.text : '')).join(''), long, 'split between characters, nothing lost');
});

t.test('pointer positions map from the scaled canvas back to screen pixels, clamped', async (t) => {
  const canvas = { width: 1920, height: 1080, getBoundingClientRect: () => ({ left: 100, top: 50, width: 960, height: 540 }) } as unknown as HTMLCanvasElement;
  t.same(screenPoint(canvas, 100, 50), { x: 0, y: 0 });
  t.same(screenPoint(canvas, 580, 320), { x: 960, y: 540 });
  t.same(screenPoint(canvas, 1059.9, 589.9), { x: 1919, y: 1079 });
  t.same(screenPoint(canvas, 5000, -40), { x: 1919, y: 0 }, 'outside the canvas clamps to its edge');
  const hidden = { width: 1920, height: 1080, getBoundingClientRect: () => ({ left: 0, top: 0, width: 0, height: 0 }) } as unknown as HTMLCanvasElement;
  t.same(screenPoint(hidden, 10, 10), { x: 0, y: 0 });
});

t.test('buttons become presses and releases as the mask changes', async (t) => {
  const p = new PointerTracker();
  t.same(p.update(10, 20, 0), [{ type: 'pointerMove', x: 10, y: 20, buttons: 0 }]);
  t.same(p.update(10, 20, 0), [], 'nothing changed, nothing sent');
  t.same(p.update(10, 20, 1), [{ type: 'buttonDown', button: 0, x: 10, y: 20 }]);
  t.same(p.update(11, 20, 3), [{ type: 'pointerMove', x: 11, y: 20, buttons: 3 }, { type: 'buttonDown', button: 2, x: 11, y: 20 }]);
  t.same(p.releaseAll(), [{ type: 'buttonUp', button: 0, x: 11, y: 20 }, { type: 'buttonUp', button: 2, x: 11, y: 20 }]);
  t.same(p.releaseAll(), []);
  t.same(p.update(1, 1, 0xff), [{ type: 'pointerMove', x: 1, y: 1, buttons: 0x1f }, ...[0, 1, 2, 3, 4].map((b) => ({ type: 'buttonDown', button: b, x: 1, y: 1 }))], 'unknown button bits are ignored');
});

t.test('held keys are released when focus is lost', async (t) => {
  const k = new KeyTracker();
  k.note({ type: 'keyDown', code: 'ShiftLeft', modifiers: 1 });
  k.note({ type: 'keyDown', code: 'KeyA', modifiers: 1 });
  k.note({ type: 'keyUp', code: 'KeyA', modifiers: 1 });
  t.ok(k.isDown('ShiftLeft'));
  t.notOk(k.isDown('KeyA'));
  t.same(k.releaseAll(), [{ type: 'keyUp', code: 'ShiftLeft', modifiers: 0 }]);
  t.same(k.releaseAll(), []);
});

t.test('wheel deltas become 1/120 notch units in every delta mode, clamped', async (t) => {
  const wheel = (deltaX: number, deltaY: number, deltaMode: number) => ({ deltaX, deltaY, deltaMode }) as WheelEvent;
  t.same(wheelEvent(wheel(0, 100, 0), 1080), { type: 'wheel', dx: 0, dy: 120 }, 'one notch in pixel mode');
  t.same(wheelEvent(wheel(-3, 0, 1), 1080), { type: 'wheel', dx: -120, dy: 0 }, 'three lines are one notch');
  t.same(wheelEvent(wheel(0, 1e9, 0), 1080), { type: 'wheel', dx: 0, dy: 32767 });
  t.equal(wheelEvent(wheel(0, 0.1, 0), 1080), undefined, 'a delta that rounds to nothing is not sent');
});

t.test('every refusal and close reason has its own screen', async (t) => {
  for (const r of Object.keys(Refusal) as (keyof typeof Refusal)[]) {
    const s = refusalScreen(r);
    t.equal(s.code, r);
    t.ok(s.title.length > 0 && s.body.length > 0, `${r} has a title and an explanation`);
  }
  t.equal(new Set(Object.values(REFUSAL_SCREENS).map((s) => s.title)).size, Object.keys(Refusal).length, 'no two refusals share a title');
  for (const reason of Object.values(CloseReason)) t.equal(closeScreen(reason).code, `closed:${reason}`);
  t.equal(errorScreen('TESSERA_ERR_INVITATION_EXPIRED', 'x').code, 'TICKET_EXPIRED', 'a locally expired invitation shows the expired screen');
  t.equal(errorScreen('TESSERA_ERR_INVALID_INVITATION', 'x').code, 'invalid-invitation');
  t.equal(errorScreen('TESSERA_ERR_IO', 'x').code, 'unreachable');
});
