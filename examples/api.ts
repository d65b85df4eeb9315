/** The README's API example, runnable: node --import tsx examples/api.ts */
import { Host, Helper, VirtualScreen } from '../src/index.js'; // 'tessera' in an app that installed it

// The host: share a screen, ask the user before anyone connects.
const screen = new VirtualScreen({ width: 1280, height: 720 }); // a ScreenSource and an InputSink
const host = new Host({
  source: screen,
  sink: screen,
  // Ask your user here; answer the mode to allow (at most request.maxMode) or 'decline'.
  consent: async (request) => request.maxMode,
});
const { port } = await host.listen({ port: 0 }); // 3389 by default; 127.0.0.1 by default
const invitation = await host.createInvitation({ mode: 'control', expires: { value: 30, units: 'minutes' } });
host.on('session', (session) => {
  session.on('control-request', () => console.log('the helper asks for control'));
  session.on('mode', (m: { mode: string }) => console.log('helper mode:', m.mode)); // session.revokeControl() takes it back
});
host.on('audit', (event) => console.log('audit', event.decision, event.code ?? ''));

// The helper: connect with the URL (or the .tessera text, or a path to the file).
const helper = await Helper.connect(invitation.toURL(), { requestControl: true });
await helper.waitForFrame(() => true);
console.log(`helper sees ${helper.framebuffer.width}x${helper.framebuffer.height}, mode ${helper.mode}`);
helper.type('hello');                          // unicode text; helper.key('KeyA', true) for physical keys
helper.pointer(100, 100, 1);                   // move with the left button down
helper.pointer(140, 120, 0);                   // and release
helper.on('frame', ({ rects }) => void rects);  // what changed; helper.framebuffer holds RGBA pixels
await new Promise((r) => setTimeout(r, 200));
console.log('typed into the virtual desktop:', screen.text);
await helper.close();
await host.close();
