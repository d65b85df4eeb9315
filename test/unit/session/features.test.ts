/**
 * Session features (spec/session.md §6.8): offered in Welcome, taken by the helper's first message, and until
 * then neither channel nor message of a feature may be used.
 */
import t from 'tap';
import { Deframer, NullProtector, encodeFrame, Channel, DEFAULT_MAX_BODY_BYTES } from '../../../src/framing/index.js';
import { decodeControl, encodeControl } from '../../../src/framing/control.js';
import { HostSession } from '../../../src/session/host-session.js';
import { HelperSession } from '../../../src/session/helper-session.js';
import { FEATURES, featureCaps, offeredFeatures, type Feature } from '../../../src/session/features.js';

const NOW = 1_000;
const deframer = () => new Deframer({ maxBodyBytes: DEFAULT_MAX_BODY_BYTES });

function host(offered: readonly Feature[]) {
  return new HostSession({ deframer: deframer(), seal: NullProtector, now: NOW, mode: 'view', maxMode: 'view', width: 10, height: 10, clock: () => NOW, offeredFeatures: offered });
}

function drain<E>(s: { pollEvent(): E | undefined }): E[] {
  const out: E[] = [];
  for (let e; (e = s.pollEvent()); ) out.push(e);
  return out;
}

/** The control messages a session queued, in order. */
function sentControls(s: { pollTransmit(): Uint8Array | undefined }) {
  const out = [];
  const d = deframer();
  for (let b; (b = s.pollTransmit()); ) d.push(b);
  for (let frame = d.next(); frame; frame = d.next()) if (frame.channel === Channel.Control) out.push(decodeControl(frame.payload));
  return out;
}

t.test('Welcome caps: a host offers each feature as a key with its version; a helper reads only keys it knows', async (t) => {
  t.same(featureCaps(['cursor', 'transfer']), { cursor: FEATURES.cursor, transfer: FEATURES.transfer });
  t.same(offeredFeatures({ codec: 1, quality: 'lossless', ...featureCaps(['transfer']) }), ['transfer']);
  t.same(offeredFeatures({ codec: 1, cursor: 'yes', transfer: 0, future: 3 }), [], 'a non-int value, version 0 and unknown keys offer nothing');
  t.same(offeredFeatures({}), []);
});

t.test('the helper takes the offered features it wants with its first message; the host turns them on', async (t) => {
  const h = host(['cursor', 'transfer']);
  const helper = new HelperSession({ deframer: deframer(), seal: NullProtector, now: NOW, mode: 'view', offeredFeatures: ['cursor', 'transfer'], features: ['transfer'] });
  t.ok(helper.hasFeature('transfer'));
  t.notOk(helper.hasFeature('cursor'), 'offered but not wanted stays off');
  const first = helper.pollTransmit();
  t.ok(first, 'the helper queued its features before anything else');
  t.notOk(h.hasFeature('transfer'), 'off on the host until the message arrives');
  h.handleBytes(first!, NOW);
  t.ok(h.hasFeature('transfer'));
  t.notOk(h.hasFeature('cursor'));
  t.same(drain(h), [{ type: 'features', features: ['transfer'] }]);
  t.equal(h.state, 'open');
});

t.test('a helper sends no features message when the host offered nothing it takes (an older host never sees one)', async (t) => {
  for (const [offered, wanted] of [
    [[], ['cursor', 'transfer']],
    [['cursor'], ['transfer']],
    [['cursor', 'transfer'], []],
  ] as const) {
    const helper = new HelperSession({ deframer: deframer(), seal: NullProtector, now: NOW, mode: 'view', offeredFeatures: offered, features: wanted });
    t.same(sentControls(helper), [], `offered ${JSON.stringify(offered)}, wanted ${JSON.stringify(wanted)}`);
  }
});

t.test('a features message naming what the host did not offer, or a newer version, ends the session with INVALID_FIELD', async (t) => {
  const cases = [
    { offered: [] as Feature[], msg: { t: 'features', cursor: 1 } },
    { offered: ['transfer'] as Feature[], msg: { t: 'features', cursor: 1 } },
    { offered: ['cursor'] as Feature[], msg: { t: 'features', cursor: FEATURES.cursor + 1 } },
  ] as const;
  for (const c of cases) {
    const h = host(c.offered);
    h.handleBytes(encodeFrame(Channel.Control, encodeControl(c.msg as never)), NOW);
    const closed = drain(h).find((e) => e.type === 'closed');
    t.match(closed, { type: 'closed', reason: 'protocol-error', error: { code: 'TESSERA_ERR_INVALID_FIELD' } }, JSON.stringify(c));
    t.same(sentControls(h).at(-1), { t: 'close', reason: 'protocol-error', message: closed && 'message' in closed ? closed.message : undefined });
  }
});

t.test('a second features message is UNEXPECTED_MESSAGE', async (t) => {
  const h = host(['cursor']);
  const msg = encodeFrame(Channel.Control, encodeControl({ t: 'features', cursor: 1 }));
  h.handleBytes(msg, NOW);
  t.ok(h.hasFeature('cursor'));
  h.handleBytes(msg, NOW);
  t.match(drain(h).find((e) => e.type === 'closed'), { reason: 'protocol-error', error: { code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' } });
});

t.test('frames on a feature channel that is off are UNEXPECTED_MESSAGE on either side', async (t) => {
  for (const channel of [Channel.Cursor, Channel.Transfer]) {
    const h = host(['cursor', 'transfer']);
    h.handleBytes(encodeFrame(channel, new Uint8Array([1, 2, 3])), NOW);
    t.match(drain(h).find((e) => e.type === 'closed'), { reason: 'protocol-error', error: { code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' } }, `host, channel ${channel}`);

    const helper = new HelperSession({ deframer: deframer(), seal: NullProtector, now: NOW, mode: 'view' });
    helper.handleBytes(encodeFrame(channel, new Uint8Array([1, 2, 3])), NOW);
    t.match(drain(helper).find((e) => e.type === 'closed'), { reason: 'protocol-error', error: { code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' } }, `helper, channel ${channel}`);
  }
});

t.test('a host may not send features', async (t) => {
  const helper = new HelperSession({ deframer: deframer(), seal: NullProtector, now: NOW, mode: 'view' });
  helper.handleBytes(encodeFrame(Channel.Control, encodeControl({ t: 'features', cursor: 1 })), NOW);
  t.match(drain(helper).find((e) => e.type === 'closed'), { error: { code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' } });
});
