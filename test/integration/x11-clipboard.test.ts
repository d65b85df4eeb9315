/**
 * The X CLIPBOARD both ways on Xvfb (issue #19 item 3), checked with xclip as the other X client: text tessera
 * sets is what a paste gets (UTF-8 and the Latin-1 STRING target), and text another client copies is reported.
 */
import t from 'tap';
import { X11Clipboard } from '../../src/adapters/x11/x11-clipboard.js';
import { spawn } from 'node:child_process';
import { startXvfb, xvfbMissing, type XServer } from '../helpers/xvfb.js';

/** Runs xclip without blocking the event loop (tessera answers the paste on it); stdin when given; its stdout. */
function xclip(server: XServer, args: readonly string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('xclip', [...args], { env: server.env, stdio: ['pipe', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('close', () => (clearTimeout(timer), resolve(Buffer.concat(out))));
    if (input === undefined) child.stdin.end();
    else child.stdin.end(input);
  });
}

const skip = xvfbMissing(['xclip']);

t.test('tessera owns the clipboard: a paste gets the text; another client copying is reported', { skip }, async (t) => {
  const server = await startXvfb({ width: 320, height: 240 });
  t.teardown(() => server.stop());
  const clip = await X11Clipboard.open({ display: server.display, maxBytes: 4096 });
  t.teardown(() => clip.close());
  t.ok(clip.watches, 'Xvfb has XFIXES: changes are reported');

  const text = 'Grüße, café: 5 € > 4 $? «ñ» ß';
  await clip.setText(text);
  t.equal((await xclip(server, ['-o', '-selection', 'clipboard'])).toString('utf8'), text, 'xclip pastes the UTF-8 text exactly');
  t.equal((await xclip(server, ['-o', '-selection', 'clipboard', '-t', 'STRING'])).toString('latin1'), 'Grüße, café: 5 ? > 4 $? «ñ» ß', 'STRING is Latin-1, € becomes ?');
  const targets = (await xclip(server, ['-o', '-selection', 'clipboard', '-t', 'TARGETS'])).toString('utf8').split('\n').filter(Boolean);
  t.same(targets.sort(), ['STRING', 'TARGETS', 'TEXT', 'UTF8_STRING']);

  const copied = new Promise<string>((resolve) => clip.onChange(resolve));
  void xclip(server, ['-i', '-selection', 'clipboard', '-l', '1'], 'copied on the host: ünïcödé ✓');
  t.equal(await copied, 'copied on the host: ünïcödé ✓', 'text another client copied is read and reported');
});

t.test('sizes are bounded: text over maxBytes is refused, not cut', { skip }, async (t) => {
  const server = await startXvfb({ width: 320, height: 240 });
  t.teardown(() => server.stop());
  const clip = await X11Clipboard.open({ display: server.display, maxBytes: 16 });
  t.teardown(() => clip.close());
  await t.rejects(clip.setText('x'.repeat(17)), { code: 'TESSERA_ERR_LIMIT_EXCEEDED' });
  const seen: string[] = [];
  clip.onChange((text) => seen.push(text));
  void xclip(server, ['-i', '-selection', 'clipboard', '-l', '1'], 'y'.repeat(100));
  await new Promise((r) => setTimeout(r, 1500));
  t.same(seen, [], 'a larger copy is not read');
  const small = new Promise<string>((resolve) => clip.onChange(resolve));
  void xclip(server, ['-i', '-selection', 'clipboard', '-l', '1'], 'fits');
  t.equal(await small, 'fits');
});

t.test('through a session: a controlling helper\'s text reaches the X clipboard, and what the host copies reaches it; a view-only helper gets nothing', { skip }, async (t) => {
  const server = await startXvfb({ width: 320, height: 240 });
  t.teardown(() => server.stop());
  const { Helper, Host, X11Input, X11Screen } = await import('../../src/index.js');
  const source = await X11Screen.open({ display: server.display });
  const sink = await X11Input.open({ display: server.display });
  t.teardown(async () => {
    await sink.close();
    await source.close();
  });
  const host = new Host({ source, sink, consent: () => 'control', cursor: false });
  t.teardown(() => host.close());
  await host.listen({ port: 0, host: '127.0.0.1' });
  const { invitation: forControl } = await host.createInvitation({ mode: 'control', expires: '30m', uses: 1 });
  const { invitation: forViewing } = await host.createInvitation({ mode: 'view', expires: '30m', uses: 1 });
  const controller = await Helper.connect(forControl, { requestControl: true });
  t.teardown(() => controller.close());
  const viewer = await Helper.connect(forViewing);
  t.teardown(() => viewer.close());
  t.equal(controller.mode, 'control');
  t.equal(viewer.mode, 'view');

  controller.clipboard('from the helper: naïve ✓');
  let pasted = '';
  for (let i = 0; i < 50 && pasted !== 'from the helper: naïve ✓'; i++) {
    pasted = (await xclip(server, ['-o', '-selection', 'clipboard'])).toString('utf8');
    if (pasted !== 'from the helper: naïve ✓') await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(pasted, 'from the helper: naïve ✓', 'an X client pastes what the helper sent');

  const seenByViewer: string[] = [];
  viewer.on('clipboard', (text: string) => seenByViewer.push(text));
  const got = new Promise<string>((resolve) => controller.on('clipboard', resolve));
  void xclip(server, ['-i', '-selection', 'clipboard', '-l', '2'], 'copied on the host');
  t.equal(await got, 'copied on the host', 'the controlling helper gets what the host copied');
  await new Promise((r) => setTimeout(r, 300));
  t.same(seenByViewer, [], 'the view-only helper gets nothing');
});
