/**
 * Which addresses an invitation lists (src/api/host/addresses.ts): the ones a helper elsewhere can reach, never the
 * bare host name; the advertised names first; at most 8, both families kept when cut.
 */
import t from 'tap';
import { networkInterfaces, hostname } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import { reachableAddresses, isLoopbackOnly, isLoopback, Host, VirtualScreen, type InterfaceTable } from '../../../src/index.js';
import { MAX_ADDRESSES, parseAddress } from '../../../src/handshake/index.js';

const v4 = (address: string, internal = false) => ({ address, family: 'IPv4', internal });
const v6 = (address: string, internal = false) => ({ address, family: 'IPv6', internal });

/** A laptop: loopback, Wi-Fi with IPv4 and IPv6 (global, unique-local, link-local), and a docker bridge. */
const LAPTOP: InterfaceTable = {
  lo: [v4('127.0.0.1', true), v6('::1', true)],
  docker0: [v4('172.17.0.1'), v6('fe80::42:1')],
  wlan0: [v4('192.168.1.20'), v6('fd00::20'), v6('2001:db8::20'), v6('fe80::1234')],
};

t.test('on 0.0.0.0: every non-loopback IPv4 interface address, real interfaces before bridges, no IPv6', async (t) => {
  t.same(reachableAddresses({ bind: '0.0.0.0', port: 4000, interfaces: LAPTOP }), ['192.168.1.20:4000', '172.17.0.1:4000']);
});

t.test('on ::: IPv4 then IPv6, global before unique-local, never link-local or loopback', async (t) => {
  const list = reachableAddresses({ bind: '::', port: 4000, interfaces: LAPTOP });
  t.same(list, ['192.168.1.20:4000', '172.17.0.1:4000', '[2001:db8::20]:4000', '[fd00::20]:4000']);
  t.notOk(list.some((a) => /fe80|::1\]|127\./.test(a)), 'no link-local, no loopback');
  t.notOk(list.some((a) => a.includes(hostname())), 'no host name');
});

t.test('a specific bind address is the one listed', async (t) => {
  t.same(reachableAddresses({ bind: '192.168.1.20', port: 5, interfaces: LAPTOP }), ['192.168.1.20:5']);
  t.same(reachableAddresses({ bind: '2001:db8::20', port: 5, interfaces: LAPTOP }), ['[2001:db8::20]:5']);
  t.same(reachableAddresses({ bind: '127.0.0.1', port: 5, interfaces: LAPTOP }), ['127.0.0.1:5']);
});

t.test('advertised names come first, with the listening port unless they name one; duplicates once', async (t) => {
  const list = reachableAddresses({ bind: '0.0.0.0', port: 4000, interfaces: LAPTOP, advertise: ['help.example.com', 'gw.example.net:443', '2001:db8::1', '[2001:db8::2]', '192.168.1.20'] });
  t.same(list, ['help.example.com:4000', 'gw.example.net:443', '[2001:db8::1]:4000', '[2001:db8::2]:4000', '192.168.1.20:4000', '172.17.0.1:4000']);
  t.throws(() => reachableAddresses({ bind: '::', port: 1, interfaces: {}, advertise: ['bad name'] }), { code: 'TESSERA_ERR_INVALID_CONFIG', field: 'advertise' });
  t.throws(() => reachableAddresses({ bind: '::', port: 1, interfaces: {}, advertise: Array.from({ length: MAX_ADDRESSES + 1 }, (_, i) => `h${i}.example`) }), { code: 'TESSERA_ERR_INVALID_CONFIG', field: 'advertise' });
  t.throws(() => new Host({ source: new VirtualScreen({ width: 320, height: 240 }), consent: () => 'decline', advertise: ['a b'] }), { code: 'TESSERA_ERR_INVALID_CONFIG', field: 'advertise' }, 'the Host refuses it at once');
});

