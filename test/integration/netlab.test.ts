/**
 * The network lab of test/helpers/netlab.ts, proved with plain Node TCP and a real HTTP proxy: the host has no
 * listening socket; outbound through NAT works and is masqueraded; nothing gets in from outside (the other site,
 * the relay); a machine on the host's own LAN reaches it directly; a corporate site gets out only through
 * tinyproxy; a capture on the internet bridge sees a message's bytes (and no private address).
 * Skipped with the reason where namespaces are unavailable (not root, commands missing, a container forbids it).
 * Every address is in 198.18.0.0/15 and exists only inside the lab's namespaces.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanupStale,
  containsBytes,
  createLab,
  labAvailable,
  labNamespaces,
  parsePcap,
  parseSsListening,
  REPO_ROOT,
  segments,
  type Lab,
  type LabProcess,
  type Role,
} from '../helpers/netlab.js';

const available = labAvailable();
const skip = available.ok ? false : available.why;
const corporate = labAvailable({ corporate: true });

/** Echo server: `server.mjs ADDRESS PORT...`; prints `listening`, then one JSON line per message received. */
const SERVER = `
import net from 'node:net';
const [address, ...ports] = process.argv.slice(2);
let pending = ports.length;
for (const port of ports) {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (chunk) => {
      const text = chunk.toString();
      console.log(JSON.stringify({ remote: socket.remoteAddress, port: socket.localPort, text }));
      socket.end('echo:' + text);
    });
  });
  server.listen(Number(port), address, () => { if (--pending === 0) console.log('listening'); });
}
`;

/**
 * Client: `client.mjs JSON`, JSON = { timeoutMs, targets: [{ host, port, message, proxy?: [host, port], timeoutMs? }] }: opens
 * every connection at once (through an HTTP CONNECT proxy, written by hand, when given), sends the message, and
 * prints one JSON line: per target { ok, reply, local } or { ok: false, error }. One process for many attempts keeps
 * the test light on a small machine.
 */
const CLIENT = `
import net from 'node:net';
const { timeoutMs, targets } = JSON.parse(process.argv[2]);
const attempt = ({ host, port, message, proxy, timeoutMs: own }) => new Promise((resolve) => {
  const timer = setTimeout(() => done({ ok: false, error: 'TIMEOUT' }), own ?? timeoutMs);
  const socket = net.connect(proxy ? { host: proxy[0], port: proxy[1] } : { host, port });
  const done = (r) => { clearTimeout(timer); socket.destroy(); resolve(r); };
  socket.on('error', (err) => done({ ok: false, error: err.code || String(err) }));
  let local;
  const talk = () => {
    socket.write(message);
    let reply = '';
    socket.on('data', (c) => { reply += c; });
    socket.on('end', () => done({ ok: true, reply, local }));
  };
  socket.on('connect', () => {
    local = socket.localAddress;
    if (!proxy) return talk();
    socket.write('CONNECT ' + host + ':' + port + ' HTTP/1.1\\r\\nHost: ' + host + ':' + port + '\\r\\n\\r\\n');
    let head = '';
    const onData = (c) => {
      head += c.toString('latin1');
      if (head.indexOf('\\r\\n\\r\\n') < 0) return;
      socket.off('data', onData);
      const status = Number(head.split(' ')[1]);
      if (status !== 200) return done({ ok: false, error: 'HTTP ' + status });
      talk();
    };
    socket.on('data', onData);
  });
});
console.log(JSON.stringify(await Promise.all(targets.map(attempt))));
`;

interface ClientResult {
  ok: boolean;
  reply?: string;
  local?: string;
  error?: string;
}

interface Target {
  host: string;
  port: number;
  message: string;
  proxy?: [string, number];
  /** This attempt's bound, instead of the batch's. */
  timeoutMs?: number;
}

