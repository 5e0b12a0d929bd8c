/** The store wrapper counts outages, and keeps the store's kind visible. */
import t from 'tap';
import { Metrics, errorCode } from '../../src/http/metrics.js';
import { MemoryStore } from '../../src/store/memory.js';
import { RedisStore } from '../../src/store/redis.js';
import { UnknownLoginError } from '../../src/core/errors.js';
import { freePort } from '../helpers/ports.js';

t.test('instrumentStore counts StoreUnavailableError and nothing else', async (t) => {
  const metrics = new Metrics();
  const memory = metrics.instrumentStore(new MemoryStore());
  t.ok(memory instanceof MemoryStore, 'still recognisable as a memory store');
  await memory.set('k', 'v', 60_000);
  t.equal(await memory.take('k'), 'v', 'operations pass through');
  await memory.close();

  const port = await freePort();
  const down = metrics.instrumentStore(
    new RedisStore({ type: 'redis', url: `redis://127.0.0.1:${port}`, keyPrefix: 'x:', sentinelName: 'mymaster', commandTimeoutMs: 100 }),
  );
  await t.rejects(down.get('k'), { name: 'StoreUnavailableError' });
  await t.rejects(down.ping(), { name: 'StoreUnavailableError' });
  await down.close();
  t.match(await metrics.registry.metrics(), /fedgate_store_errors_total 2/);
});

t.test('error codes: FedgateError codes, anything else is internal', async (t) => {
  t.equal(errorCode(new UnknownLoginError('x')), 'unknown_login');
  t.equal(errorCode(new TypeError('boom')), 'internal');
  t.equal(errorCode('a string'), 'internal');
});
