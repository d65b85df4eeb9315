/**
 * The X11 adapter end to end on Xvfb: a Host shares a real X display (X11Screen + X11Input) over loopback TCP and a
 * Helper sees and controls it. Each test starts its own Xvfb; the file skips when Xvfb or the X client programs
 * (xwd, xdotool, xterm, xlogo) are missing.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { Host, Helper, type HostSessionHandle } from '../../src/index.js';
import { X11Input, X11Screen } from '../../src/adapters/x11/index.js';
import { X11Connection } from '../../src/adapters/x11/x11-connection.js';
import { parseXwd, startXvfb, waitUntil, xvfbMissing, type XServer } from '../helpers/xvfb.js';
import { startCatTerminal } from '../helpers/xvfb.js';

const WIDTH = 800;
const HEIGHT = 600;
const skip = xvfbMissing(['xwd', 'xdotool', 'xterm', 'xlogo']);

interface Fixture {
  server: XServer;
  screen: X11Screen;
  input: X11Input;
  host: Host;
  helper: Helper;
  sessions: HostSessionHandle[];
}

async function setup(t: Test, mode: 'view' | 'control' = 'control', hostOptions: { maxEventsPerSecond?: number } = {}): Promise<Fixture> {
  const server = await startXvfb({ width: WIDTH, height: HEIGHT });
  t.teardown(() => server.stop());
  const screen = await X11Screen.open({ display: server.display });
  const input = await X11Input.open({ display: server.display });
  const host = new Host({ source: screen, sink: input, consent: () => mode, name: 'x11-test', ...hostOptions });
  const sessions: HostSessionHandle[] = [];
  host.on('session', (s: HostSessionHandle) => sessions.push(s));
  await host.listen({ port: 0 });
  // Teardowns run in reverse order: the helper leaves, the host closes, the adapters close, then Xvfb stops.
  t.teardown(async () => {
    await input.close();
    await screen.close();
  });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ mode, expires: '30m' });
  const helper = await Helper.connect(invitation.toURL(), { requestControl: mode === 'control' });
  t.teardown(() => helper.close());
  await helper.waitForFrame(() => true);
  return { server, screen, input, host, helper, sessions };
}

function xwdPixels(server: XServer): Uint8Array {
  const image = parseXwd(server.run('xwd', ['-root', '-silent']));
  if (image.width !== WIDTH || image.height !== HEIGHT) throw new Error(`xwd gave ${image.width}x${image.height}`);
  return image.data;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function pointerLocation(server: XServer): { x: number; y: number } {
  const out = server.run('xdotool', ['getmouselocation']).toString();
  const match = /x:(\d+) y:(\d+)/.exec(out);
  if (!match) throw new Error(`unexpected xdotool output: ${out}`);
  return { x: Number(match[1]), y: Number(match[2]) };
}

const catTerminal = async (t: Test, server: XServer): Promise<{ file: string }> => ({ file: await startCatTerminal(t, server) });

/** Waits until the helper has seen every request it sent processed by the host (one ping round trip). */
async function roundTrip(helper: Helper): Promise<void> {
  helper.ping();
  await new Promise((resolve) => helper.once('rtt', resolve));
}

t.test('the helper frame equals the X server\'s own capture pixel for pixel', { skip }, async (t) => {
  const { server, helper, screen } = await setup(t);
  t.ok(screen.damageTracking, 'captures are driven by DAMAGE on Xvfb');
  server.spawn('xlogo', ['-geometry', '220x180+40+50']);
  server.spawn('xterm', ['-geometry', '60x8+300+250', '-e', 'sh', '-c', 'printf "tessera on X11\\n"; sleep 60']);
  // Settled: the helper holds exactly what xwd reads, twice in a row half a second apart.
  let matches = 0;
  await waitUntil(
    'the helper frame to equal xwd',
    async () => {
      const expected = xwdPixels(server);
      const same = await Promise.race([
        helper.waitForFrame((fb) => equalBytes(fb.data, expected)).then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500)),
      ]);
      matches = same ? matches + 1 : 0;
      return matches >= 2;
    },
    20_000,
    200,
  );
  const data = helper.framebuffer.data;
  let nonBackground = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) nonBackground++;
  t.ok(nonBackground > 1000, `the frame shows the clients (${nonBackground} pixels differ from the background)`);
  t.same({ width: helper.width, height: helper.height }, { width: WIDTH, height: HEIGHT });
});

t.test('a helper\'s pointer move lands where xdotool says', { skip }, async (t) => {
  const { server, helper, screen } = await setup(t);
  for (const [x, y] of [[123, 45], [0, 0], [WIDTH - 1, HEIGHT - 1], [400, 300]] as const) {
    helper.pointer(x, y);
    const at = await waitUntil(`the pointer at ${x},${y}`, () => {
      const p = pointerLocation(server);
      return p.x === x && p.y === y ? p : undefined;
    }, 5_000);
    t.same(at, { x, y });
  }
  await screen.capture();
  t.same({ x: screen.cursor.x, y: screen.cursor.y }, { x: 400, y: 300 }, 'the screen source reports the pointer too');
});