/** Runs the client in `role` against every target at once; each attempt gives up after `timeoutMs`. */
async function connectAll(lab: Lab, role: Role, targets: readonly Target[], timeoutMs: number): Promise<ClientResult[]> {
  const script = lab.writeScript('client.mjs', CLIENT);
  // The process bound is generous: node itself may start slowly on a loaded machine; the attempts' bound is timeoutMs.
  const longest = Math.max(timeoutMs, ...targets.map((x) => x.timeoutMs ?? 0));
  const r = await lab.exec(role, process.execPath, [script, JSON.stringify({ timeoutMs, targets })], { timeoutMs: longest + 60_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith('[')) throw new Error(`client in ${role} printed nothing (status ${r.code}): ${r.stderr.trim()}`);
  return JSON.parse(line) as ClientResult[];
}

async function connect(lab: Lab, role: Role, host: string, port: number, message: string, timeoutMs: number, proxy?: [string, number]): Promise<ClientResult> {
  const [result] = await connectAll(lab, role, [{ host, port, message, ...(proxy ? { proxy } : {}) }], timeoutMs);
  return result!;
}

/** Starts the echo server in `role`: through spawnNode (node --import tsx) when `tsx`, else plain node (starts faster). */
async function startServer(lab: Lab, role: Role, address: string, ports: readonly number[], tsx = false): Promise<LabProcess> {
  const script = lab.writeScript('server.mjs', SERVER);
  const args = [address, ...ports.map(String)];
  const proc = tsx ? lab.spawnNode(role, script, args) : lab.spawn(role, process.execPath, [script, ...args]);
  await proc.waitForLine(/^listening$/);
  return proc;
}

/** The messages a server has received so far. */
function received(server: LabProcess): { remote: string; port: number; text: string }[] {
  return server
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { remote: string; port: number; text: string });
}

const RELAY_PORT = 7000;
const RELAY_TLS_PORT = 7443; // The one port the corporate proxy lets CONNECT through.
const HOST_PORT = 7100;
const REFUSED_BOUND_MS = 1_500; // An inbound attempt must have failed by then.

t.test('ss -tln output is parsed (IPv4, IPv6, wildcard, scoped)', async (t) => {
  const sample = [
    'LISTEN 0      511      198.18.0.10:7000       0.0.0.0:*',
    'LISTEN 0      4096           [::]:22             [::]:*',
    'LISTEN 0      128               *:80                *:*',
    'LISTEN 0      128   198.19.1.10%eth0:9000     0.0.0.0:*',
    '',
  ].join('\n');
  t.same(parseSsListening(sample), [
    { address: '198.18.0.10', port: 7000 },
    { address: '::', port: 22 },
    { address: '*', port: 80 },
    { address: '198.19.1.10', port: 9000 },
  ]);
  t.same(parseSsListening(''), []);
});

t.test('the pcap reader is bounded and tolerates a cut last record', async (t) => {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const record = Buffer.alloc(16 + 4);
  record.writeUInt32LE(1, 0);
  record.writeUInt32LE(500_000, 4);
  record.writeUInt32LE(4, 8);
  record.writeUInt32LE(60, 12);
  record.write('abcd', 16);
  const file = parsePcap(Buffer.concat([header, record, record.subarray(0, 10)]));
  t.equal(file.linkType, 1);
  t.equal(file.packets.length, 1, 'the cut record is dropped');
  t.equal(file.packets[0]!.time, 1.5);
  t.equal(Buffer.from(file.packets[0]!.data).toString(), 'abcd');
  const huge = Buffer.from(record);
  huge.writeUInt32LE(1 << 30, 8);
  t.throws(() => parsePcap(Buffer.concat([header, huge])), /record of/);
  t.throws(() => parsePcap(Buffer.alloc(24)), /bad magic/);
});

