/**
 * The public objects carry only what an app may do (ARCHITECTURE.md, Invariants): input reaches a sink only through
 * a session's gate, so no method on Host or HostSessionHandle injects input or reaches the session's internals.
 */
import t from 'tap';
import { EventEmitter } from 'node:events';
import { Host, Helper, VirtualScreen, createDuplexPair, type HostSessionHandle } from '../../../src/index.js';
import * as api from '../../../src/index.js';

const members = (o: object): string[] => {
  const names = new Set<string>();
  for (let p: object | null = o; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) for (const k of Object.getOwnPropertyNames(p)) names.add(k);
  return [...names];
};

t.test('Host and HostSessionHandle expose no internal member', async (t) => {
  const screen = new VirtualScreen({ width: 320, height: 240 });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control' });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ mode: 'control', expires: '10m' });
  const [a, b] = createDuplexPair();
  const sessionP = host.attach(a, '192.0.2.1:1');
  const helper = await Helper.attach(b, { handshake: { invitation: invitation.invitation } });
  t.teardown(() => helper.close());
  const session: HostSessionHandle = await sessionP;
  const internal = ['inject', 'audit', 'reportError', 'askControl', 'detach', 'kick', 'acknowledged', 'setClipboard', 'session', 'flush', 'start', 'tick', 'destroy', 'sendUpdate', 'countReceived'];
  t.same(members(host).filter((m) => internal.includes(m)), [], 'Host');
  t.same(members(session).filter((m) => internal.includes(m)), [], 'HostSessionHandle');
  const plain = new EventEmitter();
  const extra = (o: object) => Object.getOwnPropertySymbols(o).map(String).filter((k) => !Object.getOwnPropertySymbols(plain).map(String).includes(k));
  t.same([...extra(session), ...extra(host)], [], 'no symbol-keyed back door either (beyond EventEmitter\'s own)');
});

t.test('the public surface: the API, the driver for custom transports, the sans-IO layers and the errors', async (t) => {
  for (const name of ['Host', 'Helper', 'HostInvitation', 'HostSessionHandle', 'driveInitiator', 'driveResponder', 'SessionDriver', 'HelperConnection', 'duplexLink', 'HostSession', 'HelperSession', 'TileEncoder', 'TileDecoder', 'acceptHandshake', 'connectHandshake', 'TesseraError', 'ErrorCode', 'toTesseraError', 'defaults']) {
    t.ok(name in api, `exports ${name}`);
  }
  t.equal(api.defaults.DEFAULT_PORT, 3389, 'the defaults, from their one home');
  t.notOk('SessionEntry' in api, 'the host-internal session entry is not exported');
});