t.test('text typed by a helper arrives in an xterm exactly', { skip }, async (t) => {
  const { server, helper, input } = await setup(t);
  const { file } = await catTerminal(t, server);
  const text = 'Hello, World! 0123456789 `~!@#$%^&*()-_=+[]{}\\|;:\'",.<>/? caf\u00e9';
  // Physical keys for the first word, so key events and text events both travel.
  helper.key('ShiftLeft', true);
  helper.key('KeyT', true);
  helper.key('KeyT', false);
  helper.key('ShiftLeft', false);
  helper.key('KeyO', true);
  helper.key('KeyO', false);
  helper.key('Space', true);
  helper.key('Space', false);
  helper.type(text);
  helper.key('Enter', true);
  helper.key('Enter', false);
  helper.key('ControlLeft', true);
  helper.key('KeyD', true);
  helper.key('KeyD', false);
  helper.key('ControlLeft', false);
  const typed = await waitUntil('the typed line in the file', () => {
    const s = readFileSync(file, 'utf8');
    return s.endsWith('\n') ? s : undefined;
  }, 10_000);
  t.equal(typed, `To ${text}\n`);
  t.ok(input.stats.remapped >= 1, 'the accented letter went through a temporarily bound keycode');
  t.equal(input.stats.unmapped, 0);
});

t.test('a view-only helper\'s input never arrives', { skip }, async (t) => {
  const { server, helper, sessions } = await setup(t, 'view');
  const { file } = await catTerminal(t, server);
  t.equal(helper.mode, 'view');
  const before = pointerLocation(server);
  helper.sendInputUnchecked([
    { type: 'text', text: 'hack' },
    { type: 'keyDown', code: 'Enter', modifiers: 0 },
    { type: 'keyUp', code: 'Enter', modifiers: 0 },
    { type: 'pointerMove', x: 10, y: 10, buttons: 0 },
    { type: 'buttonDown', button: 0, x: 10, y: 10 },
    { type: 'buttonUp', button: 0, x: 10, y: 10 },
  ]);
  await roundTrip(helper);
  // Give anything that did slip through time to reach the terminal.
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(readFileSync(file, 'utf8'), '', 'the file stays empty');
  t.same(pointerLocation(server), before, 'the pointer did not move');
  t.equal(sessions[0]!.stats.input.dropped.notControl, 6, 'every event was dropped at the gate');
  t.equal(sessions[0]!.stats.input.admitted, 0);
});

t.test('a window mapped on the display reaches the helper promptly', { skip }, async (t) => {
  const { server, helper } = await setup(t);
  const conn = await X11Connection.open({ display: server.display, shm: false });
  t.teardown(() => conn.close());
  // Let the first frames settle so the measurement covers one damage-driven update.
  await roundTrip(helper);
  const rect = { x: 333, y: 222, width: 120, height: 90 };
  const isRed = (fb: { width: number; data: Uint8Array }) => {
    for (const [x, y] of [[rect.x + 1, rect.y + 1], [rect.x + rect.width - 2, rect.y + rect.height - 2], [rect.x + 60, rect.y + 45]] as const) {
      const i = (y * fb.width + x) * 4;
      if (fb.data[i] !== 255 || fb.data[i + 1] !== 0 || fb.data[i + 2] !== 0) return false;
    }
    return true;
  };
  t.notOk(isRed(helper.framebuffer), 'the area is not red before');
  const wid = conn.allocId();
  conn.send(conn.X, 'CreateWindow', wid, conn.screen.root, rect.x, rect.y, rect.width, rect.height, 0, 0, 0, 0, { backgroundPixel: 0xff0000, overrideRedirect: 1 });
  const seen = helper.waitForFrame(isRed);
  const t0 = performance.now();
  conn.send(conn.X, 'MapWindow', wid);
  await conn.sync();
  const mappedMs = performance.now() - t0;
  await seen;
  const ms = performance.now() - t0;
  t.pass('the red window reached the helper');
  t.comment(`map to helper frame: ${ms.toFixed(1)} ms (MapWindow round trip ${mappedMs.toFixed(1)} ms)`);
});

t.test('revoking control stops a long paste mid-way: input already queued for the X server is not injected', { skip }, async (t) => {
  // A generous rate limit: the whole paste passes the gate at once and waits in the host's queue for the sink.
  const { server, helper, sessions } = await setup(t, 'control', { maxEventsPerSecond: 1_000_000 });
  const { file } = await catTerminal(t, server);

  // The paste: 200 numbered lines of 40 characters, each ended with Enter (cat writes a line once it is complete).
  const LINES = 200;
  const lines = Array.from({ length: LINES }, (_, i) => `${String(i).padStart(3, '0')} ${'abcdefghij'.repeat(4).slice(0, 36)}`);
  for (const line of lines) {
    helper.sendInput([{ type: 'text', text: line }, { type: 'keyDown', code: 'Enter', modifiers: 0 }, { type: 'keyUp', code: 'Enter', modifiers: 0 }]);
  }
  // The host user presses Esc once the first lines have arrived.
  await waitUntil('the first lines of the paste', () => (readFileSync(file, 'utf8').split('\n').length > 3 ? true : undefined), 10_000);
  sessions[0]!.revokeControl();
  const atRevoke = readFileSync(file, 'utf8').split('\n').length - 1;
  // The file stops growing: wait until it has been still for a while (bounded).
  let last = -1;
  await waitUntil('the file to stop growing', () => {
    const n = readFileSync(file, 'utf8').length;
    const still = n === last;
    last = n;
    return still ? true : undefined;
  }, 10_000, 300);
  const typed = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  t.comment(`${atRevoke} lines when control was revoked, ${typed.length} in the end, of ${LINES}; ${sessions[0]!.stats.inputCancelled} queued events dropped`);
  t.ok(typed.length < LINES, `the paste stopped mid-way (${typed.length} of ${LINES} lines)`);
  t.ok(typed.length - atRevoke <= 2, 'at most the line being typed when Esc was pressed was finished after it');
  t.same(typed, lines.slice(0, typed.length), 'what arrived is the beginning of the paste, exactly');
  t.ok(sessions[0]!.stats.inputCancelled > 0, 'the dropped events are counted');
});
