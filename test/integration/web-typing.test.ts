/**
 * Typing in the browser viewer arrives in the host's xterm exactly (issue #19, "Every character"): headless Chromium
 * runs the viewer (web/, served by serveWeb) against a Host sharing an Xvfb display through X11Screen and X11Input.
 * Characters travel as text, whether they come as key presses whose `key` is the character (a layout that has them,
 * without a physical Shift), as inserted text (an on-screen keyboard, a password manager) or as an input method's
 * composition; then the same on a host whose X server has a German layout (`setxkbmap de`).
 * The same reaches the virtual desktop's text field. Skips with a message when Chromium, Xvfb, xterm, xdotool or
 * setxkbmap are missing.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { Host, VirtualScreen } from '../../src/index.js';
import { X11Input, X11Screen } from '../../src/adapters/x11/index.js';
import { serveWeb } from '../../src/node/web-server.js';
import { chromiumMissing, launchChromium, type BrowserSession } from '../helpers/chromium.js';
import { hasProgram, startXvfb, waitUntil, xvfbMissing, type XServer } from '../helpers/xvfb.js';
import { startCatTerminal } from '../helpers/xvfb.js';

/** The sentence: accents, €, ß, guillemets, and characters a US keyboard types with Shift. */
const TEXT = 'Grüße, café: 5 € > 4 $? «ñ» ß';
/** More that a German keyboard types with Shift and a US one without: the host must not hold Shift for them. */
const MORE = ' (a=b)/2';

/**
 * How a German keyboard (Linux, T1 layout) types each character: the physical code, Shift, AltGr, or a dead key
 * first (acute, the key right of ß). `ñ` has no key there (a compose key or an input method gives it): its code is
 * empty, as browsers report for keys without a code.
 */
const GERMAN: Record<string, { code: string; shift?: boolean; altGraph?: boolean; dead?: string }> = {
  G: { code: 'KeyG', shift: true }, r: { code: 'KeyR' }, ü: { code: 'BracketLeft' }, ß: { code: 'Minus' }, e: { code: 'KeyE' },
  ',': { code: 'Comma' }, ' ': { code: 'Space' }, c: { code: 'KeyC' }, a: { code: 'KeyA' }, f: { code: 'KeyF' },
  é: { code: 'KeyE', dead: 'Equal' }, ':': { code: 'Period', shift: true }, 5: { code: 'Digit5' }, '€': { code: 'KeyE', altGraph: true },
  '>': { code: 'IntlBackslash', shift: true }, 4: { code: 'Digit4' }, $: { code: 'Digit4', shift: true }, '?': { code: 'Minus', shift: true },
  '«': { code: 'KeyX', altGraph: true }, ñ: { code: '' }, '»': { code: 'KeyY', altGraph: true },
  '(': { code: 'Digit8', shift: true }, ')': { code: 'Digit9', shift: true }, '=': { code: 'Digit0', shift: true }, '/': { code: 'Digit7', shift: true },
  b: { code: 'KeyB' }, 2: { code: 'Digit2' },
};

/** CDP modifier bits of Ctrl and Shift. */
const CDP_CTRL = 2;
const CDP_SHIFT = 8;

/**
 * Types `text` as key events of a German keyboard (CDP Input.dispatchKeyEvent): Shift and AltGr go down and up around
 * their characters, a dead key comes first and the next keydown carries the composed character, as Chromium reports
 * it on Windows.
 */
async function typeGerman(page: Page, text: string): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const raw = (type: 'rawKeyDown' | 'keyUp', key: string, code: string, modifiers = 0) => cdp.send('Input.dispatchKeyEvent', { type, key, code, modifiers });
  try {
    for (const ch of text) {
      const k = GERMAN[ch];
      if (!k) throw new Error(`no German key for ${ch}`);
      const mods = k.shift ? CDP_SHIFT : 0;
      if (k.shift) await raw('rawKeyDown', 'Shift', 'ShiftLeft', CDP_SHIFT);
      if (k.altGraph) await raw('rawKeyDown', 'AltGraph', 'AltRight');
      if (k.dead) {
        await raw('rawKeyDown', 'Dead', k.dead);
        await raw('keyUp', 'Dead', k.dead);
      }
      await cdp.send('Input.dispatchKeyEvent', { type: 'keyDown', key: ch, code: k.code, text: ch, unmodifiedText: ch, modifiers: mods });
      await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: ch, code: k.code, modifiers: mods });
      if (k.altGraph) await raw('keyUp', 'AltGraph', 'AltRight');
      if (k.shift) await raw('keyUp', 'Shift', 'ShiftLeft');
    }
  } finally {
    await cdp.detach();
  }
}

