/**
 * Test helper: a small internet built from Linux network namespaces, for tests that need real NAT, firewalls and
 * an HTTP proxy (issue #15: a relay that joins a host and a helper that are both behind NAT).
 *
 * Topology (every address is in the benchmarking range 198.18.0.0/15 and exists only inside the namespaces):
 *
 * ```
 *                         internet (bridge br0, 198.18.0.0/24; no address of its own)
 *        ┌───────────────────────┬──────────┴────────────┬───────────────────────────┐
 *   relay 198.18.0.10    hostRouter wan 198.18.0.1   helperRouter wan 198.18.0.2   corpRouter wan 198.18.0.3 (option)
 *                         lan 198.19.1.1/24            lan 198.19.2.1/24            lan 198.19.3.1/24
 *                               │ hostLan (bridge)           │ helperLan (bridge)         │ corpLan (bridge)
 *                 host 198.19.1.10, hostPeer .11        helper 198.19.2.10         corpProxy .2 (tinyproxy :8888),
 *                                                                                   corp .10
 * ```
 *
 * - Each bridge ("switch") lives in a namespace of its own with no firewall rules, so traffic between machines of
 *   one LAN never passes a router (the host's own LAN is a direct path) and br_netfilter cannot interfere.
 * - A home router (`hostRouter`, `helperRouter`) masquerades its LAN behind its WAN address and drops every
 *   packet that does not belong to a connection opened from inside: no port forwarding, nothing accepted on the
 *   WAN side. Every router and the relay also know a route to every other site's LAN through that site's WAN
 *   address (the worst case: an attacker on the same segment as the router), so "no inbound" is enforced by the
 *   router's filter, not by a missing route.
 * - The corporate router (`corporate: true`) additionally refuses everything forwarded from its LAN except what
 *   the proxy machine sends: the only way out is tinyproxy on `corpProxy`, which allows CONNECT to
 *   `proxyConnectPorts` only.
 * - Clients have IPv6 switched off (captures hold only the traffic a test makes) and a default route through
 *   their router; nothing listens anywhere unless a test starts it.
 *
 * Names are unique per lab (`tsr-<pid>-<n>-<role>`), so test files running in parallel never collide; inside a
 * namespace the interfaces have fixed names (`eth0` on machines, `wan`/`lan` on routers, `br0` on switches).
 * A lab is torn down by {@link Lab.destroy} (pass `t` to have it registered with `t.teardown`), and on process
 * exit or SIGINT/SIGTERM/SIGHUP/SIGALRM; {@link cleanupStale} removes what a SIGKILLed run left behind. Deleting a namespace
 * removes its interfaces, bridges and nft tables with it; processes inside are killed first (`ip netns pids`).
 *
 * Requirements: root, iproute2 (`ip`, `ss`), nftables, tcpdump (captures), tinyproxy (corporate site). Tests call
 * {@link labAvailable} and skip with its `why` where the lab cannot run (not root, a command missing, or a
 * container that forbids creating namespaces). `NETLAB_DEBUG=1` logs every build command with its duration.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasProgram } from './xvfb.js';

/** Repository root: the cwd of Node processes started in the lab, so `--import tsx` resolves. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const PREFIX = 'tsr';
const NAME_RE = /^tsr-(\d+)-/;

/** The machines (and switches) of a lab; every method taking a namespace takes one of these. */
export type Role =
  | 'internet'
  | 'relay'
  | 'hostRouter'
  | 'hostLan'
  | 'host'
  | 'hostPeer'
  | 'helperRouter'
  | 'helperLan'
  | 'helper'
  | 'corpRouter'
  | 'corpLan'
  | 'corpProxy'
  | 'corp';

/** Fixed addresses of the lab (the same in every lab; they exist only inside its namespaces). */
export const LAB_ADDRESSES = {
  /** The internet segment. */
  internet: '198.18.0.0/24',
  relay: '198.18.0.10',
  hostRouterWan: '198.18.0.1',
  hostRouterLan: '198.19.1.1',
  host: '198.19.1.10',
  hostPeer: '198.19.1.11',
  helperRouterWan: '198.18.0.2',
  helperRouterLan: '198.19.2.1',
  helper: '198.19.2.10',
  corpRouterWan: '198.18.0.3',
  corpRouterLan: '198.19.3.1',
  corpProxy: '198.19.3.2',
  corp: '198.19.3.10',
  /** tinyproxy's port on corpProxy. */
  proxyPort: 8888,
} as const;