t.test('a machine with only loopback lists the loopback address, and says so', async (t) => {
  const list = reachableAddresses({ bind: '0.0.0.0', port: 7, interfaces: { lo: LAPTOP.lo } });
  t.same(list, ['127.0.0.1:7']);
  t.ok(isLoopbackOnly(list));
  t.notOk(isLoopbackOnly(reachableAddresses({ bind: '0.0.0.0', port: 7, interfaces: LAPTOP })));
  t.notOk(isLoopbackOnly(reachableAddresses({ bind: '0.0.0.0', port: 7, interfaces: { lo: LAPTOP.lo }, advertise: ['help.example.com'] })), 'an advertised name is not loopback');
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', 'a.localhost', '::ffff:127.0.0.1']) t.ok(isLoopback(h), h);
  for (const h of ['10.0.0.1', '::2', 'example.com', '2001:db8::1']) t.notOk(isLoopback(h), h);
});

t.test('more than 8 addresses: both families kept, alternating, and the result fits an invitation', async (t) => {
  const many: InterfaceTable = {
    eth0: Array.from({ length: 10 }, (_, i) => v4(`10.0.0.${i + 1}`)),
    eth1: Array.from({ length: 10 }, (_, i) => v6(`2001:db8::${i + 1}`)),
  };
  const list = reachableAddresses({ bind: '::', port: 9, interfaces: many, advertise: ['help.example.com'] });
  t.equal(list.length, MAX_ADDRESSES);
  t.equal(list[0], 'help.example.com:9');
  t.same(list.slice(1, 5), ['10.0.0.1:9', '[2001:db8::1]:9', '10.0.0.2:9', '[2001:db8::2]:9']);
  for (const a of list) t.ok(parseAddress(a), a);
});

t.test('this machine, bound to 0.0.0.0 and to ::: no loopback when it has any other address, and every one is an interface address', async (t) => {
  const table = networkInterfaces();
  const own = new Set(Object.values(table).flatMap((l) => (l ?? []).map((a) => a.address.toLowerCase())));
  const external = [...own].filter((a) => !isLoopback(a) && !/^fe[89ab]/.test(a) && !a.startsWith('169.254.'));
  for (const bind of ['0.0.0.0', '::']) {
    const list = reachableAddresses({ bind, port: 3389, interfaces: table });
    t.ok(list.length >= 1 && list.length <= MAX_ADDRESSES, `${bind}: ${list.join(', ')}`);
    const hosts = list.map((a) => parseAddress(a).host);
    t.ok(hosts.every((h) => isIPv4(h) || isIPv6(h)), `${bind}: addresses only, no host name`);
    if (external.some((a) => isIPv4(a) || bind === '::')) {
      t.notOk(hosts.some(isLoopback), `${bind}: no loopback address`);
      t.ok(hosts.every((h) => own.has(h)), `${bind}: each is one of this machine's addresses`);
    } else {
      t.comment(`this machine has no non-loopback address for ${bind}: only loopback is listed`);
      t.ok(isLoopbackOnly(list));
    }
  }
});

t.test('a Host listening on 0.0.0.0 writes its interface addresses into the invitation, not its host name', async (t) => {
  const host = new Host({ source: new VirtualScreen({ width: 320, height: 240 }), consent: () => 'decline', advertise: ['help.example.com'] });
  t.teardown(() => host.close());
  const { port } = await host.listen({ port: 0, host: '0.0.0.0' });
  const inv = await host.createInvitation({ expires: '10m' });
  const addresses = inv.invitation.addresses.map((a) => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`);
  t.same(addresses, reachableAddresses({ bind: '0.0.0.0', port, interfaces: networkInterfaces(), advertise: ['help.example.com'] }));
  t.equal(addresses[0], `help.example.com:${port}`, 'the advertised name first');
  t.notOk(addresses.some((a) => a.startsWith(`${hostname()}:`)) && hostname() !== 'help.example.com', 'not the bare host name');
});