t.test('the lab', { skip }, async (t) => {
  cleanupStale();
  const started = performance.now();
  const lab = await createLab({ t, corporate: corporate.ok, proxyConnectPorts: [RELAY_TLS_PORT] });
  t.comment(`lab built in ${Math.round(performance.now() - started)} ms (${Object.keys(lab.ns).length} namespaces)`);
  const a = lab.addresses;
  const relay = await startServer(lab, 'relay', a.relay, [RELAY_PORT, RELAY_TLS_PORT], true);

  t.test('(a) the host has no listening TCP socket', async (t) => {
    t.same(await lab.listeningTcp('host'), [], 'the lab reports none');
    const raw = await lab.exec('host', 'ss', ['-tln']);
    t.equal(raw.code, 0);
    t.equal(raw.stdout.trim().split('\n').length, 1, `\`ss -tln\` in the host's namespace prints only its header:\n${raw.stdout}`);
    t.same((await lab.listeningTcp('relay')).sort((x, y) => x.port - y.port), [
      { address: a.relay, port: RELAY_PORT },
      { address: a.relay, port: RELAY_TLS_PORT },
    ], 'the relay listens where its server does');
  });

  t.test('(b) outbound through NAT works and is masqueraded', async (t) => {
    const [fromHost, fromHelper] = await Promise.all([
      connect(lab, 'host', a.relay, RELAY_PORT, 'hello from host', 5_000),
      connect(lab, 'helper', a.relay, RELAY_PORT, 'hello from helper', 5_000),
    ]);
    t.same(fromHost, { ok: true, reply: 'echo:hello from host', local: a.host }, 'the host reaches the relay, from its LAN address');
    t.same(fromHelper, { ok: true, reply: 'echo:hello from helper', local: a.helper });
    const seen = received(relay);
    t.same(seen.find((m) => m.text === 'hello from host')?.remote, a.hostRouterWan, "the relay sees the host's router, not 198.19.1.10");
    t.same(seen.find((m) => m.text === 'hello from helper')?.remote, a.helperRouterWan);
  });

  t.test('(c) nothing gets in: no TCP to the host LAN nor to its router, from the other site or the internet', async (t) => {
    const server = await startServer(lab, 'host', a.host, [HOST_PORT]);
    t.teardown(() => server.kill());
    t.same(await lab.listeningTcp('host'), [{ address: a.host, port: HOST_PORT }], 'the host listens for this test only');
    const attempts: [Role, string, number][] = [
      ['helper', a.host, HOST_PORT],
      ['helper', a.hostRouterWan, HOST_PORT],
      ['helper', a.hostRouterWan, 22],
      ['helper', a.hostRouterWan, 80],
      ['helper', a.hostRouterWan, 443],
      ['helper', a.hostRouterWan, RELAY_PORT],
      ['relay', a.host, HOST_PORT],
      ['relay', a.hostRouterWan, HOST_PORT],
      ['helperRouter', a.host, HOST_PORT],
    ];
    const roles = [...new Set(attempts.map(([role]) => role))];
    // Each client also makes one connection that must work (to the relay), so a failure is the firewall's doing,
    // not a client that could not connect at all.
    const control = { host: a.relay, port: RELAY_PORT, message: 'control', timeoutMs: 10_000 };
    const byRole = await Promise.all(
      roles.map((role) =>
        connectAll(lab, role, [control, ...attempts.filter(([r]) => r === role).map(([, host, port]) => ({ host, port, message: 'let me in' }))], REFUSED_BOUND_MS),
      ),
    );
    roles.forEach((role, i) => t.equal(byRole[i]![0]!.reply, 'echo:control', `${role} can connect to the relay`));
    roles.forEach((role, i) => {
      attempts
        .filter(([r]) => r === role)
        .forEach(([, host, port], j) => {
          const result = byRole[i]![j + 1]!;
          t.equal(result.ok, false, `${role} -> ${host}:${port} fails (${result.error})`);
        });
    });
    t.same(received(server), [], 'the host saw no connection');
    const rules = await lab.exec('hostRouter', 'nft', ['list', 'ruleset']);
    t.match(rules.stdout, /masquerade/);
    t.notMatch(rules.stdout, /dnat|redirect/, 'the router forwards no port');
    await server.kill();
    t.same(await lab.listeningTcp('host'), [], 'and listens on nothing again');
  });

  t.test("(d) a machine on the host's own LAN reaches the host directly", async (t) => {
    const server = await startServer(lab, 'host', a.host, [HOST_PORT]);
    t.teardown(() => server.kill());
    const r = await connect(lab, 'hostPeer', a.host, HOST_PORT, 'hello neighbour', 5_000);
    t.same(r, { ok: true, reply: 'echo:hello neighbour', local: a.hostPeer });
    t.same(received(server).map((m) => m.remote), [a.hostPeer], 'from its own address: no router in between');
  });

  t.test('(e) the corporate site gets out only through its HTTP proxy', { skip: corporate.ok ? false : corporate.why }, async (t) => {
    const proxy: [string, number] = [a.corpProxy, a.proxyPort];
    const [direct, viaProxy, otherPort] = await connectAll(
      lab,
      'corp',
      [
        { host: a.relay, port: RELAY_TLS_PORT, message: 'direct', timeoutMs: REFUSED_BOUND_MS },
        { host: a.relay, port: RELAY_TLS_PORT, message: 'through the proxy', proxy },
        { host: a.relay, port: RELAY_PORT, message: 'other port', proxy },
      ],
      10_000,
    );
    t.equal(direct!.ok, false, `direct TCP to the relay fails (${direct!.error})`);
    t.same(viaProxy, { ok: true, reply: 'echo:through the proxy', local: a.corp }, 'CONNECT through tinyproxy reaches the relay');
    t.same(received(relay).find((m) => m.text === 'through the proxy')?.remote, a.corpRouterWan, 'the relay sees the corporate router');
    t.same(otherPort, { ok: false, error: 'HTTP 403' }, 'the proxy refuses CONNECT to a port it does not allow');
    t.notOk(received(relay).some((m) => m.text === 'direct' || m.text === 'other port'));
  });

  t.test('(f) a capture on the internet bridge holds the bytes of a message, and no private address', async (t) => {
    const capture = await lab.tcpdump('internet', { filter: ['tcp'] });
    const marker = `netlab-marker-${randomBytes(8).toString('hex')}`;
    const r = await connect(lab, 'host', a.relay, RELAY_PORT, marker, 5_000);
    t.equal(r.ok, true);
    const pcap = await capture.stop();
    const tcp = segments(pcap);
    const carrying = tcp.filter((s) => containsBytes(s.payload, Buffer.from(marker)));
    t.ok(carrying.length >= 1, `the marker is in the capture (${pcap.packets.length} packets)`);
    const request = carrying.filter((s) => s.src === a.hostRouterWan && s.dst === a.relay && s.dstPort === RELAY_PORT);
    const echo = carrying.filter((s) => s.src === a.relay && s.srcPort === RELAY_PORT && s.dst === a.hostRouterWan);
    t.ok(request.length >= 1, 'the message, from the router to the relay');
    t.ok(echo.length >= 1, 'its echo, from the relay to the router');
    t.equal(request.length + echo.length, carrying.length, 'and nowhere else');
    t.ok(
      tcp.every((s) => !s.src.startsWith('198.19.') && !s.dst.startsWith('198.19.')),
      'no LAN address appears on the internet',
    );
  });
});