/** Options of {@link createLab}. */
export interface LabOptions {
  /** Adds the corporate site (corpRouter, corpLan, corpProxy running tinyproxy, corp). Needs tinyproxy. */
  readonly corporate?: boolean;
  /** Ports tinyproxy allows CONNECT to (default [443]). */
  readonly proxyConnectPorts?: readonly number[];
  /** Whether to start tinyproxy on the corporate site (default true when `corporate`). */
  readonly startProxy?: boolean;
  /** A tap test (or anything with `teardown`): the lab is destroyed in its teardown. */
  readonly t?: { teardown(fn: () => unknown): void };
}

/** Result of {@link Lab.exec}. */
export interface ExecResult {
  /** Exit status, or null when killed (see `signal`). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when the timeout killed the command. */
  readonly timedOut: boolean;
}

/** A process running in a namespace; killed (with its process group) by `kill()` or when the lab is destroyed. */
export interface LabProcess {
  readonly child: ChildProcess;
  readonly role: Role;
  /** stdout and stderr so far (each capped at 1 MiB). */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `pattern` (rejects on exit or after `timeoutMs`, default 10 s). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to the process group, SIGKILL after 2 s; resolves once it has exited. */
  kill(): Promise<void>;
}

/** A running tcpdump; `stop()` ends it and returns the packets read from its pcap file. */
export interface Capture {
  readonly file: string;
  stop(): Promise<PcapFile>;
}

/** A listening TCP socket, as `ss -tln` reports it. */
export interface ListeningSocket {
  readonly address: string;
  readonly port: number;
}

