/**
 * The key per-address limits count by (spec/handshake.md §8): an IPv4 address as it is, an IPv6 address by its /64
 * prefix (one subscriber usually holds a whole /64, so counting single IPv6 addresses would give an attacker
 * 2^64 budgets), and an IPv4-mapped IPv6 address as the IPv4 address it carries. Pure and total: anything that is
 * not an IP address is its own group.
 */

/** The group `address` counts in ("198.51.100.7", "2001:db8:1:2::/64", or the input itself). */
export function addressGroup(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zone = bare.indexOf('%');
  const ip = (zone >= 0 ? bare.slice(0, zone) : bare).toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const hextets = expandIpv6(ip);
  if (!hextets) return ip;
  return `${hextets.slice(0, 4).map((h) => h.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function expandIpv6(ip: string): number[] | undefined {
  if (ip.length > 45) return undefined;
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = p.split('.').map(Number);
        if (v4.length !== 4 || v4.some((n) => !(Number.isInteger(n) && n >= 0 && n <= 255))) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}
