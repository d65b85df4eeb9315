import t from 'tap';
import { addressGroup } from '../../../src/handshake/address-group.js';
import { Throttle } from '../../../src/handshake/throttle.js';

t.test('IPv4 addresses are their own group; IPv6 addresses count by /64; mapped IPv4 is IPv4', async (t) => {
  t.equal(addressGroup('198.51.100.7'), '198.51.100.7');
  t.equal(addressGroup('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  t.equal(addressGroup('2001:db8:1:2::1'), '2001:db8:1:2::/64', 'the :: form');
  t.equal(addressGroup('2001:DB8:1:2::FFFF'), '2001:db8:1:2::/64', 'case does not matter');
  t.equal(addressGroup('[2001:db8:1:2::5]'), '2001:db8:1:2::/64', 'brackets');
  t.equal(addressGroup('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone index is dropped');
  t.equal(addressGroup('::1'), '0:0:0:0::/64');
  t.equal(addressGroup('::ffff:192.0.2.9'), '192.0.2.9');
  t.equal(addressGroup('64:ff9b::192.0.2.9'), '64:ff9b:0:0::/64', 'an embedded IPv4 tail');
  t.not(addressGroup('2001:db8:1:2::1'), addressGroup('2001:db8:1:3::1'), 'another /64 is another group');
  for (const junk of ['', 'unknown', '1:2:3', 'zz::1', ':::', '1::2::3', 'a'.repeat(100) + '::']) t.equal(addressGroup(junk), junk.toLowerCase(), `not an address: ${JSON.stringify(junk.slice(0, 12))}`);
});

t.test('the throttle counts an IPv6 /64 as one address', async (t) => {
  const throttle = new Throttle({ clock: () => 1_000, maxPerAddress: 3 });
  for (let i = 1; i <= 3; i++) throttle.recordFailure(undefined, `2001:db8:7:7::${i}`);
  t.ok(throttle.isThrottled(undefined, '2001:db8:7:7::ffff'), 'a fourth address of the same /64 is throttled');
  t.notOk(throttle.isThrottled(undefined, '2001:db8:7:8::1'), 'the next /64 is not');
});