/** A lab: see the module comment for the topology. */
export interface Lab {
  /** Namespace name of each role present in this lab. */
  readonly ns: Readonly<Partial<Record<Role, string>>>;
  readonly addresses: typeof LAB_ADDRESSES;
  /** A temporary folder of this lab (scripts, configs, captures); removed by destroy(). */
  readonly dir: string;
  /** tinyproxy on corpProxy, when the lab has a corporate site (see LabOptions.startProxy). */
  readonly proxy: LabProcess | undefined;
  /** Runs a command in a namespace to completion (default timeout 10 s); never throws on a non-zero status. */
  exec(role: Role, command: string, args?: readonly string[], options?: { timeoutMs?: number; input?: string }): Promise<ExecResult>;
  /** Starts a long-running command in a namespace. */
  spawn(role: Role, command: string, args?: readonly string[], env?: NodeJS.ProcessEnv): LabProcess;
  /** Starts `node --import tsx script ...args` in a namespace, cwd = the repository root. */
  spawnNode(role: Role, scriptPath: string, args?: readonly string[], env?: NodeJS.ProcessEnv): LabProcess;
  /** Writes a script into the lab's folder and returns its path (for spawnNode). */
  writeScript(name: string, source: string): string;
  /** Listening TCP sockets in a namespace (`ss -Htln`). */
  listeningTcp(role: Role): Promise<ListeningSocket[]>;
  /** Waits until something listens on `port` in that namespace. */
  waitForListen(role: Role, port: number, timeoutMs?: number): Promise<void>;
  /**
   * Starts tcpdump: on the internet bridge for 'internet', else on the machine's uplink (`eth0`, or `wan` for a
   * router). `filter` is a pcap filter expression (e.g. ['tcp']). Resolves once tcpdump is capturing.
   */
  tcpdump(role: Role, options?: { file?: string; filter?: readonly string[] }): Promise<Capture>;
  /** Kills every process in the lab and deletes its namespaces and folder; idempotent. */
  destroy(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Availability

let availability: { ok: true } | { ok: false; why: string } | undefined;

/**
 * Whether a lab can be built here: root, the commands, and a namespace that can really be created (a container
 * may forbid it). `corporate` also requires tinyproxy. Use as `t.test(name, { skip: labSkip() }, ...)` or check `ok`.
 */
export function labAvailable(options: { corporate?: boolean } = {}): { ok: true } | { ok: false; why: string } {
  availability ??= probe();
  if (availability.ok && options.corporate && !hasProgram('tinyproxy')) {
    return { ok: false, why: 'network lab skipped: tinyproxy not installed (Debian: tinyproxy)' };
  }
  return availability;
}

/** `labAvailable()` as a tap `skip` value: false, or the reason. */
export function labSkip(options: { corporate?: boolean } = {}): string | false {
  const a = labAvailable(options);
  return a.ok ? false : a.why;
}

function probe(): { ok: true } | { ok: false; why: string } {
  if (process.platform !== 'linux') return { ok: false, why: `network lab skipped: needs Linux network namespaces (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'network lab skipped: needs root (network namespaces, nftables)' };
  const missing = ['ip', 'nft', 'ss', 'tcpdump'].filter((p) => !hasProgram(p));
  if (missing.length > 0) {
    return { ok: false, why: `network lab skipped: ${missing.join(', ')} not installed (Debian: iproute2 nftables tcpdump)` };
  }
  const name = `${PREFIX}-${process.pid}-probe`;
  const steps: [string, string[]][] = [
    ['ip', ['netns', 'add', name]],
    ['ip', ['-n', name, 'link', 'add', 'name', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']],
    ['ip', ['-n', name, 'link', 'add', 'br0', 'type', 'bridge']],
    ['ip', ['netns', 'exec', name, 'nft', 'add', 'table', 'ip', 'probe']],
  ];
  try {
    for (const [cmd, args] of steps) {
      const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5_000 });
      if (r.error || r.status !== 0) {
        const why = (r.error?.message ?? r.stderr ?? '').trim().split('\n')[0];
        return { ok: false, why: `network lab skipped: \`${cmd} ${args.join(' ')}\` failed here (${why || `status ${r.status}`})` };
      }
    }
    return { ok: true };
  } finally {
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Cleanup

const liveLabs = new Set<{ names: string[]; dir: string; children: Set<ChildProcess> }>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', destroyAllSync);
  // SIGALRM: how a tap test file run on its own ends itself at its timeout; SIGHUP: a closed terminal.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGALRM'] as const) {
    const handler = () => {
      destroyAllSync();
      // Then deliver the signal again without this handler. Re-raising even when other listeners remain matters:
      // signal-exit (loaded by tap into every test process) stands aside while any other listener exists, so
      // without a second delivery nobody would end the process.
      process.removeListener(signal, handler);
      process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

function destroyAllSync(): void {
  for (const lab of liveLabs) {
    for (const child of lab.children) killGroup(child, 'SIGKILL');
    deleteNamespacesSync(lab.names);
    rmSync(lab.dir, { recursive: true, force: true });
  }
  liveLabs.clear();
}

/** Kills whatever runs in these namespaces, then deletes them (synchronous, for exit paths). */
function deleteNamespacesSync(names: readonly string[]): void {
  for (const name of names) {
    const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
  for (const name of names) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
}

/** Namespaces named by this module (`tsr-<pid>-…`), with the pid that created them. */
export function labNamespaces(): { name: string; pid: number }[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  const out: { name: string; pid: number }[] = [];
  for (const line of r.stdout.split('\n')) {
    const name = line.trim().split(/\s+/)[0] ?? '';
    const m = NAME_RE.exec(name);
    if (m) out.push({ name, pid: Number(m[1]) });
  }
  return out;
}

/**
 * Deletes the namespaces (and kills the processes in them) and the temporary folders of labs whose creating
 * process no longer runs, i.e. what a SIGKILLed test left behind. Returns the namespaces deleted. Safe to call while other test files run labs.
 */
export function cleanupStale(): string[] {
  const stale = labNamespaces()
    .filter(({ pid }) => pid !== process.pid && !processAlive(pid))
    .map(({ name }) => name);
  deleteNamespacesSync(stale);
  // The folders (scripts, configs, captures) of those labs.
  for (const entry of readdirSync(tmpdir())) {
    const m = /^tsr-(\d+)-\d+-/.exec(entry);
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
  return stale;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Gone already.
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Building

let labCounter = 0;

/** Runs a command (not in a namespace) and throws with its stderr on failure. */
async function run(command: string, args: readonly string[], input?: string): Promise<string> {
  const t0 = performance.now();
  const r = await execFile(command, args, { timeoutMs: 10_000, input });
  if (process.env['NETLAB_DEBUG']) console.error(`netlab: ${Math.round(performance.now() - t0)} ms ${command} ${args.join(' ')}`);
  if (r.code !== 0) throw new Error(`netlab: \`${command} ${args.join(' ')}\` failed (${r.timedOut ? 'timed out' : `status ${r.code}`}): ${r.stderr.trim()}`);
  return r.stdout;
}

function execFile(command: string, args: readonly string[], options: { timeoutMs: number; input?: string | undefined }): Promise<ExecResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const cap = 1 << 20;
    child.stdout.on('data', (c: Buffer) => {
      if (stdout.length < cap) stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < cap) stderr += c.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ code: -1, signal: null, stdout, stderr: stderr + String(err), timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** nft ruleset of a home router: masquerade the LAN, nothing inbound that the inside did not start. */
function homeRouterRules(): string {
  return `
table ip netlab {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname { "lo", "lan" } accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
}
`;
}

/** nft ruleset of the corporate router: like a home router, but only the proxy machine may go out. */
function corporateRouterRules(proxy: string): string {
  return `
table ip netlab {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname { "lo", "lan" } accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" ip saddr ${proxy} accept
    iifname "lan" reject with icmp type admin-prohibited
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
}
`;
}

interface Site {
  readonly router: Role;
  readonly lan: Role;
  readonly wan: string;
  readonly gateway: string;
  readonly subnet: string;
  readonly machines: readonly { role: Role; address: string }[];
  readonly rules: string;
}

/**
 * The build steps. Each step is one `ip -batch` (in the root namespace, or in one namespace with `-n`): far
 * fewer processes than one `ip` per change, which matters on a small machine (about 30 processes in all).
 */
async function build(id: string, nsOf: (role: Role) => string, sites: readonly Site[], dir: string): Promise<void> {
  const a = LAB_ADDRESSES;
  const switches: Role[] = ['internet', ...sites.map((s) => s.lan)];
  const hosts: Role[] = ['relay', ...sites.flatMap((s) => [s.router, ...s.machines.map((m) => m.role)])];
  const batch = (lines: readonly string[], role?: Role) => run('ip', [...(role ? ['-n', nsOf(role)] : []), '-batch', '-'], lines.join('\n') + '\n');

  // Namespaces; IPv6 off everywhere before any interface exists (no router solicitations or DAD in captures).
  await batch([...switches, ...hosts].map((role) => `netns add ${nsOf(role)}`));
  const v6off = 'net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1';
  await batch([
    ...[...switches, ...hosts].map((role) => `netns exec ${nsOf(role)} sysctl -q -w ${v6off}`),
    ...sites.map((site) => `netns exec ${nsOf(site.router)} sysctl -q -w net.ipv4.ip_forward=1`),
  ]);
  // Switches: a bridge br0 each.
  for (const sw of switches) await batch(['link set lo up', 'link add br0 type bridge', 'link set br0 up'], sw);
  // Machines and routers: a veth into a switch per interface, the peer named after the machine there.
  const ports = new Map<Role, string[]>(switches.map((sw) => [sw, []]));
  const link = (role: Role, ifname: string, sw: Role, port: string, cidr: string): string[] => {
    ports.get(sw)!.push(port);
    return [`link add ${ifname} type veth peer name ${port} netns ${nsOf(sw)}`, `addr add ${cidr} dev ${ifname}`, `link set ${ifname} up`];
  };
  const routesTo = (role: Role): string[] =>
    sites.filter((site) => site.router !== role).map((site) => `route add ${site.subnet} via ${site.wan}`);
  await batch(['link set lo up', ...link('relay', 'eth0', 'internet', 'relay', `${a.relay}/24`), ...routesTo('relay')], 'relay');
  for (const site of sites) {
    await batch(
      [
        'link set lo up',
        ...link(site.router, 'wan', 'internet', site.router, `${site.wan}/24`),
        ...link(site.router, 'lan', site.lan, 'gw', `${site.gateway}/24`),
        ...routesTo(site.router),
      ],
      site.router,
    );
    for (const m of site.machines) {
      await batch(['link set lo up', ...link(m.role, 'eth0', site.lan, m.role, `${m.address}/24`), `route add default via ${site.gateway}`], m.role);
    }
  }
  for (const sw of switches) await batch(ports.get(sw)!.flatMap((port) => [`link set ${port} master br0`, `link set ${port} up`]), sw);
  // Routers' firewalls and NAT.
  const rules: string[] = [];
  for (const site of sites) {
    const file = join(dir, `${id}-${site.router}.nft`);
    writeFileSync(file, site.rules);
    rules.push(`netns exec ${nsOf(site.router)} nft -f ${file}`);
  }
  await batch(rules);
  // A new link is "up" only once the kernel's link watch has run (up to a second later); until then packets are
  // queued or dropped. Wait for every interface to have its carrier, so the first packet of a test goes through.
  const deadline = performance.now() + 10_000;
  for (const role of [...switches, ...hosts]) {
    for (;;) {
      const links = await run('ip', ['-n', nsOf(role), '-o', 'link', 'show']);
      const down = links.split('\n').filter((l) => l && !/ lo: /.test(l) && (!/[<,]LOWER_UP[,>]/.test(l) || / state (DOWN|LOWERLAYERDOWN) /.test(l)));
      if (down.length === 0) break;
      if (performance.now() > deadline) throw new Error(`netlab: links still down in ${role}: ${down.join('; ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Builds a lab (about a second); throws, having removed what it built, if a step fails. */
export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const a = LAB_ADDRESSES;
  const id = `${PREFIX}-${process.pid}-${labCounter++}`;
  const sites: Site[] = [
    {
      router: 'hostRouter',
      lan: 'hostLan',
      wan: a.hostRouterWan,
      gateway: a.hostRouterLan,
      subnet: '198.19.1.0/24',
      machines: [
        { role: 'host', address: a.host },
        { role: 'hostPeer', address: a.hostPeer },
      ],
      rules: homeRouterRules(),
    },
    {
      router: 'helperRouter',
      lan: 'helperLan',
      wan: a.helperRouterWan,
      gateway: a.helperRouterLan,
      subnet: '198.19.2.0/24',
      machines: [{ role: 'helper', address: a.helper }],
      rules: homeRouterRules(),
    },
  ];
  if (options.corporate) {
    sites.push({
      router: 'corpRouter',
      lan: 'corpLan',
      wan: a.corpRouterWan,
      gateway: a.corpRouterLan,
      subnet: '198.19.3.0/24',
      machines: [
        { role: 'corpProxy', address: a.corpProxy },
        { role: 'corp', address: a.corp },
      ],
      rules: corporateRouterRules(a.corpProxy),
    });
  }
  const roles: Role[] = ['internet', 'relay', ...sites.flatMap((s) => [s.router, s.lan, ...s.machines.map((m) => m.role)])];
  const ns: Partial<Record<Role, string>> = {};
  for (const role of roles) ns[role] = `${id}-${role}`;
  const nsOf = (role: Role): string => {
    const name = ns[role];
    if (!name) throw new Error(`netlab: this lab has no ${role} (corporate: ${Boolean(options.corporate)})`);
    return name;
  };

  const dir = mkdtempSync(join(tmpdir(), `${id}-`));
  const children = new Set<ChildProcess>();
  const record = { names: roles.map(nsOf), dir, children };
  liveLabs.add(record);
  hookExit();

  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    await Promise.all([...children].map((c) => stopChild(c)));
    deleteNamespacesSync(record.names);
    rmSync(dir, { recursive: true, force: true });
    liveLabs.delete(record);
  };

  try {
    await build(id, nsOf, sites, dir);
  } catch (err) {
    await destroy();
    throw err;
  }

  const spawnIn = (role: Role, command: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): LabProcess => {
    if (destroyed) throw new Error('netlab: lab destroyed');
    const child = spawn('ip', ['netns', 'exec', nsOf(role), command, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.add(child);
    let out = '';
    let err = '';
    const cap = 1 << 20;
    const lineWaiters = new Set<() => void>();
    child.stdout!.on('data', (c: Buffer) => {
      if (out.length < cap) out += c.toString();
      for (const w of lineWaiters) w();
    });
    child.stderr!.on('data', (c: Buffer) => {
      if (err.length < cap) err += c.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
      child.on('error', (e) => {
        err += String(e);
        children.delete(child);
        res({ code: -1, signal: null });
      });
      child.on('exit', (code, signal) => {
        children.delete(child);
        for (const w of lineWaiters) w();
        res({ code, signal });
      });
    });
    return {
      child,
      role,
      stdout: () => out,
      stderr: () => err,
      exited,
      waitForLine(pattern, timeoutMs = 10_000) {
        return new Promise((res, rej) => {
          const check = () => {
            const line = out.split('\n').find((l, i, all) => (i < all.length - 1 || child.exitCode !== null) && pattern.test(l));
            if (line !== undefined) return done(() => res(line));
            if (child.exitCode !== null || child.signalCode !== null) {
              return done(() => rej(new Error(`netlab: ${command} in ${role} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}: ${err.trim().slice(0, 500)}`)));
            }
          };
          const timer = setTimeout(() => done(() => rej(new Error(`netlab: ${command} in ${role} did not print ${pattern} within ${timeoutMs} ms: ${err.trim().slice(0, 500)}`))), timeoutMs);
          const done = (settle: () => void) => {
            clearTimeout(timer);
            lineWaiters.delete(check);
            settle();
          };
          lineWaiters.add(check);
          check();
        });
      },
      kill: () => stopChild(child),
    };
  };

  const listeningTcp = async (role: Role): Promise<ListeningSocket[]> => {
    const r = await run('ip', ['netns', 'exec', nsOf(role), 'ss', '-Htln']);
    return parseSsListening(r);
  };

  const lab: Lab = {
    ns,
    addresses: LAB_ADDRESSES,
    dir,
    proxy: undefined,
    exec(role, command, args = [], opts = {}) {
      return execFile('ip', ['netns', 'exec', nsOf(role), command, ...args], { timeoutMs: opts.timeoutMs ?? 10_000, input: opts.input });
    },
    spawn: spawnIn,
    spawnNode(role, scriptPath, args = [], env = {}) {
      return spawnIn(role, process.execPath, ['--import', 'tsx', scriptPath, ...args], env);
    },
    writeScript(name, source) {
      if (!/^[\w.-]+$/.test(name)) throw new Error(`netlab: bad script name ${name}`);
      const path = join(dir, name);
      writeFileSync(path, source);
      return path;
    },
    listeningTcp,
    async waitForListen(role, port, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      while (!(await listeningTcp(role)).some((s) => s.port === port)) {
        if (performance.now() > deadline) throw new Error(`netlab: nothing listens on port ${port} in ${role} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async tcpdump(role, opts = {}) {
      const file = opts.file ?? join(dir, `capture-${role}-${Date.now()}.pcap`);
      const iface = role === 'internet' ? 'br0' : role.endsWith('Router') ? 'wan' : role.endsWith('Lan') ? 'br0' : 'eth0';
      // --immediate-mode: hand each packet over at once (with the default buffer timeout, packets still in the
      // kernel's ring when tcpdump is stopped are lost); -U: write each packet as it comes; -Z root: keep the
      // privileges needed to open the file.
      const args = ['-i', iface, '-n', '--immediate-mode', '-U', '-s', '0', '-Z', 'root', '-w', file, ...(opts.filter ?? [])];
      const proc = spawnIn(role, 'tcpdump', args);
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`netlab: tcpdump in ${role} did not start: ${proc.stderr()}`)), 10_000);
        const check = () => {
          if (/listening on/.test(proc.stderr())) {
            clearTimeout(timer);
            res();
          }
        };
        proc.child.stderr!.on('data', check);
        void proc.exited.then(() => {
          clearTimeout(timer);
          rej(new Error(`netlab: tcpdump in ${role} exited: ${proc.stderr().trim()}`));
        });
        check();
      });
      return {
        file,
        async stop() {
          // SIGINT: tcpdump flushes and closes the file.
          killGroup(proc.child, 'SIGINT');
          await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 3_000).unref())]);
          await proc.kill();
          return readPcap(file);
        },
      };
    },
    destroy,
  };
  options.t?.teardown(() => lab.destroy());
  if (options.corporate && options.startProxy !== false) {
    try {
      (lab as { proxy: LabProcess | undefined }).proxy = await startProxy(lab, options.proxyConnectPorts ?? [443]);
    } catch (err) {
      await destroy();
      throw err;
    }
  }
  return lab;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  killGroup(child, 'SIGTERM');
  const timer = new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 2_000).unref());
  if ((await Promise.race([exited, timer])) === 'timeout') {
    killGroup(child, 'SIGKILL');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 1_000).unref())]);
  }
}