const skipBrowser = chromiumMissing() ?? false;
const skip = skipBrowser || xvfbMissing(['xterm', 'xdotool']);
const skipDe = skip || (hasProgram('setxkbmap') ? false : 'setxkbmap not installed (Debian: x11-xkb-utils)');

let browser: BrowserSession | undefined;
t.teardown(() => browser?.close());

interface Fixture {
  readonly server: XServer;
  readonly input: X11Input;
  readonly page: Page;
  readonly file: string;
  /** Uncaught errors of the page. */
  readonly errors: string[];
}

async function setup(t: Test, layout?: string): Promise<Fixture> {
  const server = await startXvfb({ width: 800, height: 600 });
  t.teardown(() => server.stop());
  if (layout) server.run('setxkbmap', ['-display', server.display, layout]);
  const screen = await X11Screen.open({ display: server.display });
  const input = await X11Input.open({ display: server.display });
  t.teardown(async () => {
    await input.close();
    await screen.close();
  });
  const host = new Host({ source: screen, sink: input, consent: () => 'control', name: 'typing-test' });
  const web = await serveWeb(host, { port: 0 });
  t.teardown(async () => {
    await host.close();
    await web.close();
  });
  const file = await catTerminal(t, server);
  browser ??= await launchChromium({ viewport: { width: 1024, height: 700 } });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  t.teardown(() => page.close());
  const invitation = await host.createInvitation({ mode: 'control', expires: '30m' });
  await page.goto(web.url(invitation));
  await page.waitForFunction(() => (window as any).tessera?.state === 'connected' && (window as any).tessera.mode === 'control', undefined, { timeout: 20_000 });
  await page.locator('#screen').click();
  return { server, input, page, file, errors };
}

const catTerminal = startCatTerminal;

/** Presses Enter in the page and waits until the file holds `expected` (cat writes a line once it is complete). */
async function endLine(t: Test, page: Page, file: string, expected: string, what: string): Promise<void> {
  await page.keyboard.press('Enter');
  let got = '';
  try {
    await waitUntil(what, () => {
      got = readFileSync(file, 'utf8');
      return got.length >= Buffer.byteLength(expected) || got === expected ? true : undefined;
    }, 10_000, 50);
  } catch {
    // Compared below, with what did arrive.
  }
  t.equal(got, expected, what);
}

/** Types `text` as an input method would: a composition shown in the page, then committed (CDP). */
async function compose(page: Page, text: string): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  try {
    // The preedit grows as the user types, then the input method commits the result.
    for (let i = 1; i <= text.length; i++) {
      await cdp.send('Input.imeSetComposition', { text: text.slice(0, i), selectionStart: i, selectionEnd: i });
    }
    await cdp.send('Input.insertText', { text });
  } finally {
    await cdp.detach();
  }
}