t.test('destroy leaves nothing behind; cleanupStale removes what a killed run left', { skip }, async (t) => {
  const built = performance.now();
  const lab = await createLab();
  const names = Object.values(lab.ns);
  const sleeper = lab.spawn('host', 'sleep', ['60']);
  const destroying = performance.now();
  await lab.destroy();
  t.comment(`a lab without the corporate site: built in ${Math.round(destroying - built)} ms, destroyed in ${Math.round(performance.now() - destroying)} ms`);
  await lab.destroy();
  t.equal(sleeper.child.exitCode !== null || sleeper.child.signalCode !== null, true, 'its processes are gone');
  const left = new Set(labNamespaces().map((n) => n.name));
  t.same(names.filter((n) => left.has(n)), [], 'its namespaces are gone');

  // A namespace named by a process that no longer runs.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const stale = `tsr-${dead}-0-host`;
  t.equal(spawnSync('ip', ['netns', 'add', stale]).status, 0);
  t.ok(cleanupStale().includes(stale), 'cleanupStale reports it');
  t.notOk(labNamespaces().some((n) => n.name === stale), 'and it is gone');
});

t.test('a lab goes with its process: SIGTERM cleans up at once, SIGKILL leaves it to cleanupStale', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'hold.mts');
  writeFileSync(
    script,
    `import { createLab } from ${JSON.stringify(join(REPO_ROOT, 'test/helpers/netlab.ts'))};
const lab = await createLab();
const sleeper = lab.spawn('host', 'sleep', ['60']);
console.log(JSON.stringify({ names: Object.values(lab.ns), sleeper: sleeper.child.pid }));
// Hold the lab until killed, or until the test process goes away (stdin closes): exit cleans up then.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`,
  );
  const hold = async (signal: NodeJS.Signals): Promise<{ names: string[]; sleeper: number; pid: number }> => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    t.teardown(() => {
      child.kill('SIGKILL');
      cleanupStale();
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const held = await new Promise<{ names: string[]; sleeper: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no lab after 60 s: ${err}`)), 60_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(JSON.parse(out) as { names: string[]; sleeper: number });
        }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${err}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    return { ...held, pid: child.pid! };
  };
  const present = (names: readonly string[]) => {
    const now = new Set(labNamespaces().map((n) => n.name));
    return names.filter((n) => now.has(n));
  };

  const terminated = await hold('SIGTERM');
  t.equal(terminated.names.length, 9);
  t.same(present(terminated.names), [], 'SIGTERM: the exit handler deleted every namespace');

  const killed = await hold('SIGKILL');
  t.same(present(killed.names), killed.names, 'SIGKILL: the namespaces outlive the process');
  const removed = cleanupStale();
  t.same(removed.filter((n) => killed.names.includes(n)).sort(), [...killed.names].sort(), 'cleanupStale removes them');
  t.same(present(killed.names), []);
  t.notOk(readdirSync(tmpdir()).some((e) => e.startsWith(`tsr-${killed.pid}-`)), 'and its folder');
  // Running: /proc/PID exists and is not a zombie (an orphan killed here waits for init to reap it).
  const alive = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  t.notOk(alive(terminated.sleeper), 'SIGTERM: the process inside is gone');
  t.notOk(alive(killed.sleeper), 'SIGKILL: the process left inside is gone after cleanupStale');
});