/** Parses `ss -Htln` output: `LISTEN 0 511 198.18.0.10:7000 0.0.0.0:*` (and `[::]:22`, `*:80`, `%iface`). */
export function parseSsListening(text: string): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5) continue;
    const local = cols[3]!;
    const colon = local.lastIndexOf(':');
    if (colon < 0) continue;
    const port = Number(local.slice(colon + 1));
    if (!Number.isInteger(port)) continue;
    out.push({ address: local.slice(0, colon).replace(/^\[|\]$/g, '').replace(/%.*$/, ''), port });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Starting tinyproxy on the corporate site

/**
 * Starts tinyproxy on `corpProxy` (listening on corpProxy:8888, clients from the corporate LAN only, CONNECT to
 * `connectPorts` only) and waits until it listens. The process belongs to the lab. createLab calls it for a
 * corporate lab unless `startProxy: false`.
 */
export async function startProxy(lab: Lab, connectPorts: readonly number[] = [443]): Promise<LabProcess> {
  const a = lab.addresses;
  const conf = [
    `Port ${a.proxyPort}`,
    `Listen ${a.corpProxy}`,
    'User nobody',
    'Group nogroup',
    'Timeout 30',
    'MaxClients 20',
    'LogLevel Info',
    'DisableViaHeader Yes',
    'Allow 198.19.3.0/24',
    ...connectPorts.map((p) => `ConnectPort ${p}`),
    '',
  ].join('\n');
  const path = join(lab.dir, 'tinyproxy.conf');
  writeFileSync(path, conf);
  const proc = lab.spawn('corpProxy', 'tinyproxy', ['-d', '-c', path]);
  try {
    await lab.waitForListen('corpProxy', a.proxyPort);
  } catch (err) {
    throw new Error(`${(err as Error).message}; tinyproxy: ${proc.stderr().trim().slice(0, 500)}`);
  }
  return proc;
}

