/**
 * The NATS client's parser (bounded, total, incremental), its URL rules, the presence messages relays publish, and
 * the relay's Redirect message and offer ids (spec/relay.md §3, §5.1, §5.2). The client against a real nats-server
 * is in test/integration/relay-offer.test.ts.
 */
import t from 'tap';
import { ErrorCode } from '../../../src/core/index.js';
import { decodeRelayMessage, encodeRelayMessage, isRedirectUrl, offerRendezvousId, rendezvousId } from '../../../src/handshake/index.js';
import { MAX_NATS_LINE_BYTES, NatsParser, parseNatsUrl } from '../../../src/relay/nats.js';
import { MAX_PRESENCE_IDS, PRESENCE_SUBJECT, SYNC_SUBJECT, decodePresence } from '../../../src/relay/presence.js';

const enc = new TextEncoder();

t.test('the parser reads INFO, PING, PONG, +OK, -ERR and MSG, byte by byte as well as whole', async (t) => {
  const text = 'INFO {"max_payload":100}\r\nPING\r\nMSG a.b 7 5\r\nhello\r\nMSG a.b 7 _INBOX.1 0\r\n\r\n+OK\r\nPONG\r\n-ERR \'Unknown Protocol Operation\'\r\n';
  const whole = new NatsParser().push(enc.encode(text));
  const p = new NatsParser();
  const bytewise = [...enc.encode(text)].flatMap((b) => p.push(Uint8Array.of(b)));
  t.same(bytewise, whole);
  t.same(whole.map((e) => e.op), ['info', 'ping', 'msg', 'msg', 'ok', 'pong', 'err']);
  const msg = whole[2] as { subject: string; sid: string; reply?: string; payload: Uint8Array };
  t.equal(msg.subject, 'a.b');
  t.equal(Buffer.from(msg.payload).toString(), 'hello');
  t.equal((whole[3] as { reply?: string }).reply, '_INBOX.1');
  t.equal((whole[6] as { message: string }).message, 'Unknown Protocol Operation');
});

t.test('the parser is bounded: a long line, a payload over max_payload, a bad size or trailer are typed errors', async (t) => {
  const p = new NatsParser();
  t.throws(() => p.push(new Uint8Array(MAX_NATS_LINE_BYTES + 1).fill(0x41)), { code: ErrorCode.LimitExceeded });
  const q = new NatsParser();
  q.push(enc.encode('INFO {"max_payload":10}\r\n'));
  t.throws(() => q.push(enc.encode('MSG a 1 11\r\n')), { code: ErrorCode.LimitExceeded }, 'the server\'s own max_payload binds');
  t.throws(() => new NatsParser().push(enc.encode('MSG a 1 999999999\r\n')), { code: ErrorCode.InvalidField });
  t.throws(() => new NatsParser().push(enc.encode('MSG a 1 2\r\nabXY')), { code: ErrorCode.InvalidField }, 'payload not followed by crlf');
  t.throws(() => new NatsParser().push(enc.encode('HELLO\r\n')), { code: ErrorCode.UnknownMessage });
  t.throws(() => new NatsParser().push(enc.encode('INFO [1]\r\n')), { code: ErrorCode.InvalidField });
  t.throws(() => new NatsParser().push(enc.encode('MSG a\r\n')), { code: ErrorCode.InvalidField });
  const huge = new NatsParser();
  huge.push(enc.encode('INFO {"max_payload":99999999}\r\n'));
  t.throws(() => huge.push(enc.encode(`MSG a 1 ${1024 * 1024 + 1}\r\n`)), { code: ErrorCode.LimitExceeded }, 'never more than 1 MiB, whatever the server says');
});

