import t from 'tap';
import { FrameRate, controlNotice, invitationNamesHost, invitationPlace, specialKeyEvents, statusLine } from '../../../web/toolbar.js';
import { anotherHostScreen } from '../../../web/messages.js';
import { Modifier } from '../../../src/input/constants.js';

t.test('the frame rate counts frames painted in the last second', async (t) => {
  const r = new FrameRate();
  t.equal(r.rate(0), 0);
  for (let at = 0; at < 1000; at += 40) r.note(at);
  t.equal(r.rate(999), 25);
  t.equal(r.rate(1500), 12, 'frames older than a second drop out');
  t.equal(r.rate(3000), 0);
  r.note(3000);
  r.reset();
  t.equal(r.rate(3000), 0);
});

t.test('the readout says the round trip and the frame rate', async (t) => {
  t.equal(statusLine(undefined, 0), 'RTT – ms · 0 fps');
  t.equal(statusLine(12.6, 30), 'RTT 13 ms · 30 fps');
});

t.test('each change of control the host makes has its notice', async (t) => {
  const view = { mode: 'view', paused: false } as const;
  const control = { mode: 'control', paused: false } as const;
  const paused = { mode: 'control', paused: true } as const;
  t.match(controlNotice(control, view, 'ann', false), { kind: 'revoked', tone: 'warning', sticky: false, text: /^ann took back control/ });
  t.match(controlNotice(paused, view, 'ann', false), { kind: 'revoked' }, 'revoked while paused');
  t.match(controlNotice(control, paused, 'ann', false), { kind: 'paused', sticky: true, text: /^ann paused your control/ });
  t.match(controlNotice(paused, control, 'ann', false), { kind: 'resumed', tone: 'info', text: 'ann resumed your control.' });
  t.match(controlNotice(view, control, 'ann', true), { kind: 'granted', text: 'ann gave you control.' });
  t.match(controlNotice(view, view, 'ann', true), { kind: 'denied' }, 'asked and left viewing: denied');
  t.equal(controlNotice(view, view, 'ann', false), undefined, 'nothing changed');
  t.equal(controlNotice(control, control, 'ann', false), undefined);
  t.equal(controlNotice(paused, paused, 'ann', false), undefined, 'a pause said once');
});

t.test('an invitation names the page host by any address or its relay, whatever the port', async (t) => {
  const inv = { addresses: [{ host: 'Helpdesk.example', port: 3389 }, { host: '2001:db8::1', port: 3389 }], relay: undefined };
  t.ok(invitationNamesHost(inv, 'helpdesk.example'));
  t.ok(invitationNamesHost(inv, 'helpdesk.example.'), 'a trailing dot is the same name');
  t.ok(invitationNamesHost(inv, '[2001:db8::1]'), 'location.hostname brackets an IPv6 address');
  t.notOk(invitationNamesHost(inv, 'other.example'));
  const loop = { addresses: [{ host: '127.0.0.1', port: 3389 }] };
  t.ok(invitationNamesHost(loop, 'localhost'), 'loopback names are one host');
  t.ok(invitationNamesHost(loop, '[::1]'));
  const relayed = { addresses: [], relay: { url: 'wss://relay.example:8443/tessera', id: new Uint8Array(16) } };
  t.ok(invitationNamesHost(relayed, 'relay.example'));
  t.notOk(invitationNamesHost(relayed, 'helpdesk.example'));
  t.equal(invitationPlace(inv), 'Helpdesk.example:3389, [2001:db8::1]:3389');
  t.equal(invitationPlace(relayed), 'relay wss://relay.example:8443/tessera');
  t.equal(invitationPlace({ addresses: [] }), 'no address');
});

t.test('the other-host screen is no impostor warning', async (t) => {
  const m = anotherHostScreen('host-b', 'b.example:3389', 'a.example:8080');
  t.equal(m.code, 'another-host');
  t.equal(m.tone, 'info');
  t.match(m.body, /host-b \(b\.example:3389\).*a\.example:8080.*tessera connect/);
  t.notMatch(m.body, /do not continue/);
});

t.test('a special key is a chord pressed in order and released in reverse, modifiers as after each event', async (t) => {
  const cad = specialKeyEvents('ctrl-alt-del');
  const ca = Modifier.Ctrl | Modifier.Alt;
  t.same(cad, [
    { type: 'keyDown', code: 'ControlLeft', modifiers: Modifier.Ctrl },
    { type: 'keyDown', code: 'AltLeft', modifiers: ca },
    { type: 'keyDown', code: 'Delete', modifiers: ca },
    { type: 'keyUp', code: 'Delete', modifiers: ca },
    { type: 'keyUp', code: 'AltLeft', modifiers: Modifier.Ctrl },
    { type: 'keyUp', code: 'ControlLeft', modifiers: 0 },
  ]);
  t.same(specialKeyEvents('super'), [
    { type: 'keyDown', code: 'MetaLeft', modifiers: Modifier.Meta },
    { type: 'keyUp', code: 'MetaLeft', modifiers: 0 },
  ]);
  t.same(specialKeyEvents('alt-tab').map((e) => e.type === 'keyDown' || e.type === 'keyUp' ? `${e.type}:${e.code}` : e.type), ['keyDown:AltLeft', 'keyDown:Tab', 'keyUp:Tab', 'keyUp:AltLeft']);
});
