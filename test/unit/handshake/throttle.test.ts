import t from 'tap';
import { Throttle } from '../../../src/handshake/index.js';
import { DEFAULT_THROTTLE_MAX_PER_ADDRESS, DEFAULT_THROTTLE_MAX_PER_TICKET, DEFAULT_THROTTLE_WINDOW_MS } from '../../../src/core/defaults.js';

t.test('5 failures per ticket throttle the ticket until the window passes', async (t) => {
  let now = 0;
  const th = new Throttle({ clock: () => now });
  for (let i = 0; i < 4; i++) th.recordFailure('t1', `10.0.0.${i}`);
  t.notOk(th.isThrottled('t1', '10.0.0.99'));
  th.recordFailure('t1', '10.0.0.9');
  t.ok(th.isThrottled('t1', '10.0.0.99'), 'from any address');
  t.notOk(th.isThrottled('t2', '10.0.0.99'), 'other tickets unaffected');
  now += 9 * 60_000;
  t.ok(th.isThrottled('t1', 'x'));
  now += 61_000;
  t.notOk(th.isThrottled('t1', 'x'), 'released after 10 minutes');
});

t.test('20 failures per address throttle the address', async (t) => {
  let now = 0;
  const th = new Throttle({ clock: () => now });
  for (let i = 0; i < 20; i++) th.recordFailure(`ticket${i}`, '192.0.2.1');
  t.ok(th.isThrottled(undefined, '192.0.2.1'));
  t.ok(th.isThrottled('fresh', '192.0.2.1'));
  t.notOk(th.isThrottled('fresh', '192.0.2.2'));
  now += 600_000;
  t.notOk(th.isThrottled(undefined, '192.0.2.1'));
});

t.test('memory is bounded: oldest tracked keys are evicted', async (t) => {
  let now = 0;
  const th = new Throttle({ clock: () => now, maxTracked: 100 });
  for (let i = 0; i < 5000; i++) {
    now++;
    th.recordFailure(`t${i}`, `a${i}`);
  }
  t.ok(th.size.tickets <= 100 && th.size.addresses <= 100);
  for (let i = 0; i < 100; i++) th.recordFailure('hot', 'a4999');
  t.ok(th.isThrottled('hot', 'zzz'));
  t.throws(() => new Throttle({ clock: () => 0, windowMs: 0 }), { code: 'TESSERA_ERR_BAD_STATE' });
});

t.test('ticketStatus and addressStatus count failures in the window and say when a lock-out ends', async (t) => {
  let now = 1_000;
  const th = new Throttle({ clock: () => now });
  t.same(th.ticketStatus('t1'), { failures: 0, max: DEFAULT_THROTTLE_MAX_PER_TICKET, lockedUntilMs: undefined });
  const first = now;
  for (let i = 1; i < DEFAULT_THROTTLE_MAX_PER_TICKET; i++) {
    th.recordFailure('t1', '10.0.0.1');
    t.same(th.ticketStatus('t1'), { failures: i, max: DEFAULT_THROTTLE_MAX_PER_TICKET, lockedUntilMs: undefined }, `attempt ${i}`);
    now += 1_000;
  }
  th.recordFailure('t1', '10.0.0.1');
  const locked = th.ticketStatus('t1');
  t.equal(locked.failures, DEFAULT_THROTTLE_MAX_PER_TICKET);
  t.equal(locked.lockedUntilMs, first + DEFAULT_THROTTLE_WINDOW_MS, 'until the first failure leaves the window');
  t.equal(th.addressStatus('10.0.0.1').failures, DEFAULT_THROTTLE_MAX_PER_TICKET, 'the address counts them too');
  t.equal(th.addressStatus('10.0.0.1').max, DEFAULT_THROTTLE_MAX_PER_ADDRESS);
  now = first + DEFAULT_THROTTLE_WINDOW_MS;
  t.notOk(th.isThrottled('t1', '10.0.0.2'), 'open again then');
  t.equal(th.ticketStatus('t1').lockedUntilMs, undefined);
});
