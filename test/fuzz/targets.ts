/**
 * Every decoder tessera exposes to bytes from outside, as one list of fuzz targets for test/fuzz/runner.ts
 * (run by `npm run fuzz` and, with a small budget, by test/fuzz/all-targets.fuzz.test.ts).
 *
 * A target names its seeds (spec/vectors/*.json, fixtures and stored regressions, copied into plain
 * Uint8Arrays), how to make an instance, how to decode one input with it, and `valid(instance)`: a check that
 * the instance still decodes a valid message after what it was fed. `reset` says what happens after an error:
 *   - 'never': the decoder is stateless or recovers; the SAME instance must still decode valid input after every error.
 *   - 'after-error': the decoder stays failed after an error by design; a fresh instance replaces it.
 *   - 'every-case': a stream decoder (one connection per case); `valid` runs on the instance after each case and
 *     answers false when it does not apply (the instance failed or closed by design, or holds a partial frame).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { createHash } from 'node:crypto';
import { ErrorCode, MAX_PROXY_RESPONSE_BYTES, TesseraError, fromHex, isErrorCode } from '../../src/core/index.js';
import {
  Channel, Deframer, FrameReader, FrameWriter, NullProtector, decodeControl, encodeControl, encodeFrame, type ControlMessage,
} from '../../src/framing/index.js';
import {
  HandshakeError, HandshakeInitiator, HandshakeResponder, MessageType, createInvitation, decodeAuthPayload, decodeClientHello, decodeInvitationBinary, decodeRefusal, decodeSealed,
  decodeServerHello, decodeWelcomePayload, dhKeyPair, encodeAuthPayload, encodeRefusal, encodeWelcomePayload, parseHelpers, parsePolicy, readInvitation,
  decodeRelayMessage, encodeRelayMessage,
} from '../../src/handshake/index.js';
import { parseMsRcIncident } from '../../src/handshake/msrc-incident.js';
import { decodeMsRcIncidentBytes } from '../../src/node/msrc-incident-file.js';
import { TileDecoder } from '../../src/codec/index.js';
import { SharpImageCodec } from '../../src/node/sharp-image-codec.js';
import sharp from 'sharp';
import { decodeInputBatch, decodeText, encodeInputBatch, encodeText, type InputEvent } from '../../src/input/index.js';
import { HostSession } from '../../src/session/host-session.js';
import { HelperSession } from '../../src/session/helper-session.js';
import { CursorReceiver, encodeCursorShape } from '../../src/session/cursor.js';
import { decodeChunk } from '../../src/session/transfer.js';
import { buildInvitationEml, readInvitationFromEml } from '../../src/node/email.js';
import { NatsParser } from '../../src/relay/nats.js';
import { decodePresence, PRESENCE_SUBJECT } from '../../src/relay/presence.js';
import { parseConnectResponse } from '../../src/relay/proxy.js';
import { decryptRecording, isEncryptedRecording, parseRecording } from '../../src/recording/format.js';
import { setupCase, makeResponder, type RefusalCase, type VectorCase } from '../conformance/handshake-vectors.js';
import type { Prng } from '../helpers/prng.js';
import { concat } from '../helpers/mutate.js';

/** What decode gets besides the bytes. */
export interface FuzzContext {
  readonly rng: Prng;
  /** The seed the input was derived from (contextual targets rebuild the state that seed expects). */
  readonly seedIndex: number;
}

export interface FuzzTarget<I = unknown> {
  readonly name: string;
  /** One line: what is decoded, and the state rule after an error. */
  readonly description: string;
  readonly reset: 'never' | 'after-error' | 'every-case';
  /** Relative cost of one case; the runner divides its budget by it (the heavy targets do X25519 or MIME parsing). */
  readonly cost?: number;
  /** decode() depends on which seed the input came from; regressions are replayed against every seed. */
  readonly contextual?: boolean;
  /** Other regression folders replayed through this target (e.g. the older test/fuzz/regressions/framing). */
  readonly regressionAliases?: readonly string[];
  seeds(): Uint8Array[] | Promise<Uint8Array[]>;
  create(): I;
  decode(bytes: Uint8Array, instance: I, ctx: FuzzContext): unknown;
  /** Throws when the instance no longer decodes valid input; false when the check does not apply. */
  valid(instance: I): boolean | void | Promise<boolean | void>;
}

/** The oracle: only tessera's own errors, with a code from ErrorCode, may escape a decoder. */
export function isTesseraFailure(err: unknown): err is TesseraError {
  return err instanceof TesseraError && isErrorCode(err.code);
}

/** A foreign error wrapped into TESSERA_ERR_IO by a catch-all (e.g. a session's fail()) still counts as a bug. */
export function wrapsForeignError(err: TesseraError): boolean {
  const cause = (err as { cause?: unknown }).cause;
  return err.code === ErrorCode.Io && cause !== undefined && !(cause instanceof TesseraError);
}

const ROOT = new URL('../../', import.meta.url);
const bytesOf = (b: Uint8Array | Buffer): Uint8Array => new Uint8Array(b); // a copy, never a view into a pooled Buffer
const readJson = <T>(rel: string): T => JSON.parse(readFileSync(new URL(rel, ROOT), 'utf8')) as T;
const hex = (s: string): Uint8Array => bytesOf(fromHex(s)!);
const enc = new TextEncoder();
const dec = new TextDecoder();

function filesIn(rel: string, ext: string): Uint8Array[] {
  const dir = new URL(rel, ROOT);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(ext)).sort().map((f) => bytesOf(readFileSync(new URL(f, dir.href.endsWith('/') ? dir : new URL(`${dir.href}/`)))));
}

