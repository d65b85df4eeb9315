import t from 'tap';
import { once } from 'node:events';
import { createDuplexPair } from '../../helpers/duplex-pair.js';

t.test('bytes written on one end are read on the other, both ways, in order', async (t) => {
  const [a, b] = createDuplexPair();
  const gotB: Buffer[] = [];
  const gotA: Buffer[] = [];
  b.on('data', (c: Buffer) => gotB.push(c));
  a.on('data', (c: Buffer) => gotA.push(c));
  a.write(Buffer.from('hello '));
  a.write(new Uint8Array([119, 111, 114, 108, 100]));
  b.write('back');
  a.end();
  b.end();
  await Promise.all([once(a, 'end'), once(b, 'end')]);
  t.equal(Buffer.concat(gotB).toString(), 'hello world');
  t.equal(Buffer.concat(gotA).toString(), 'back');
});

t.test('a reader that does not read makes write() return false; reading drains it', async (t) => {
  const [a, b] = createDuplexPair({ highWaterMark: 1024 });
  let writes = 0;
  while (a.write(Buffer.alloc(256))) writes++;
  t.ok(writes < 20, `write returned false after ${writes} writes`);
  let drained = false;
  a.once('drain', () => (drained = true));
  await new Promise((r) => setImmediate(r));
  t.notOk(drained, 'no drain while nobody reads');
  let read = 0;
  b.on('data', (c: Buffer) => (read += c.length));
  await once(a, 'drain');
  t.equal(read, (writes + 1) * 256);
});

t.test('destroying one end closes the other', async (t) => {
  const [a, b] = createDuplexPair();
  b.resume();
  const closed = once(b, 'close');
  a.destroy();
  await closed;
  t.ok(b.destroyed);
});
