/**
 * What the Redis store does when Redis goes away: requests fail fast with StoreUnavailableError,
 * the process lives on, and the same store works again once Redis is back.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { RedisStore, type RedisStoreConfig, type StoreState } from '../../src/store/redis.js';
import { eventually } from '../helpers/eventually.js';
import { redisServerSkip, throwawayRedis } from '../helpers/redis-server.js';

function config(url: string): RedisStoreConfig {
  return { type: 'redis', url, sentinelName: 'mymaster', keyPrefix: 'fedgate-test:', commandTimeoutMs: 500 };
}

t.test('with Redis unreachable, operations fail fast with StoreUnavailableError', async (t) => {
  const states: [StoreState, string?][] = [];
  // Port 1 on loopback is closed: every connection attempt is refused.
  const store = new RedisStore(config('redis://127.0.0.1:1'), {
    onStateChange: (state, reason) => states.push([state, reason]),
  });
  t.teardown(() => store.close());

  const started = Date.now();
  await t.rejects(store.get('k'), StoreUnavailableError);
  await t.rejects(store.set('k', 'v', 1000), StoreUnavailableError);
  await t.rejects(store.setIfAbsent('k', 'v', 1000), StoreUnavailableError);
  await t.rejects(store.take('k'), StoreUnavailableError);
  await t.rejects(store.delete('k'), StoreUnavailableError);
  await t.rejects(store.ping(), StoreUnavailableError);
  const elapsed = Date.now() - started;
  t.ok(elapsed < 3000, `six operations failed within ${elapsed} ms`);

  const err = await store.get('k').catch((e: unknown) => e);
  t.match(err, { httpStatus: 503, message: /unreachable.*ECONNREFUSED/ }, 'the error carries the reason');
  await sleep(500); // several reconnection attempts fail meanwhile
  t.same(
    states.map(([state]) => state),
    ['down'],
    'the outage is reported once',
  );
});

t.test('with a Redis that accepts connections but never answers, operations fail after commandTimeoutMs', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const { port } = silent.address() as AddressInfo;
  const store = new RedisStore(config(`redis://127.0.0.1:${port}`));
  t.teardown(() => store.close());

  let started = Date.now();
  await t.rejects(store.get('k'), StoreUnavailableError);
  const first = Date.now() - started;
  t.ok(first >= 400 && first < 1500, `the first operation waited for the 500 ms timeout (${first} ms)`);
  started = Date.now();
  await t.rejects(store.get('k'), StoreUnavailableError);
  t.ok(Date.now() - started < 250, 'later operations fail at once while the outage lasts');
});

t.test('the same store recovers when Redis comes back', { skip: redisServerSkip }, async (t) => {
  const redis = await throwawayRedis();
  t.teardown(() => redis.stop());

  await redis.start();
  const states: StoreState[] = [];
  const store = new RedisStore(config(redis.url), {
    onStateChange: (state) => states.push(state),
  });
  t.teardown(() => store.close());

  await store.set('k', 'before', 10_000);
  t.equal(await store.get('k'), 'before', 'works while Redis runs');

  redis.pause();
  let started = Date.now();
  await t.rejects(store.get('k'), StoreUnavailableError, 'a hanging Redis fails the command');
  const waited = Date.now() - started;
  t.ok(waited < 1500, `after the 500 ms command timeout (${waited} ms)`);
  redis.resume();
  t.equal(await eventually(5_000, () => store.get('k')), 'before', 'and answers again once it resumes');

  await redis.stop();
  // The next operation may still race the disconnect; it must fail typed, and soon.
  const failure = await eventually(5_000, async () => {
    const err = await store.get('k').then(
      () => undefined,
      (e: unknown) => e,
    );
    if (err === undefined) throw new Error('Redis still answers after being killed');
    return err;
  });
  t.type(failure, StoreUnavailableError, 'fails with StoreUnavailableError while Redis is down');
  started = Date.now();
  await t.rejects(store.set('k', 'v', 1000), StoreUnavailableError);
  t.ok(Date.now() - started < 1000, 'and fails fast');

  await redis.start();
  await eventually(10_000, () => store.ping());
  t.equal(await store.get('k'), null, 'the restarted Redis holds nothing (no persistence)');
  await store.set('k', 'after', 10_000);
  t.equal(await store.get('k'), 'after', 'works again without a new store');
  t.same(states, ['up', 'down', 'up'], 'one report per change');
});

t.test('two stores on one Redis share values, and only one of them takes a value', { skip: redisServerSkip }, async (t) => {
  const redis = await throwawayRedis();
  t.teardown(() => redis.stop());
  await redis.start();
  const stores = Array.from({ length: 4 }, () => new RedisStore(config(redis.url)));
  t.teardown(() => Promise.all(stores.map((s) => s.close())));

  await stores[0]!.set('flow', 'state', 10_000);
  t.equal(await stores[1]!.get('flow'), 'state', 'another instance sees the value');
  const taken = await Promise.all(stores.flatMap((s) => Array.from({ length: 5 }, () => s.take('flow'))));
  t.same(
    taken.filter((v) => v !== null),
    ['state'],
  );
});
