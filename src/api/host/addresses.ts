/**
 * Which addresses an invitation lists (spec/handshake.md §2: 1 to 8 addresses in preference order): the ones a
 * helper on another machine can actually reach. A host on a wildcard address (0.0.0.0, ::) lists its interfaces'
 * addresses, never the machine's bare host name, which usually resolves nowhere else; names the user chose
 * (`advertise`) come first. Pure: the interface table comes in (os.networkInterfaces() in the Host).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { MAX_ADDRESSES, formatAddress, parseAddress, type InvitationAddress } from '../../handshake/index.js';
import { ConfigError } from '../../core/index.js';

/** One address of an interface, as os.networkInterfaces() describes it. */
export interface InterfaceAddress {
  readonly address: string;
  readonly family: string | number;
  readonly internal: boolean;
}

/** Interfaces by name, as os.networkInterfaces() returns them. */
export type InterfaceTable = Readonly<Record<string, readonly InterfaceAddress[] | undefined>>;

/** What reachableAddresses needs. */
export interface ReachableAddressOptions {
  /** The address the host listens on ('0.0.0.0' and '::' are wildcards; undefined counts as '::'). */
  readonly bind: string | undefined;
  /** The listening port. */
  readonly port: number;
  /** The machine's interfaces (os.networkInterfaces()). */
  readonly interfaces: InterfaceTable;
  /**
   * Names or addresses listed first, in this order ('NAME', 'NAME:PORT', '[v6]:PORT'; without a port, the listening
   * port): e.g. a public name with a forwarded port.
   */
  readonly advertise?: readonly string[];
}

/**
 * Interfaces that are usually virtual bridges to containers or virtual machines on this machine: listed after the
 * others, since a helper elsewhere rarely reaches them.
 */
const VIRTUAL_INTERFACE_RE = /^(docker|br-|virbr|veth|cni|flannel|podman|lxcbr|lxdbr|vmnet|tailscale|zt)/;

/**
 * The addresses an invitation lists, best first, at most MAX_ADDRESSES (8):
 * 1. the advertised names, in the order given;
 * 2. on a specific bind address, that address;
 *    on 0.0.0.0, every IPv4 interface address; on '::' (which also accepts IPv4), IPv4 then IPv6 addresses;
 *    never loopback (127.0.0.0/8, ::1) or link-local (169.254.0.0/16, fe80::/10: it needs a zone id that means
 *    nothing on another machine); global IPv6 before unique-local (fc00::/7); interfaces that look like container
 *    or VM bridges (docker0, virbr0, ...) after the rest, each family in the table's order;
 * 3. when that leaves nothing (a machine with only loopback), the loopback address, so that the invitation still
 *    works on this machine (see isLoopbackOnly: the caller should warn).
 * When more than 8 are found, the advertised names are kept, then the two families alternate (IPv4 first) so that a
 * helper on an IPv6-only or IPv4-only network still finds one.
 * @throws {ConfigError} an advertised name is not a host name or IP address (with an optional port), or more than 8
 */
export function reachableAddresses(options: ReachableAddressOptions): string[] {
  const { port } = options;
  const advertised = (options.advertise ?? []).map((text) => advertisedAddress(text, port));
  if (advertised.length > MAX_ADDRESSES) throw new ConfigError(`at most ${MAX_ADDRESSES} advertised addresses fit in an invitation`, { field: 'advertise' });
  const bind = options.bind ?? '::';
  let found: string[];
  if (bind === '0.0.0.0' || bind === '::' || bind === '') {
    const v4: Ranked[] = [];
    const v6: Ranked[] = [];
    let order = 0;
    for (const [name, list] of Object.entries(options.interfaces)) {
      const virtual = VIRTUAL_INTERFACE_RE.test(name) ? 1 : 0;
      for (const a of list ?? []) {
        order++;
        if (a.internal) continue;
        if ((a.family === 'IPv4' || a.family === 4) && isIPv4(a.address) && !isLoopback(a.address) && !a.address.startsWith('169.254.')) {
          v4.push({ text: `${a.address}:${port}`, rank: virtual, order });
        } else if (bind !== '0.0.0.0' && (a.family === 'IPv6' || a.family === 6) && isIPv6(a.address) && ipv6Usable(a.address)) {
          v6.push({ text: `[${a.address.toLowerCase()}]:${port}`, rank: virtual * 2 + (isUniqueLocal(a.address) ? 1 : 0), order });
        }
      }
    }
    found = interleave(best(v4), best(v6));
    if (found.length === 0 && advertised.length === 0) found = [`127.0.0.1:${port}`];
  } else {
    found = [formatAddress({ host: bind.replace(/^\[(.*)\]$/, '$1'), port })];
  }
  const out: string[] = [];
  for (const a of [...advertised, ...found]) if (!out.includes(a) && out.length < MAX_ADDRESSES) out.push(a);
  return out;
}

/** True when every address is a loopback one (127.0.0.0/8, ::1, localhost): no other machine can use them. */
export function isLoopbackOnly(addresses: readonly (string | InvitationAddress)[]): boolean {
  return addresses.every((a) => isLoopback(typeof a === 'string' ? parseAddress(a).host : a.host));
}

/** A loopback host: 127.0.0.0/8, ::1, ::ffff:127.x.y.z, or the name localhost (and names under .localhost). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^(?:0{0,4}:){0,5}:?ffff:127\./.test(h);
  return false;
}

interface Ranked {
  readonly text: string;
  readonly rank: number;
  readonly order: number;
}

function best(list: Ranked[]): string[] {
  const seen = new Set<string>();
  return list
    .sort((a, b) => a.rank - b.rank || a.order - b.order)
    .map((r) => r.text)
    .filter((t) => !seen.has(t) && (seen.add(t), true));
}

/** All of `a` and `b`, taking one from each in turn (a first) once both cannot all fit; otherwise a then b. */
function interleave(a: string[], b: string[]): string[] {
  if (a.length + b.length <= MAX_ADDRESSES) return [...a, ...b];
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) out.push(a[i]!);
    if (i < b.length) out.push(b[i]!);
  }
  return out;
}

/** Neither loopback, unspecified, link-local (fe80::/10), multicast, nor IPv4-mapped. */
function ipv6Usable(address: string): boolean {
  const h = address.toLowerCase();
  if (h.includes('%') || isLoopback(h) || h === '::' || h.startsWith('ff') || h.includes('::ffff:')) return false;
  return !/^fe[89ab]/.test(h);
}

/** fc00::/7, addresses valid only inside one site. */
function isUniqueLocal(address: string): boolean {
  return /^f[cd]/i.test(address);
}

/** 'NAME', 'NAME:PORT', 'v6', '[v6]' or '[v6]:PORT' as 'host:port' (the listening port when none is given). */
function advertisedAddress(text: string, port: number): string {
  const t = text.trim();
  let withPort: string;
  if (t.startsWith('[')) withPort = /\]$/.test(t) ? `${t}:${port}` : t;
  else if (isIPv6(t)) withPort = `[${t}]:${port}`;
  else withPort = t.includes(':') ? t : `${t}:${port}`;
  try {
    return formatAddress(parseAddress(withPort));
  } catch (err) {
    throw new ConfigError(`advertised address ${JSON.stringify(text)} is not a host name or IP address with an optional port`, { field: 'advertise', cause: err });
  }
}