function check(cond: unknown, what: string): void {
  if (!cond) throw new Error(`valid input no longer decodes: ${what}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Framing

interface FramingVectors {
  frames: { name: string; hex: string }[];
  control: { name: string; hex: string; message?: unknown }[];
}
const framingVectors = (): FramingVectors => readJson<FramingVectors>('spec/vectors/framing.json');
const FUZZ_MAX_BODY = 4096;

function validFrames(): Uint8Array {
  const w = new FrameWriter();
  return concat(w.control({ t: 'ping', n: 7, ts: 1700000000000 }), w.frame(Channel.Display, Uint8Array.of(1, 2, 3)), encodeFrame(Channel.Chat, enc.encode('hi')));
}

function frameSeeds(): Uint8Array[] {
  const w = new FrameWriter();
  return [
    ...framingVectors().frames.map((f) => hex(f.hex)),
    validFrames(),
    concat(w.control({ t: 'close', reason: 'normal', message: 'bye' }), w.control({ t: 'screen', width: 1920, height: 1080 })),
    encodeFrame(Channel.Chat, new Uint8Array(FUZZ_MAX_BODY - 1).fill(0x41)),
    concat(...Array.from({ length: 6 }, (_, i) => encodeFrame(Channel.Input, new Uint8Array(i)))),
    ...filesIn('test/fuzz/regressions/framing/', '.bin'),
  ];
}

/** Pushes `bytes` in random chunks and drains; checks the buffer bound the spec promises. */
function feedStream(sink: { push(b: Uint8Array): void; next(): unknown; readonly bufferedBytes: number }, bytes: Uint8Array, rng: Prng): number {
  let at = 0;
  let frames = 0;
  while (at < bytes.length) {
    const n = rng.range(1, 64);
    const chunk = bytes.subarray(at, at + n);
    at += n;
    sink.push(chunk);
    if (sink.bufferedBytes > 4 + FUZZ_MAX_BODY + chunk.length) throw new Error(`buffered ${sink.bufferedBytes} bytes, beyond one frame plus one chunk`);
    for (let guard = 0; sink.next() !== undefined; guard++) {
      frames++;
      if (guard > bytes.length) throw new Error('next() made no progress');
    }
  }
  return frames;
}

interface StreamInstance<S> {
  readonly s: S;
  failed: boolean;
}

function streamTarget(name: string, make: () => { push(b: Uint8Array): void; next(): unknown; readonly bufferedBytes: number }): FuzzTarget<StreamInstance<ReturnType<typeof make>>> {
  return {
    name,
    description: `${name} over a byte stream split at random points (one stream per case; after an error it stays failed by design, so the check runs on the next fresh instance; after a clean stream the same instance must decode valid frames)`,
    reset: 'every-case',
    regressionAliases: ['framing'],
    seeds: frameSeeds,
    create: () => ({ s: make(), failed: false }),
    decode(bytes, inst, ctx) {
      try {
        feedStream(inst.s, bytes, ctx.rng);
      } catch (err) {
        inst.failed = true;
        throw err;
      }
    },
    valid(inst) {
      if (inst.failed || inst.s.bufferedBytes !== 0) return false;
      inst.s.push(validFrames());
      let n = 0;
      while (inst.s.next() !== undefined) n++;
      check(n === 3, `${name} returned ${n} of 3 frames`);
      return true;
    },
  };
}

const CONTROL_MESSAGES: ControlMessage[] = [
  { t: 'ping', n: 1, ts: 1700000000000 },
  { t: 'pong', n: 0xffffffff, ts: 0 },
  { t: 'ack', seq: 300, decoded: 70000 },
  { t: 'control-request' },
  { t: 'control-grant', mode: 'view' },
  { t: 'control-revoke' },
  { t: 'pause', paused: false },
  { t: 'close', reason: 'protocol-error', message: 'frame failed to open: ünïcödé' },
  { t: 'screen', width: 3840, height: 2160 },
];

const controlTarget: FuzzTarget<null> = {
  name: 'control',
  description: 'decodeControl (msgpack control messages); stateless: after every error the same decoder must decode and round-trip valid messages',
  reset: 'never',
  seeds: () => [...framingVectors().control.map((c) => hex(c.hex)), ...CONTROL_MESSAGES.map((m) => bytesOf(encodeControl(m)))],
  create: () => null,
  decode(bytes) {
    const m = decodeControl(bytes);
    if (!isDeepStrictEqual(decodeControl(encodeControl(m)), m)) throw new Error('a decoded control message does not round-trip');
  },
  valid() {
    for (const m of CONTROL_MESSAGES) check(isDeepStrictEqual(decodeControl(encodeControl(m)), m), m.t);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Handshake

const handshakeVectors = (): VectorCase[] => readJson<{ cases: VectorCase[] }>('spec/vectors/handshake.json').cases;
const refusalVectors = (): RefusalCase[] => readJson<{ refusals: RefusalCase[] }>('spec/vectors/handshake.json').refusals;

function statelessTarget(name: string, description: string, seeds: () => Uint8Array[], decode: (b: Uint8Array) => unknown): FuzzTarget<Uint8Array[]> {
  return {
    name,
    description: `${description}; stateless: after every error the same function must decode the valid seeds`,
    reset: 'never',
    seeds,
    create: () => seeds().filter((s) => {
      try {
        decode(s);
        return true;
      } catch {
        return false;
      }
    }),
    decode: (b) => decode(b),
    valid(validSeeds) {
      for (const s of validSeeds) decode(s);
      return validSeeds.length > 0;
    },
  };
}

const AUTH_PAYLOADS = (): Uint8Array[] => [
  encodeAuthPayload({
    kind: 'ticket', mode: 'control', ticketId: new Uint8Array(16).fill(7), holder: new Uint8Array(32).fill(8), ticketSig: new Uint8Array(64).fill(1), holderSig: new Uint8Array(64).fill(4), passwordSig: new Uint8Array(64).fill(2),
  }),
  encodeAuthPayload({ kind: 'ticket', mode: 'view', ticketId: new Uint8Array(16).fill(9), holder: new Uint8Array(32).fill(10), ticketSig: new Uint8Array(64).fill(3), holderSig: new Uint8Array(64).fill(11) }),
  encodeAuthPayload({ kind: 'offer', mode: 'view', identity: new Uint8Array(32).fill(5), signature: new Uint8Array(64).fill(6) }),
].map(bytesOf);

const WELCOME_PAYLOADS = (): Uint8Array[] => [
  encodeWelcomePayload({ mode: 'control', width: 1920, height: 1080, codecs: { codec: 1, quality: 'lossless' } }),
  encodeWelcomePayload({ mode: 'view', width: 320, height: 240, codecs: { tile: 64, name: 'x', ok: true } }),
].map(bytesOf);

interface ResponderInstance {
  readonly c: VectorCase;
  responder: HandshakeResponder;
}

/** The host's handshake state machine after a valid ClientHello, fed a mutated Auth (decrypts, parses, checks the ticket). */
const responderTarget: FuzzTarget<ResponderInstance> = {
  name: 'hs-responder',
  description: 'HandshakeResponder: a valid ClientHello, then a mutated Auth message (or a mutated ClientHello): AEAD open, auth payload, ticket and proof checks; a responder refuses once by design, so each case builds a fresh one, and valid() (after errors, every 64th) completes a full vector handshake',
  reset: 'after-error',
  cost: 25,
  contextual: true,
  seeds: () => handshakeVectors().flatMap((c) => [hex(c.messages.auth), hex(c.messages.clientHello)]),
  create: () => {
    const c = handshakeVectors()[0]!;
    return { c, responder: makeResponder(c, setupCase(c)) };
  },
  decode(bytes, inst, ctx) {
    const cases = handshakeVectors();
    const c = cases[Math.floor(ctx.seedIndex / 2) % cases.length]!;
    const s = setupCase(c);
    inst.responder = makeResponder(c, s);
    if (ctx.seedIndex % 2 === 1) {
      inst.responder.receive(bytes);
      return;
    }
    inst.responder.receive(hex(c.messages.clientHello));
    inst.responder.next();
    const step = inst.responder.receive(bytes);
    if (step.type === 'refused') throw step.error;
  },
  valid() {
    const c = handshakeVectors()[0]!;
    const s = setupCase(c);
    const r = makeResponder(c, s);
    check(r.receive(hex(c.messages.clientHello)).type === 'send', 'clientHello');
    r.next();
    check(r.receive(hex(c.messages.auth)).type === 'consent', 'auth of a vector case');
  },
};

interface InitiatorRefusalInstance {
  initiator: HandshakeInitiator;
}

/**
 * Refusals as the helper sees them (spec §3.5, §3.6): a sealed refusal fed to an initiator that sent Auth in a refusal
 * vector, a refusal in the clear fed to one still waiting for ServerHello (where it is allowed).
 */
const initiatorRefusalTarget: FuzzTarget<InitiatorRefusalInstance> = {
  name: 'hs-refusals',
  description:
    'HandshakeInitiator fed mutated refusals: after Auth, a sealed refusal (decodeSealedRefusal, the refusal key, decodeRefusalCode; a refusal in the clear is a protocol error there); before ServerHello, a refusal in the clear (unauthenticated); a refusal ends the handshake, so each case builds a fresh initiator, and valid() checks the vector refusal still opens as the host word',
  reset: 'after-error',
  cost: 10,
  contextual: true,
  seeds: () => refusalVectors().flatMap((c) => [hex(c.messages.refusal), bytesOf(encodeRefusal(1))]),
  create: () => ({ initiator: initiatorAfterAuth(refusalVectors()[0]!) }),
  decode(bytes, inst, ctx) {
    const cases = refusalVectors();
    const c = cases[Math.floor(ctx.seedIndex / 2) % cases.length]!;
    if (ctx.seedIndex % 2 === 1) {
      const s = setupCase(c as unknown as VectorCase);
      s.initiator.next();
      inst.initiator = s.initiator;
    } else {
      inst.initiator = initiatorAfterAuth(c);
    }
    try {
      inst.initiator.receive(bytes);
    } catch (err) {
      // A refusal that decoded is this decoder's success: sealed after Auth (the host's word), in the clear before ServerHello.
      if (err instanceof HandshakeError && err.authenticated === (ctx.seedIndex % 2 === 0)) return;
      throw err;
    }
  },
  valid() {
    const c = refusalVectors()[0]!;
    try {
      initiatorAfterAuth(c).receive(hex(c.messages.refusal));
    } catch (err) {
      check(err instanceof HandshakeError && err.authenticated && err.refusal === c.refusal, 'the vector refusal opens as the host word');
      return;
    }
    check(false, 'the vector refusal ends the handshake');
  },
};

function initiatorAfterAuth(c: RefusalCase): HandshakeInitiator {
  const s = setupCase(c as unknown as VectorCase);
  s.initiator.next();
  s.initiator.receive(hex(c.messages.serverHello));
  s.initiator.next();
  return s.initiator;
}

// ---------------------------------------------------------------------------------------------------------------
// Invitations

const INV_NOW = 1_900_000_000_000;

function generatedInvitations(): { text: string; url: string }[] {
  const hostKey = dhKeyPair(new Uint8Array(32).fill(0x42)).publicKey;
  let counter = 1;
  const random = (n: number) => new Uint8Array(n).fill(counter++ & 0xff);
  const kdf = () => new Uint8Array(32).fill(0x33);
  const forms: { text: string; url: string }[] = [];
  for (const [addresses, password, name] of [
    [['127.0.0.1:3389'], undefined, 'Host'],
    [['[::1]:4000', 'host.example:3390', '192.0.2.1:1'], 'pw', 'Ünïcode host'],
    [['a.b.c.d.example:65535'], undefined, 'x'.repeat(90)],
  ] as const) {
    const { invitation } = createInvitation({
      hostKey, addresses, expires: { value: 2, units: 'hours' }, name, now: () => INV_NOW - 3_600_000, random, kdf,
      ...(password ? { password } : {}),
    });
    forms.push({ text: invitation.toText(), url: invitation.toUrl() });
  }
  // A relay-only invitation and one with an address and a relay (spec/handshake.md §2, spec/relay.md).
  for (const addresses of [[], ['192.0.2.9:3389']]) {
    const { invitation } = createInvitation({
      hostKey, addresses, expires: { value: 2, units: 'hours' }, name: 'Relay', now: () => INV_NOW - 3_600_000, random,
      relayUrl: 'wss://relay.example:8443/r', relayId: () => new Uint8Array(16).fill(0x5a),
    });
    forms.push({ text: invitation.toText(), url: invitation.toUrl() });
  }
  return forms;
}

function invitationForms(): { text: string; url: string; now: number }[] {
  return [
    ...handshakeVectors().filter((c) => c.invitationText).map((c) => ({ text: c.invitationText!, url: c.invitationUrl!, now: c.now })),
    ...generatedInvitations().map((f) => ({ ...f, now: INV_NOW })),
  ];
}

function invitationTarget(form: 'text' | 'url' | 'binary'): FuzzTarget<Uint8Array[]> {
  const seeds = (): Uint8Array[] => invitationForms().map((f) => {
    if (form === 'text') return enc.encode(f.text);
    if (form === 'url') return enc.encode(f.url);
    return bytesOf(Buffer.from(f.url.split('#')[1]!, 'base64url'));
  });
  const decode = (b: Uint8Array): unknown => {
    if (form === 'binary') return decodeInvitationBinary(b);
    return readInvitation(dec.decode(b), { now: INV_NOW - 1000 });
  };
  return statelessTarget(`invitation-${form}`, form === 'binary' ? 'decodeInvitationBinary (the compact form inside a URL)' : `readInvitation of the ${form} form`, seeds, decode);
}

// ---------------------------------------------------------------------------------------------------------------
// Policy and helpers files

const POLICY_SEEDS = (): Uint8Array[] => [
  { solicited: { enabled: true, permit: 'view', maxTicketTime: { value: 2, units: 'hours' }, emailMethod: 'attachment' }, offer: { enabled: true, permit: 'control', helpers: ['user:a', 'group:g'] } },
  { solicited: { enabled: false } },
  {},
].map((p) => enc.encode(JSON.stringify(p, null, 1)));

const HELPERS_SEEDS = (): Uint8Array[] => [
  { users: { a: ['00'.repeat(32)], b: ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='] }, groups: { g: ['a', 'b'] } },
  { users: {}, groups: {} },
].map((p) => enc.encode(JSON.stringify(p, null, 1)));

// ---------------------------------------------------------------------------------------------------------------
// Codec

interface CodecVectors {
  vectors: { name: string; quality: string; width: number; height: number; updates: { hex: string; error?: string }[] }[];
}

/**
 * The lossless vectors' updates that decode (a `reject-*` vector's last update is refused by design, and valid() must
 * decode every sequence); `med-range-hand` keeps its record in stored deflate blocks, so mutations reach the coded bytes.
 */
function codecSequences(): Uint8Array[][] {
  return readJson<CodecVectors>('spec/vectors/codec.json').vectors
    .filter((v) => v.quality === 'lossless')
    .map((v) => v.updates.filter((u) => u.error === undefined).map((u) => hex(u.hex)))
    .filter((s) => s.length > 0);
}

function codecSeedIndex(): { seq: number; k: number }[] {
  return codecSequences().flatMap((s, seq) => s.map((_, k) => ({ seq, k })));
}

const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

interface CodecInstance {
  readonly decoder: TileDecoder;
  readonly sequences: Uint8Array[][];
  readonly index: { seq: number; k: number }[];
  readonly expected: string[];
  /** valid() decodes one vector per call, in turn, so checking after every error stays cheap. */
  next: number;
}

/** TileDecoder, one instance for the whole run: the decoder asks for a key frame after a failed update, then must work again. */
const codecTarget: FuzzTarget<CodecInstance> = {
  name: 'codec',
  description: 'TileDecoder.decode of a mutated update, after the valid updates before it (lossless vectors); ONE decoder for the whole run: after an error it needs a key frame by design, and the same instance must then decode every vector pixel-exactly',
  reset: 'never',
  contextual: true,
  seeds: () => codecSequences().flat(),
  create: () => {
    const sequences = codecSequences();
    const expected = sequences.map((s) => {
      const d = new TileDecoder({ maxWidth: 1024, maxHeight: 1024, maxCacheTiles: 512 });
      let fb: Uint8Array = new Uint8Array(0);
      for (const u of s) fb = d.decode(u).framebuffer.data;
      return sha1(fb);
    });
    return { decoder: new TileDecoder({ maxWidth: 1024, maxHeight: 1024, maxCacheTiles: 512 }), sequences, index: codecSeedIndex(), expected, next: 0 };
  },
  decode(bytes, inst, ctx) {
    const at = inst.index[ctx.seedIndex % inst.index.length]!;
    const seq = inst.sequences[at.seq]!;
    for (let k = 0; k < at.k; k++) inst.decoder.decode(seq[k]!);
    inst.decoder.decode(bytes);
  },
  valid(inst) {
    const i = inst.next++ % inst.sequences.length;
    let fb: Uint8Array = new Uint8Array(0);
    for (const u of inst.sequences[i]!) fb = inst.decoder.decode(u).framebuffer.data;
    check(sha1(fb) === inst.expected[i], `codec vector ${i} pixels`);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Codec, lossy tiles through the real image decoder

interface LossySeed {
  readonly format: 'jpeg' | 'webp';
  /** The screen is one tile of this size, so the image must be exactly this size. */
  readonly width: number;
  readonly height: number;
  readonly bytes: Uint8Array;
}

let lossySeeds: Promise<LossySeed[]> | undefined;

/** JPEG and WebP tiles from sharp (the encoder's own settings and a few others), at full and edge-tile sizes. */
function makeLossySeeds(): Promise<LossySeed[]> {
  lossySeeds ??= (async () => {
    const picture = (w: number, h: number) => {
      const rgba = new Uint8Array(w * h * 4);
      for (let i = 0; i < w * h; i++) rgba.set([(i * 7) & 255, (i * 13) & 255, (i >> 3) & 255, 255], i * 4);
      return sharp(rgba, { raw: { width: w, height: h, channels: 4 } }).removeAlpha();
    };
    const specs: Array<[LossySeed['format'], number, number, (img: ReturnType<typeof picture>) => ReturnType<typeof picture>]> = [
      ['jpeg', 64, 64, (img) => img.jpeg({ quality: 80 })],
      ['jpeg', 64, 64, (img) => img.jpeg({ quality: 95, chromaSubsampling: '4:4:4' })],
      ['jpeg', 17, 5, (img) => img.jpeg({ quality: 50, progressive: true })],
      ['webp', 64, 64, (img) => img.webp({ quality: 80, effort: 1 })],
      ['webp', 40, 64, (img) => img.webp({ quality: 50, effort: 1 })],
    ];
    const seeds: LossySeed[] = [];
    for (const [format, width, height, enc] of specs) seeds.push({ format, width, height, bytes: bytesOf(await enc(picture(width, height)).toBuffer()) });
    return seeds;
  })();
  return lossySeeds;
}

/** A key frame of one `width x height` tile carrying `bytes` as its lossy image, spec/codec.md §2. */
function lossyUpdate(seed: LossySeed, bytes: Uint8Array): Uint8Array {
  const head = [1, 1, 0, 0, 0, 0, seed.width >> 8, seed.width & 255, seed.height >> 8, seed.height & 255, 0, 0, 0, 0, 0, 0, 1, 0, seed.format === 'jpeg' ? 1 : 2];
  let len = bytes.length;
  do {
    head.push((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
    len >>>= 7;
  } while (len > 0);
  return concat(Uint8Array.from(head), bytes);
}

interface LossyInstance {
  readonly decoder: TileDecoder;
  readonly seeds: LossySeed[];
}

/** TileDecoder.decodeAsync with the real SharpImageCodec: mutated tile images reach libvips only past the header checks. */
const codecLossyTarget: FuzzTarget<Promise<LossyInstance>> = {
  name: 'codec-lossy',
  description: 'TileDecoder.decodeAsync with the real SharpImageCodec of a key frame whose one lossy tile carries a mutated JPEG or WebP (seeds from sharp); ONE decoder for the whole run, which must then decode a valid lossy tile to the right size',
  reset: 'never',
  contextual: true,
  cost: 4,
  seeds: async () => (await makeLossySeeds()).map((s) => s.bytes),
  create: async () => ({ decoder: new TileDecoder({ maxWidth: 256, maxHeight: 256, imageCodec: new SharpImageCodec() }), seeds: await makeLossySeeds() }),
  async decode(bytes, pending, ctx) {
    const inst = await pending;
    const seed = inst.seeds[ctx.seedIndex % inst.seeds.length]!;
    await inst.decoder.decodeAsync(lossyUpdate(seed, bytes));
  },
  async valid(pending) {
    const inst = await pending;
    for (const seed of inst.seeds) {
      const r = await inst.decoder.decodeAsync(lossyUpdate(seed, seed.bytes));
      check(r.framebuffer.width === seed.width && r.framebuffer.data.length === seed.width * seed.height * 4, 'codec-lossy: a valid tile decodes');
      check(r.framebuffer.data[3] === 255, 'codec-lossy: alpha is 255');
    }
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Input

interface InputVectors {
  batches: { valid: { hex: string }[]; invalid: { hex: string }[] };
  text: { valid: { hex: string }[]; invalid: { hex: string }[] };
}
const inputVectors = (): InputVectors => readJson<InputVectors>('spec/vectors/input.json');

const inputBatchTarget = statelessTarget(
  'input-batch',
  'decodeInputBatch (limits 64 events, 64 text bytes); whatever decodes must re-encode to the same bytes',
  () => [...inputVectors().batches.valid, ...inputVectors().batches.invalid].map((v) => hex(v.hex)),
  (b) => {
    const events = decodeInputBatch(b, { maxEvents: 64, maxTextBytes: 64 });
    const again = encodeInputBatch(events, { maxEvents: 64, maxTextBytes: 64 });
    if (Buffer.compare(again, b) !== 0) throw new Error('a decoded batch re-encodes to other bytes');
    return events;
  },
);

const textTarget = statelessTarget(
  'text',
  'decodeText (chat and clipboard channels, limit 64 bytes)',
  () => [...inputVectors().text.valid, ...inputVectors().text.invalid].map((v) => hex(v.hex)).concat([bytesOf(encodeText('héllo wörld ✓ 𝄞', 64))]),
  (b) => decodeText(b, 64),
);

// ---------------------------------------------------------------------------------------------------------------
// MsRcIncident

const msrcTarget = statelessTarget(
  'msrc-incident',
  'decodeMsRcIncidentBytes + parseMsRcIncident (Windows Remote Assistance invitation files, UTF-8 and UTF-16)',
  () => [...filesIn('test/fixtures/msrc/', '.MsRcIncident'), ...filesIn('test/fixtures/msrc/variants/', '.MsRcIncident'), ...filesIn('test/fixtures/msrc/malformed/', '.MsRcIncident')],
  (b) => parseMsRcIncident(decodeMsRcIncidentBytes(b).text),
);

// ---------------------------------------------------------------------------------------------------------------
// Sessions (NullProtector: what an authenticated peer could send after the handshake)

const INPUT_EVENTS: InputEvent[] = [
  { type: 'keyDown', code: 'KeyA', modifiers: 0 },
  { type: 'keyUp', code: 'KeyA', modifiers: 0 },
  { type: 'text', text: 'hé' },
  { type: 'pointerMove', x: 10, y: 20, buttons: 1 },
  { type: 'wheel', dx: 0, dy: 120 },
];

function controlFrame(m: ControlMessage): Uint8Array {
  return encodeFrame(Channel.Control, encodeControl(m));
}

function hostSessionSeeds(): Uint8Array[] {
  return [
    concat(controlFrame({ t: 'ping', n: 1, ts: 5 }), controlFrame({ t: 'ack', seq: 1, decoded: 1 })),
    concat(encodeFrame(Channel.Input, encodeInputBatch(INPUT_EVENTS)), encodeFrame(Channel.Chat, encodeText('hi', 100))),
    concat(encodeFrame(Channel.Clipboard, encodeText('clip', 100)), controlFrame({ t: 'control-request' })),
    concat(controlFrame({ t: 'pong', n: 1, ts: 5 }), controlFrame({ t: 'close', reason: 'helper-left', message: 'bye' })),
    encodeFrame(Channel.Display, Uint8Array.of(0, 0, 0, 1, 9)),
  ].map(bytesOf);
}

function helperSessionSeeds(): Uint8Array[] {
  const seqs = codecSequences();
  const display = (seq: number, u: Uint8Array) => encodeFrame(Channel.Display, concat(Uint8Array.of(seq >>> 24, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff), u));
  return [
    concat(...seqs[0]!.map((u, i) => display(i + 1, u))),
    concat(display(1, seqs[1]![0]!), controlFrame({ t: 'control-grant', mode: 'control' }), controlFrame({ t: 'pause', paused: true })),
    concat(controlFrame({ t: 'screen', width: 800, height: 600 }), controlFrame({ t: 'control-revoke' }), encodeFrame(Channel.Chat, encodeText('hello', 100))),
    concat(controlFrame({ t: 'ping', n: 3, ts: 9 }), encodeFrame(Channel.Clipboard, encodeText('x', 100)), controlFrame({ t: 'close', reason: 'host-ended' })),
  ].map(bytesOf);
}

interface SessionInstance<S> {
  readonly session: S;
  readonly deframer: Deframer;
  readonly decoder?: TileDecoder;
  /** Set when decode threw: the session (or the helper's decoder, which then waits for a key frame) failed by design. */
  failed?: boolean;
}

/** Drains a session: every 'closed' error must be tessera's own, never a wrapped foreign one. */
function drainSession(session: HostSession | HelperSession, decoder: TileDecoder | undefined, now: number): void {
  while (session.pollTransmit() !== undefined) {
    // Sealed output is the NullProtector's: nothing to check beyond that it is produced.
  }
  for (let ev = session.pollEvent(); ev; ev = session.pollEvent()) {
    if (ev.type === 'closed' && ev.error) {
      if (!isTesseraFailure(ev.error) || wrapsForeignError(ev.error)) throw (ev.error as { cause?: unknown }).cause ?? ev.error;
      throw ev.error;
    }
    if (ev.type === 'update' && decoder && session instanceof HelperSession) {
      decoder.decode(ev.update);
      session.acknowledge(ev.seq, now);
    }
  }
}

function pingAnswered(session: HostSession | HelperSession, deframer: Deframer, decoder: TileDecoder | undefined): boolean {
  if (session.state !== 'open' || deframer.bufferedBytes !== 0) return false;
  drainSession(session, decoder, 2000);
  session.handleBytes(controlFrame({ t: 'ping', n: 77, ts: 1 }), 2001);
  const out = session.pollTransmit();
  check(out !== undefined, 'no answer to a ping');
  const d = new Deframer();
  d.push(out!);
  const frame = d.next();
  check(frame?.channel === Channel.Control, 'the answer is a control frame');
  const m = decodeControl(frame!.payload);
  check(m.t === 'pong' && m.n === 77, 'the answer is the pong');
  return true;
}

function sessionTarget(role: 'host' | 'helper'): FuzzTarget<SessionInstance<HostSession | HelperSession>> {
  return {
    name: `${role}-session`,
    description: `${role === 'host' ? 'HostSession' : 'HelperSession (updates decoded by a TileDecoder and acknowledged)'}.handleBytes with NullProtector, bytes in random chunks; one session per case (a session closes on a protocol error by design); after a clean case the same session must answer a ping`,
    reset: 'every-case',
    seeds: role === 'host' ? hostSessionSeeds : helperSessionSeeds,
    create() {
      const deframer = new Deframer({ maxBodyBytes: 1 << 20 });
      if (role === 'host') {
        const session = new HostSession({ deframer, seal: NullProtector, now: 0, mode: 'control', maxMode: 'control', width: 640, height: 480, clock: () => 0 });
        return { session, deframer };
      }
      const session = new HelperSession({ deframer, seal: NullProtector, now: 0, mode: 'view' });
      return { session, deframer, decoder: new TileDecoder({ maxWidth: 1024, maxHeight: 1024, maxCacheTiles: 512 }) };
    },
    decode(bytes, inst, ctx) {
      let at = 0;
      let now = 1;
      try {
        while (at < bytes.length) {
          const n = ctx.rng.range(1, 256);
          inst.session.handleBytes(bytes.subarray(at, at + n), now++);
          at += n;
          drainSession(inst.session, inst.decoder, now);
        }
        inst.session.handleTimeout(now + 6000);
        drainSession(inst.session, inst.decoder, now);
      } catch (err) {
        inst.failed = true;
        throw err;
      }
    },
    valid: (inst) => !inst.failed && pingAnswered(inst.session, inst.deframer, inst.decoder),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// File transfer (spec/transfer.md)

interface TransferVectors {
  chunks: { valid: { hex: string }[]; invalid: { hex?: string }[] };
  sessions: { steps: { control?: string; chunkHeader?: string; dataBytes?: number; fill?: string }[] }[];
}
const transferVectors = (): TransferVectors => readJson<TransferVectors>('spec/vectors/transfer.json');

function chunkSeeds(): Uint8Array[] {
  const v = transferVectors();
  return [...v.chunks.valid.map((c) => hex(c.hex)), ...v.chunks.invalid.filter((c) => c.hex !== undefined).map((c) => hex(c.hex!))];
}

/** Each vector sequence as the frames a sender puts on the wire (the receiver's answers are made by the target). */
function transferSessionSeeds(): Uint8Array[] {
  return transferVectors().sessions
    .filter((v) => v.steps.every((s) => (s.dataBytes ?? 0) <= 4096))
    .map((v) =>
      concat(
        ...v.steps.flatMap((s) => {
          if (s.control !== undefined) return [encodeFrame(Channel.Control, hex(s.control))];
          if (s.chunkHeader === undefined) return [];
          const payload = new Uint8Array(12 + s.dataBytes!).fill(Number.parseInt(s.fill!, 16));
          payload.set(hex(s.chunkHeader));
          return [encodeFrame(Channel.Transfer, payload)];
        }),
      ),
    );
}

/** A host with the transfer feature on, accepting every offer at 0 and storing nothing: what a sender's bytes can do to it. */
const transferSessionTarget: FuzzTarget<SessionInstance<HostSession>> = {
  name: 'transfer-session',
  description: 'HostSession with the transfer feature on (spec/transfer.md): file messages and channel-7 chunks in random pieces, every offer accepted, every byte acknowledged; one session per case; after a clean case the same session must answer a ping',
  reset: 'every-case',
  seeds: transferSessionSeeds,
  create() {
    const deframer = new Deframer({ maxBodyBytes: 1 << 20 });
    const session = new HostSession({ deframer, seal: NullProtector, now: 0, mode: 'view', maxMode: 'view', width: 640, height: 480, clock: () => 0, offeredFeatures: ['transfer'] });
    session.handleBytes(controlFrame({ t: 'features', transfer: 1 }), 0);
    return { session, deframer };
  },
  decode(bytes, inst, ctx) {
    let at = 0;
    let now = 1;
    try {
      while (at < bytes.length) {
        const n = ctx.rng.range(1, 256);
        inst.session.handleBytes(bytes.subarray(at, at + n), now++);
        at += n;
        for (let ev = inst.session.pollEvent(); ev; ev = inst.session.pollEvent()) {
          if (ev.type === 'closed' && ev.error) {
            if (!isTesseraFailure(ev.error) || wrapsForeignError(ev.error)) throw (ev.error as { cause?: unknown }).cause ?? ev.error;
            throw ev.error;
          }
          const x = inst.session.transfers;
          if (!x || inst.session.state !== 'open') continue;
          if (ev.type === 'file-offer') x.acceptFile(ev.offer.id, 0, now);
          if (ev.type === 'file-data') x.fileWritten(ev.id, ev.offset + ev.data.byteLength, now);
          if (ev.type === 'file-complete') x.fileSaved(ev.id, now);
        }
        while (inst.session.pollTransmit() !== undefined) {
          // The answers are not checked here, only that producing them does not throw.
        }
      }
    } catch (err) {
      inst.failed = true;
      throw err;
    }
  },
  valid: (inst) => !inst.failed && pingAnswered(inst.session, inst.deframer, undefined),
};

// ---------------------------------------------------------------------------------------------------------------
// Saved emails

let emlSeeds: Uint8Array[] | undefined;

const emlTarget: FuzzTarget<null> = {
  name: 'eml',
  description: 'readInvitationFromEml (mailparser, then the attachment or a tessera:// link); stateless',
  reset: 'never',
  cost: 20,
  async seeds() {
    if (emlSeeds) return emlSeeds;
    const forms = generatedInvitations();
    const inv = readInvitation(forms[1]!.text, { now: INV_NOW - 1000 });
    emlSeeds = [];
    for (const method of ['attachment', 'mailto'] as const) {
      const eml = await buildInvitationEml(inv, { method, from: 'host@example.org', to: 'helper@example.org', now: () => INV_NOW - 1000 });
      emlSeeds.push(bytesOf(eml));
    }
    return emlSeeds;
  },
  create: () => null,
  async decode(bytes) {
    await readInvitationFromEml(bytes, { now: INV_NOW - 1000 });
  },
  async valid() {
    const seeds = await emlTarget.seeds();
    for (const s of seeds) await readInvitationFromEml(s, { now: INV_NOW - 1000 });
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Relay messages (spec/relay.md): the vectors, then one of each type.

function relaySeeds(): Uint8Array[] {
  const seeds: Uint8Array[] = [];
  if (existsSync(new URL('spec/vectors/relay.json', ROOT))) {
    const v = readJson<{ messages: { hex: string }[] }>('spec/vectors/relay.json');
    for (const m of v.messages) seeds.push(hex(m.hex));
  }
  const b = (n: number, f: number) => new Uint8Array(n).fill(f);
  for (const m of [
    { type: 'challenge', nonce: b(32, 1), relayKey: b(32, 9) },
    { type: 'register', hostKey: b(32, 2), mac: b(64, 3) },
    { type: 'registered' },
    { type: 'serve', ids: [b(16, 4), b(16, 5)] },
    { type: 'incoming', token: b(16, 6), peer: '192.0.2.4:5000' },
    { type: 'connect', id: b(16, 7) },
    { type: 'accept', token: b(16, 8) },
    { type: 'paired' },
    { type: 'refused', code: 4 },
    { type: 'redirect', url: 'ws://198.18.0.20:8080' },
  ] as const) seeds.push(bytesOf(encodeRelayMessage(m)));
  return seeds;
}

// NATS (src/relay/nats.ts, what a nats-server sends a relay) and relay presence (src/relay/presence.ts).
const NATS_SEEDS = (): Uint8Array[] => [
  'INFO {"server_id":"x","version":"2.9.10","max_payload":1048576}\r\n',
  'PING\r\nPONG\r\n+OK\r\n',
  "-ERR 'Authorization Violation'\r\n",
  'MSG tessera.relay.1.presence 1 5\r\nhello\r\n',
  'MSG tessera.relay.1.sync 2 _INBOX.x 2\r\n{}\r\nPING\r\n',
].map((t) => enc.encode(t));

/** Parses the bytes in two pieces (the parser is incremental), so a split inside a line or payload is covered. */
function natsDecode(b: Uint8Array): unknown {
  const parser = new NatsParser();
  const cut = b.byteLength >> 1;
  return [...parser.push(b.subarray(0, cut)), ...parser.push(b.subarray(cut))];
}

const PRESENCE_SEEDS = (): Uint8Array[] => [
  '{"v":1,"relay":"wss://relay-a.example","op":"add","ids":["00112233445566778899aabbccddeeff"]}',
  '{"v":1,"relay":"ws://198.18.0.10:8080","op":"snapshot","ids":[]}',
  '{"v":1,"relay":"ws://198.18.0.10:8080","op":"remove","ids":["ffeeddccbbaa99887766554433221100"]}',
].map((t) => enc.encode(t));

// An HTTP proxy's answer to CONNECT (src/relay/proxy.ts), what a corporate proxy sends before the tunnel opens.
const PROXY_SEEDS = (): Uint8Array[] => [
  'HTTP/1.1 200 Connection established\r\n\r\n',
  'HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n',
  'HTTP/1.1 200 OK\r\n\r\n\x81\x05hello',
  'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.0 403 Access violation\r\nServer: tinyproxy/1.11.1\r\nContent-Type: text/html\r\n\r\n<html>',
  'HTTP/1.1 200\n\n',
].map((t) => enc.encode(t));

/** The whole input at the default cap and at a small one (so the cap is reached); a result must lie within both. */
function proxyDecode(b: Uint8Array): unknown {
  const small = 64;
  const results = [parseConnectResponse(b), (() => {
    try {
      return parseConnectResponse(b, small);
    } catch (err) {
      if (err instanceof TesseraError && err.code === ErrorCode.LimitExceeded) return undefined;
      throw err;
    }
  })()];
  for (const [i, r] of results.entries()) {
    if (r && !(r.headerBytes <= b.length && r.headerBytes <= (i === 0 ? MAX_PROXY_RESPONSE_BYTES : small) && r.status >= 100 && r.status <= 599)) {
      throw new Error(`parseConnectResponse answered out of bounds: ${JSON.stringify(r)}`);
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------------------

/** Every target, in the order `npm run fuzz` runs them. */
// ---------------------------------------------------------------------------------------------------------------
// Session recordings (spec/recording.md)

interface RecordingVectors {
  keys: { auditorSecretKey: string };
  vectors: Array<{ name: string; file: string; sealed?: boolean; problem?: unknown }>;
}
const recordingVectors = (): RecordingVectors => readJson<RecordingVectors>('spec/vectors/recording.json');

const recordingTarget: FuzzTarget<{ auditor: Uint8Array; good: Uint8Array }> = {
  name: 'recording',
  description: 'readRecording/parseRecording and decryptRecording (a recording file, plain or encrypted to the vector auditor key); stateless',
  reset: 'never',
  // Each case verifies an Ed25519 seal in pure JS (tweetnacl, several ms) and decrypts with X25519.
  cost: 25,
  seeds: () => recordingVectors().vectors.map((v) => hex(v.file)),
  create: () => {
    const v = recordingVectors();
    return { auditor: hex(v.keys.auditorSecretKey), good: hex(v.vectors.find((x) => x.name === 'plain session')!.file) };
  },
  decode(bytes, inst) {
    const plain = isEncryptedRecording(bytes) ? decryptRecording(bytes, inst.auditor) : bytes;
    parseRecording(plain);
  },
  valid(inst) {
    check(parseRecording(inst.good).sealed, 'the plain session vector still verifies');
  },
};

export const TARGETS: readonly FuzzTarget<any>[] = [
  streamTarget('deframer', () => new Deframer({ maxBodyBytes: FUZZ_MAX_BODY })),
  streamTarget('frame-reader', () => new FrameReader({ maxBodyBytes: FUZZ_MAX_BODY })),
  controlTarget,
  statelessTarget('hs-client-hello', 'decodeClientHello', () => handshakeVectors().map((c) => hex(c.messages.clientHello)), decodeClientHello),
  statelessTarget('hs-server-hello', 'decodeServerHello', () => handshakeVectors().map((c) => hex(c.messages.serverHello)), decodeServerHello),
  statelessTarget('hs-auth', 'decodeSealed(Auth) and decodeAuthPayload (the sealed Auth message and its plaintext)', () => [...handshakeVectors().map((c) => hex(c.messages.auth)), ...AUTH_PAYLOADS()], (b) =>
    b[0] === MessageType.Auth ? decodeSealed(b, MessageType.Auth, 'auth') : decodeAuthPayload(b)),
  statelessTarget('hs-welcome', 'decodeSealed(Welcome) and decodeWelcomePayload', () => [...handshakeVectors().map((c) => hex(c.messages.welcome)), ...WELCOME_PAYLOADS()], (b) =>
    b[0] === MessageType.Welcome ? decodeSealed(b, MessageType.Welcome, 'welcome') : decodeWelcomePayload(b)),
  statelessTarget('hs-refusal', 'decodeRefusal', () => [1, 2, 3, 4, 5, 6, 7, 8, 10].map((c) => bytesOf(encodeRefusal(c))), decodeRefusal),
  responderTarget,
  initiatorRefusalTarget,
  invitationTarget('text'),
  invitationTarget('url'),
  invitationTarget('binary'),
  statelessTarget('policy', 'parsePolicy of a policy file', POLICY_SEEDS, (b) => parsePolicy(dec.decode(b))),
  statelessTarget('helpers', 'parseHelpers of a helpers directory file', HELPERS_SEEDS, (b) => parseHelpers(dec.decode(b))),
  codecTarget,
  codecLossyTarget,
  inputBatchTarget,
  textTarget,
  msrcTarget,
  sessionTarget('host'),
  sessionTarget('helper'),
  statelessTarget('transfer-chunk', 'decodeChunk (a Transfer-channel chunk, spec/transfer.md §5)', chunkSeeds, decodeChunk),
  transferSessionTarget,
  emlTarget,
  recordingTarget,
  statelessTarget('relay-message', 'decodeRelayMessage (every message a host, helper or relay sends before splicing)', relaySeeds, decodeRelayMessage),
  statelessTarget('nats', 'NatsParser (what a nats-server sends a relay of a cluster), fed in two pieces', NATS_SEEDS, natsDecode),
  statelessTarget('relay-presence', 'decodePresence (what other relays of a cluster publish on NATS)', PRESENCE_SEEDS, (b) => decodePresence(b, PRESENCE_SUBJECT)),
  statelessTarget('cursor', 'CursorReceiver.receive (decodeCursorMessage and the shape cache) of a Cursor channel payload, spec/session.md §6.9', cursorSeeds, cursorDecode),
  statelessTarget('proxy-connect-response', "parseConnectResponse (an HTTP proxy's answer to CONNECT before the relay tunnel opens), at the default and a small cap", PROXY_SEEDS, proxyDecode),
];

/** spec/vectors/cursor.json's payloads (messages and sequences) as seeds. */
function cursorSeeds(): Uint8Array[] {
  const v = readJson<{ messages: { valid: { hex: string }[]; invalid: { hex: string }[] }; sequences: { payloads: string[] }[] }>('spec/vectors/cursor.json');
  return [...v.messages.valid.map((m) => hex(m.hex)), ...v.messages.invalid.map((m) => hex(m.hex)), ...v.sequences.flatMap((s) => s.payloads.slice(0, 4).map(hex))];
}

/** A helper's cursor receiver holding shape 7 (the vectors' positions name it), fed one payload. */
function cursorDecode(b: Uint8Array): unknown {
  const r = new CursorReceiver();
  r.receive(encodeCursorShape({ id: 7, width: 1, height: 1, hotX: 0, hotY: 0, rgba: new Uint8Array(4) }));
  return r.receive(b);
}

export function targetByName(name: string): FuzzTarget<any> | undefined {
  return TARGETS.find((t) => t.name === name);
}