// ---------------------------------------------------------------------------------------------------------------
// pcap

/** One captured packet. */
export interface PcapPacket {
  /** Seconds since the epoch (fractional). */
  readonly time: number;
  /** Original length on the wire. */
  readonly length: number;
  /** Captured bytes (at most the snap length). */
  readonly data: Uint8Array;
}

/** A pcap file: its link type (1 = Ethernet) and packets. */
export interface PcapFile {
  readonly linkType: number;
  readonly packets: readonly PcapPacket[];
}

const PCAP_MAX_FILE = 64 << 20;
const PCAP_MAX_PACKET = 256 << 10;

/**
 * Reads a classic pcap file (what `tcpdump -w` writes: microsecond or nanosecond, either byte order). Bounded:
 * refuses files over 64 MiB and records over 256 KiB; a truncated last record (tcpdump killed mid-write) is dropped.
 */
export function readPcap(path: string): PcapFile {
  const size = statSync(path).size;
  if (size > PCAP_MAX_FILE) throw new Error(`pcap: ${path} is ${size} bytes, more than ${PCAP_MAX_FILE}`);
  return parsePcap(readFileSync(path));
}

/** Parses pcap bytes; see {@link readPcap}. */
export function parsePcap(bytes: Uint8Array): PcapFile {
  if (bytes.byteLength < 24) throw new Error('pcap: shorter than its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  let little: boolean;
  let nano: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    little = true;
    nano = magic === 0xa1b23c4d;
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    little = false;
    nano = magic === 0x4d3cb2a1;
  } else {
    throw new Error(`pcap: bad magic 0x${magic.toString(16)} (pcapng is not supported)`);
  }
  const linkType = view.getUint32(20, little) & 0x0fffffff;
  const packets: PcapPacket[] = [];
  let at = 24;
  while (at + 16 <= bytes.byteLength) {
    const sec = view.getUint32(at, little);
    const frac = view.getUint32(at + 4, little);
    const incl = view.getUint32(at + 8, little);
    const orig = view.getUint32(at + 12, little);
    if (incl > PCAP_MAX_PACKET) throw new Error(`pcap: record of ${incl} bytes at offset ${at}`);
    if (at + 16 + incl > bytes.byteLength) break;
    packets.push({ time: sec + frac / (nano ? 1e9 : 1e6), length: orig, data: bytes.subarray(at + 16, at + 16 + incl) });
    at += 16 + incl;
  }
  return { linkType, packets };
}

