import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { numberOption } from '../command.js';
import { UsageError } from '../errors.js';
import { printable } from '../printable.js';
import { onInterrupt, sleep, tlsFrom } from './common.js';
import { startRelay, loadWebAssets, RELAY_DEFAULTS, type RelayAuditEvent } from '../../index.js';
import { fromBase64, isRedirectUrl } from '../../handshake/index.js';

export const runRelay: Command = {
  usage: `usage: tessera relay [options]

Runs a relay (spec/relay.md), so that a host behind NAT or a firewall can be reached without opening a port:
the host connects out and registers (tessera host --relay URL), a helper connects out with the invitation,
and the relay splices the two. The tessera handshake runs end to end: the relay holds no key and sees only ciphertext.

  --port N             port (default 443 with TLS, 8080 without; 0 picks a free one)
  --bind ADDR          address to listen on (default 0.0.0.0)
  --tls-cert FILE      TLS certificate (PEM) and
  --tls-key FILE       its key: the relay speaks wss://
  --hosts FILE         JSON list of the host keys allowed to register, as 'tessera host' prints them (base64url;
                       padded base64 works too); without it the relay is open
                       to any host that proves its key
  --no-web             do not serve the browser viewer; by default the relay serves it from its own origin: a
                       helper opens http(s)://RELAY/#<tessera:// URL> and the page reaches the host through the relay
                       (--web: refuse to start when the viewer cannot be loaded)
  --nats URL           join a cluster of relays through NATS (nats://host:4222): hosts that keep a standing
                       registration here (offers) are published, and a helper who asks this relay for a host
                       waiting at another relay of the cluster is sent there (sessions never cross relays);
                       credentials go in the environment (TESSERA_NATS_URL=nats://user:pass@host:port), never in argv
  --public-url URL     with --nats: the ws:// or wss:// url helpers reach this relay at (default: the listening url)
  --audit FILE         append the audit log (JSON lines: registrations, pairings, refusals; short hashes only)
  --max-connections N  connections open at once (default ${RELAY_DEFAULTS.maxConnections})
  --max-per-address N  connections open at once from one address (default ${RELAY_DEFAULTS.maxConnectionsPerAddress})
  --pair-bytes N       bytes through one pair before it is ended (default ${RELAY_DEFAULTS.maxPairBytes})
  --pair-rate N        bytes per second through one pair (default ${RELAY_DEFAULTS.maxPairBytesPerSecond}; 0: no cap)
  --idle S             end a pair after S seconds without a byte (default ${RELAY_DEFAULTS.idleTimeoutMs / 1000})
  --pairing-timeout S  how long a helper waits for its host (default ${RELAY_DEFAULTS.pairingTimeoutMs / 1000})
  --json               one JSON object per line: listening, audit (action: registered, register-refused, paired, refused, ended, ...)`,
  options: {
    port: { type: 'string' },
    bind: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    hosts: { type: 'string' },
    audit: { type: 'string' },
    web: { type: 'boolean' },
    'no-web': { type: 'boolean' },
    'max-connections': { type: 'string' },
    'max-per-address': { type: 'string' },
    'pair-bytes': { type: 'string' },
    'pair-rate': { type: 'string' },
    idle: { type: 'string' },
    'pairing-timeout': { type: 'string' },
    nats: { type: 'string' },
    'public-url': { type: 'string' },
  },
  async run(values, _positionals, out) {
    const tls = tlsFrom(values);
    const port = numberOption(values.port, 'port', { min: 0, max: 65535 }) ?? (tls ? 443 : 8080);
    const allowedHosts = typeof values.hosts === 'string' ? readHosts(values.hosts) : undefined;
    const seconds = (name: string): number | undefined => {
      const s = numberOption(values[name], name, { min: 0.01, max: 86_400, integer: false });
      return s === undefined ? undefined : Math.round(s * 1000);
    };
    const idle = seconds('idle');
    const pairing = seconds('pairing-timeout');
    const caps = {
      maxConnections: numberOption(values['max-connections'], 'max-connections', { min: 1, max: 1_000_000 }),
      maxConnectionsPerAddress: numberOption(values['max-per-address'], 'max-per-address', { min: 1, max: 1_000_000 }),
      maxPairBytes: numberOption(values['pair-bytes'], 'pair-bytes', { min: 1 }),
      maxPairBytesPerSecond: numberOption(values['pair-rate'], 'pair-rate', { min: 0 }),
      idleTimeoutMs: idle,
      pairingTimeoutMs: pairing,
    };
    const nats = natsUrl(values.nats);
    if (values['public-url'] !== undefined && !nats) throw new UsageError('--public-url goes with --nats (or TESSERA_NATS_URL)');
    const bindHost = typeof values.bind === 'string' ? values.bind : '0.0.0.0';
    let publicUrl = typeof values['public-url'] === 'string' ? values['public-url'] : undefined;
    if (nats && publicUrl === undefined) {
      if (port === 0 || bindHost === '0.0.0.0' || bindHost === '::') throw new UsageError('--nats needs --public-url URL (how helpers reach this relay) unless --bind and --port name it');
      publicUrl = `${tls ? 'wss' : 'ws'}://${bindHost.includes(':') ? `[${bindHost}]` : bindHost}:${port}`;
    }
    if (publicUrl !== undefined && !isRedirectUrl(publicUrl)) throw new UsageError('--public-url must be a ws:// or wss:// url without credentials, query or fragment');
    if (values.web && values['no-web']) throw new UsageError('--web and --no-web contradict each other');
    // The viewer page is served unless --no-web; without an explicit --web, a relay whose viewer cannot be loaded
    // (an installation without the built page) still relays, and says so.
    let assets: Awaited<ReturnType<typeof loadWebAssets>> | undefined;
    if (!values['no-web']) {
      try {
        assets = await loadWebAssets();
      } catch (err) {
        if (values.web) throw err;
        out.warn(`not serving the browser viewer: ${printable((err as Error).message)}`);
      }
    }
    const controller = new AbortController();
    const stopSignals = onInterrupt(controller);
    const relay = await startRelay({
      ...(nats ? { cluster: { nats, publicUrl: publicUrl! } } : {}),
      port,
      host: bindHost,
      ...(tls ? { tls } : {}),
      ...(allowedHosts ? { allowedHosts } : {}),
      ...(typeof values.audit === 'string' ? { auditFile: values.audit } : {}),
      ...(assets ? { assets } : {}),
      ...Object.fromEntries(Object.entries(caps).filter(([, v]) => v !== undefined)),
      signal: controller.signal,
    });
    relay.on('audit', (e: RelayAuditEvent) => {
      const { event, ...rest } = e;
      out.event('audit', { action: event, ...rest });
      out.say(`${e.time} ${e.event}${e.reason ? ` ${e.reason}` : ''}${e.peer ? ` from ${printable(e.peer, 80)}` : ''}${e.host ? ` host ${e.host}` : ''}${e.id ? ` id ${e.id}` : ''}`);
    });
    try {
      out.event('listening', { port: relay.port, host: relay.host, url: relay.url, tls: Boolean(tls), open: relay.open, hosts: allowedHosts?.length ?? null, web: assets !== undefined, cluster: publicUrl ?? null });
      out.say(`tessera relay listening on ${relay.host}:${relay.port} (${relay.url})`);
      if (publicUrl) out.say(`in a cluster through NATS as ${publicUrl}`);
      if (relay.open) out.warn('this relay is open: any host that proves its key may register (restrict it with --hosts FILE)');
      else out.say(`${allowedHosts!.length} host(s) may register`);
      if (!tls) out.warn('no TLS: registrations and pairings travel in the clear (sessions stay end-to-end encrypted); use --tls-cert and --tls-key in production');
      await sleep(2 ** 31 - 1, controller.signal);
      return 0;
    } finally {
      stopSignals();
      await relay.close();
      out.say('relay closed');
    }
  },
};