async function typeEveryWay(t: Test, f: Fixture): Promise<void> {
  const { page, file } = f;
  let expected = '';
  // 1. A German keyboard: Shift, AltGr and a dead key, each character's key event carrying it in `key`.
  await typeGerman(page, TEXT + MORE);
  expected += `${TEXT}${MORE}\n`;
  await endLine(t, page, file, expected, 'a German keyboard\'s key presses arrive as the characters they typed');
  // 2. What playwright's type() does: keys for the characters of a US layout, inserted text for the others.
  await page.keyboard.type(TEXT);
  expected += `${TEXT}\n`;
  await endLine(t, page, file, expected, 'type() arrives exactly');
  // 3. Inserted text without any key (an on-screen keyboard, a password manager).
  await page.keyboard.insertText(TEXT);
  expected += `${TEXT}\n`;
  await endLine(t, page, file, expected, 'inserted text arrives exactly');
  // 4. An input method's composition.
  await compose(page, TEXT);
  expected += `${TEXT}\n`;
  await endLine(t, page, file, expected, 'a composition arrives as its result, once');
  // 5. Shortcuts and editing keys stay physical: Backspace erases in the terminal's line editing.
  await page.keyboard.type('abc');
  await page.keyboard.press('Backspace');
  expected += 'ab\n';
  await endLine(t, page, file, expected, 'Backspace goes as a key');
  // A shortcut goes by the letter the helper's layout puts on the key: Ctrl+U (kill-line) from a key at another
  // position (a layout with U where a US keyboard has I).
  await page.keyboard.type('gone');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', key: 'Control', code: 'ControlLeft', modifiers: CDP_CTRL });
  await cdp.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', key: 'u', code: 'KeyI', modifiers: CDP_CTRL });
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'u', code: 'KeyI', modifiers: CDP_CTRL });
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Control', code: 'ControlLeft' });
  await cdp.detach();
  await page.keyboard.type('kept');
  expected += 'kept\n';
  await endLine(t, page, file, expected, 'Ctrl+U goes by its letter');
  // 6. Caps Lock on at the host (its own user pressed it) does not change the helper's characters.
  f.server.run('xdotool', ['key', 'Caps_Lock']);
  await page.keyboard.insertText(TEXT);
  expected += `${TEXT}\n`;
  await endLine(t, page, file, expected, 'the host\'s Caps Lock does not change the case');
  f.server.run('xdotool', ['key', 'Caps_Lock']);
  t.equal(f.input.stats.unmapped, 0, 'no character was lost in the adapter');
  t.same(f.errors, [], 'the page threw nothing');
}

t.test('every character typed in the viewer arrives in a US host\'s xterm', { skip }, async (t) => {
  const f = await setup(t);
  t.equal(await f.page.evaluate(() => (window as any).tessera.typingMode), 'characters', 'typing characters is the default');
  await typeEveryWay(t, f);
});

t.test('every character typed in the viewer arrives in a German host\'s xterm', { skip: skipDe }, async (t) => {
  const f = await setup(t, 'de');
  t.match(f.server.run('setxkbmap', ['-display', f.server.display, '-query']).toString(), /layout:\s+de/, 'the X server types German');
  await typeEveryWay(t, f);
});

t.test('in physical-keys mode keys follow the host\'s layout and shortcuts still work', { skip }, async (t) => {
  const f = await setup(t);
  const { page, file } = f;
  await page.locator('#typing-mode').selectOption('keys');
  t.equal(await page.evaluate(() => (window as any).tessera.typingMode), 'keys');
  t.equal(await page.evaluate(() => localStorage.getItem('tessera.typingMode')), 'keys', 'the choice is kept');
  await page.locator('#screen').click();
  // No physical Shift: the host's layout types the unshifted keys.
  await page.keyboard.type('Hi');
  await page.keyboard.press('Shift+KeyX');
  await endLine(t, page, file, 'hiX\n', 'keys go by physical code');
  // Ctrl+U (the terminal's kill-line) erases the line typed so far.
  await page.keyboard.type('gone');
  await page.keyboard.press('Control+KeyU');
  await page.keyboard.type('kept');
  await endLine(t, page, file, 'hiX\nkept\n', 'Ctrl+U goes as a shortcut');
  await page.reload();
  await page.waitForFunction(() => (window as any).tessera?.state !== undefined);
  t.equal(await page.evaluate(() => (window as any).tessera.typingMode), 'keys', 'the mode survives a reload');
});

t.test('the virtual desktop\'s text field gets every character too', { skip: skipBrowser }, async (t) => {
  const screen = new VirtualScreen({ width: 800, height: 600 });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', name: 'typing-test' });
  const web = await serveWeb(host, { port: 0 });
  t.teardown(async () => {
    await host.close();
    await web.close();
  });
  browser ??= await launchChromium({ viewport: { width: 1024, height: 700 } });
  const page = await browser.newPage();
  t.teardown(() => page.close());
  await page.goto(web.url(await host.createInvitation({ mode: 'control', expires: '30m' })));
  await page.waitForFunction(() => (window as any).tessera?.mode === 'control', undefined, { timeout: 20_000 });
  await page.locator('#screen').click();
  await typeGerman(page, TEXT);
  await page.keyboard.insertText(MORE);
  await waitUntil('the text on the virtual desktop', () => screen.text.length >= (TEXT + MORE).length, 10_000);
  t.equal(screen.text, TEXT + MORE, "a German keyboard's key presses and inserted text arrive exactly");
});