t.test('nats urls: host and port, credentials kept out of the shown form; other schemes refused', async (t) => {
  t.same(parseNatsUrl('nats://127.0.0.1:4222'), { host: '127.0.0.1', port: 4222, shown: 'nats://127.0.0.1:4222' });
  const withPass = parseNatsUrl('nats://relay:s3cret@[::1]:5000');
  t.equal(withPass.user, 'relay');
  t.equal(withPass.pass, 's3cret');
  t.equal(withPass.host, '::1');
  t.notMatch(withPass.shown, /s3cret/);
  t.equal(parseNatsUrl('nats://tok@nats.example').token, 'tok');
  for (const bad of ['tls://nats.example:4222', 'http://x', 'nats://x/path', 'not a url']) t.throws(() => parseNatsUrl(bad), { code: ErrorCode.InvalidConfig }, bad);
});

t.test('presence messages: decoded when well formed, a typed error otherwise', async (t) => {
  const id = '00112233445566778899aabbccddeeff';
  const ok = (o: unknown, subject = PRESENCE_SUBJECT) => decodePresence(enc.encode(JSON.stringify(o)), subject);
  t.same(ok({ v: 1, relay: 'wss://a.example', op: 'add', ids: [id] }), { op: 'add', relay: 'wss://a.example', ids: [id] });
  t.same(ok({ v: 1, relay: 'ws://198.18.0.10:8080' }, SYNC_SUBJECT), { op: 'sync', relay: 'ws://198.18.0.10:8080' });
  for (const bad of [
    { v: 2, relay: 'wss://a.example', op: 'add', ids: [id] },
    { v: 1, relay: 'https://a.example', op: 'add', ids: [id] },
    { v: 1, relay: 'wss://user:pw@a.example', op: 'add', ids: [id] },
    { v: 1, relay: 'wss://a.example', op: 'steal', ids: [id] },
    { v: 1, relay: 'wss://a.example', op: 'add', ids: [id.toUpperCase()] },
    { v: 1, relay: 'wss://a.example', op: 'add', ids: [id + '00'] },
    { v: 1, relay: 'wss://a.example', op: 'add', ids: Array.from({ length: MAX_PRESENCE_IDS + 1 }, () => id) },
    [1, 2],
    'text',
  ]) t.throws(() => ok(bad), { code: /^TESSERA_ERR_(INVALID_FIELD|LIMIT_EXCEEDED|UNSUPPORTED_VERSION)$/ }, JSON.stringify(bad).slice(0, 80));
  t.throws(() => decodePresence(Uint8Array.of(0xff, 0xfe), PRESENCE_SUBJECT), { code: ErrorCode.InvalidField }, 'not utf-8');
  t.throws(() => decodePresence(new Uint8Array(64 * 1024 + 1).fill(0x20), PRESENCE_SUBJECT), { code: ErrorCode.LimitExceeded });
});

t.test('redirect messages and urls; offer ids derive from the public key alone and differ from ticket ids', async (t) => {
  const m = encodeRelayMessage({ type: 'redirect', url: 'wss://relay-a.example:8443' });
  t.same(decodeRelayMessage(m), { type: 'redirect', url: 'wss://relay-a.example:8443' });
  for (const url of ['https://x', 'wss://', 'wss://a b', 'wss://u:p@x', 'wss://x/#f', 'ws://x?q=1', 'wss://' + 'a'.repeat(250)]) {
    t.notOk(isRedirectUrl(url), url.slice(0, 40));
    t.throws(() => encodeRelayMessage({ type: 'redirect', url }), { code: ErrorCode.InvalidField });
  }
  const forged = Uint8Array.from([10, 10, ...enc.encode('http://x/a')]);
  t.throws(() => decodeRelayMessage(forged), { code: ErrorCode.InvalidField });
  t.throws(() => decodeRelayMessage(Uint8Array.of(10, 20, 0x77)), { code: ErrorCode.Truncated });
  const key = new Uint8Array(32).fill(9);
  t.equal(offerRendezvousId(key).byteLength, 16);
  t.same(offerRendezvousId(key), offerRendezvousId(Uint8Array.from(key)), 'deterministic');
  t.notSame(offerRendezvousId(key), offerRendezvousId(new Uint8Array(32).fill(8)));
  t.notSame(offerRendezvousId(key), rendezvousId(key, new Uint8Array(16)));
  t.throws(() => offerRendezvousId(new Uint8Array(31)), { code: ErrorCode.InvalidField });
});