/** A TCP or UDP segment decoded from an Ethernet/IPv4 frame. */
export interface Segment {
  readonly protocol: 'tcp' | 'udp';
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

/** The IPv4 TCP/UDP segments of an Ethernet capture (other frames, fragments and IPv6 are skipped). */
export function segments(capture: PcapFile): Segment[] {
  if (capture.linkType !== 1) throw new Error(`pcap: link type ${capture.linkType}, expected Ethernet (1)`);
  const out: Segment[] = [];
  for (const { data } of capture.packets) {
    if (data.byteLength < 14 + 20) continue;
    let off = 12;
    let etherType = (data[off]! << 8) | data[off + 1]!;
    off += 2;
    if (etherType === 0x8100) {
      etherType = (data[off + 2]! << 8) | data[off + 3]!;
      off += 4;
    }
    if (etherType !== 0x0800 || (data[off]! >> 4) !== 4) continue;
    const ihl = (data[off]! & 0x0f) * 4;
    const total = (data[off + 2]! << 8) | data[off + 3]!;
    const fragment = ((data[off + 6]! << 8) | data[off + 7]!) & 0x3fff;
    const proto = data[off + 9]!;
    if (fragment !== 0 || ihl < 20) continue;
    const ipEnd = Math.min(data.byteLength, off + total);
    const src = Array.from(data.subarray(off + 12, off + 16)).join('.');
    const dst = Array.from(data.subarray(off + 16, off + 20)).join('.');
    const l4 = off + ihl;
    if (proto === 6 && l4 + 20 <= ipEnd) {
      const dataOffset = (data[l4 + 12]! >> 4) * 4;
      out.push({
        protocol: 'tcp',
        src,
        dst,
        srcPort: (data[l4]! << 8) | data[l4 + 1]!,
        dstPort: (data[l4 + 2]! << 8) | data[l4 + 3]!,
        payload: data.subarray(Math.min(ipEnd, l4 + dataOffset), ipEnd),
      });
    } else if (proto === 17 && l4 + 8 <= ipEnd) {
      out.push({
        protocol: 'udp',
        src,
        dst,
        srcPort: (data[l4]! << 8) | data[l4 + 1]!,
        dstPort: (data[l4 + 2]! << 8) | data[l4 + 3]!,
        payload: data.subarray(l4 + 8, ipEnd),
      });
    }
  }
  return out;
}

/** True when `needle` occurs in `haystack`. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle) >= 0;
}

const consumedEvents = new WeakMap<LabProcess, Map<string, number>>();

/**
 * The next JSON line with `"event":"<name>"` on a lab process's stdout that the caller has not taken yet (each is
 * taken once, in order); throws when the process exits first or after `ms`.
 */
export async function nextEvent(p: LabProcess, name: string, ms = 30_000): Promise<Record<string, unknown>> {
  const seen = consumedEvents.get(p) ?? new Map<string, number>();
  consumedEvents.set(p, seen);
  const n = seen.get(name) ?? 0;
  const deadline = Date.now() + ms;
  for (;;) {
    const lines = p.stdout().split('\n').filter((l) => l.includes(`"event":"${name}"`));
    if (lines.length > n) {
      seen.set(name, n + 1);
      const line = lines[n]!;
      return JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
    }
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${p.role} exited before "${name}" (code ${p.child.exitCode}): ${p.stderr().slice(-800)} ${p.stdout().slice(-800)}`);
    }
    if (Date.now() > deadline) throw new Error(`${p.role} printed no "${name}" within ${ms} ms: ${p.stderr().slice(-800)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