/** The NATS URL from --nats (no credentials allowed there) or TESSERA_NATS_URL (which may carry them). */
function natsUrl(flag: unknown): string | undefined {
  if (typeof flag === 'string') {
    let u: URL;
    try {
      u = new URL(flag);
    } catch {
      throw new UsageError('--nats must be a url like nats://127.0.0.1:4222');
    }
    if (u.username || u.password) throw new UsageError('--nats must not carry credentials (argv is visible to every user): set TESSERA_NATS_URL instead');
    return flag;
  }
  const env = process.env.TESSERA_NATS_URL;
  return env && env.trim() !== '' ? env.trim() : undefined;
}

/** Reads --hosts: a JSON list of base64 or base64url X25519 public keys. */
function readHosts(path: string): Uint8Array[] {
  let list: unknown;
  try {
    list = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--hosts ${path}: ${(err as Error).message}`);
  }
  if (!Array.isArray(list) || list.length > 100_000) throw new UsageError(`--hosts ${path} must hold a JSON list of host public keys`);
  return list.map((k, i) => {
    const key = typeof k === 'string' ? fromBase64(k.trim()) : undefined;
    if (!key || key.byteLength !== 32) throw new UsageError(`--hosts ${path}: entry ${i + 1} is not a host key (give it as 'tessera host' prints it: "host key (for offers)", 43 characters)`);
    return key;
  });
}
