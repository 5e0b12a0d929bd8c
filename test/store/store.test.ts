/**
 * One contract, every Store: the memory store and the Redis store must be interchangeable.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/store/memory.js';
import { RedisStore, type RedisStoreConfig } from '../../src/store/redis.js';
import type { Store } from '../../src/store/store.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function redisConfig(): RedisStoreConfig {
  return {
    type: 'redis',
    url: redisUrl,
    sentinelName: 'mymaster',
    // Unique per run, so parallel runs and leftovers never meet.
    keyPrefix: `fedgate-test:${randomUUID()}:`,
    commandTimeoutMs: 1000,
  };
}

/** Why the Redis half must be skipped, or false when Redis answers. */
async function redisSkipReason(): Promise<string | false> {
  const unreachable = `Redis not reachable at ${redisUrl}: start redis-server or set REDIS_URL`;
  // The npm test wrapper probes once for all files, so every Redis test skips consistently.
  if (process.env.FEDGATE_REDIS_AVAILABLE === '0') return unreachable;
  if (process.env.FEDGATE_REDIS_AVAILABLE === '1') return false;
  const probe = new RedisStore(redisConfig());
  try {
    await probe.ping();
    return false;
  } catch {
    return unreachable;
  } finally {
    await probe.close();
  }
}

/** Longest time the expiry checks wait past a TTL; expiry must be visible by then. */
const EXPIRY_SLACK_MS = 150;

function storeContract(t: Test, open: () => Store): void {
  const store = open();
  t.teardown(() => store.close());
  const key = () => `k-${randomUUID()}`;

  t.test('get returns what set stored, null for an unknown key', async (t) => {
    const k = key();
    t.equal(await store.get(k), null);
    await store.set(k, 'v1', 10_000);
    t.equal(await store.get(k), 'v1');
    await store.set(k, 'v2', 10_000);
    t.equal(await store.get(k), 'v2', 'set replaces the value');
  });

  t.test('values keep every character, and the empty string is a value', async (t) => {
    const values = [
      JSON.stringify({ name: 'Zoë Ñúñez 山田 🎓', quote: '"a"\n\tb\\', list: [1, null, { deep: true }] }),
      '\u0000 binary-ish \u00ff \u{1F600}',
      '',
    ];
    for (const value of values) {
      const k = key();
      await store.set(k, value, 10_000);
      t.equal(await store.get(k), value);
      t.equal(await store.take(k), value);
    }
  });

  t.test('an expired value is gone for get, take and setIfAbsent', async (t) => {
    const [a, b, c] = [key(), key(), key()];
    await store.set(a, 'short', 100);
    await store.set(b, 'short', 100);
    await store.set(c, 'short', 100);
    t.equal(await store.get(a), 'short', 'live before its TTL');
    await sleep(100 + EXPIRY_SLACK_MS);
    t.equal(await store.get(a), null);
    t.equal(await store.take(b), null);
    t.equal(await store.setIfAbsent(c, 'again', 10_000), true, 'an expired key counts as absent');
    t.equal(await store.get(c), 'again');
  });

  t.test('set renews the TTL', async (t) => {
    const k = key();
    await store.set(k, 'first', 100);
    await store.set(k, 'second', 10_000);
    await sleep(100 + EXPIRY_SLACK_MS);
    t.equal(await store.get(k), 'second');
  });

  t.test('setIfAbsent stores once and never overwrites a live value', async (t) => {
    const k = key();
    t.equal(await store.setIfAbsent(k, 'first', 150), true);
    t.equal(await store.setIfAbsent(k, 'second', 10_000), false);
    t.equal(await store.get(k), 'first');
    await sleep(150 + EXPIRY_SLACK_MS);
    t.equal(await store.get(k), null, 'the refused call did not extend the TTL');
  });

  t.test('of 20 concurrent setIfAbsent calls exactly one stores', async (t) => {
    const k = key();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.setIfAbsent(k, `v${i}`, 10_000)));
    t.equal(results.filter(Boolean).length, 1);
    t.equal(await store.get(k), `v${results.indexOf(true)}`);
  });

  t.test('take returns the value once and removes it', async (t) => {
    const k = key();
    await store.set(k, 'once', 10_000);
    t.equal(await store.take(k), 'once');
    t.equal(await store.take(k), null);
    t.equal(await store.get(k), null);
  });

  t.test('of 20 concurrent takes exactly one gets the value', async (t) => {
    const k = key();
    await store.set(k, 'prize', 10_000);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.take(k)));
    t.same(
      results.filter((r) => r !== null),
      ['prize'],
    );
  });

  t.test('delete removes a value; deleting an unknown key is fine', async (t) => {
    const k = key();
    await store.set(k, 'v', 10_000);
    await store.delete(k);
    t.equal(await store.get(k), null);
    await t.resolves(store.delete(key()));
  });

  t.test('addToSet collects members; members lists them; delete removes the set', async (t) => {
    const k = key();
    t.same(await store.members(k), [], 'no set yet');
    await store.addToSet(k, 'a', 10_000);
    await store.addToSet(k, 'b', 10_000);
    await store.addToSet(k, 'a', 10_000);
    t.same((await store.members(k)).sort(), ['a', 'b'], 'each member once');
    await store.delete(k);
    t.same(await store.members(k), []);
  });

  t.test('of 20 concurrent additions every member is kept', async (t) => {
    const k = key();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.addToSet(k, `m${i}`, 10_000)));
    t.equal((await store.members(k)).length, 20);
  });

  t.test('a set expires, and a shorter TTL never shortens it', async (t) => {
    const [short, long] = [key(), key()];
    await store.addToSet(short, 'x', 100);
    await store.addToSet(long, 'x', 400);
    await store.addToSet(long, 'y', 50);
    await sleep(100 + EXPIRY_SLACK_MS);
    t.same(await store.members(short), [], 'gone after its TTL');
    t.same((await store.members(long)).sort(), ['x', 'y'], 'kept for the longest TTL given');
    await sleep(300 + EXPIRY_SLACK_MS);
    t.same(await store.members(long), [], 'gone after the longest TTL');
  });

  t.test('ping resolves', async (t) => {
    await t.resolves(store.ping());
  });

  t.test('a TTL that is not a positive number is refused', async (t) => {
    await t.rejects(store.set(key(), 'v', 0), RangeError);
    await t.rejects(store.setIfAbsent(key(), 'v', -5), RangeError);
    await t.rejects(store.addToSet(key(), 'm', 0), RangeError);
    await t.rejects(store.set(key(), 'v', Number.NaN), RangeError);
  });

  t.test('after close every operation fails with StoreUnavailableError', async (t) => {
    const closed = open();
    await closed.set(key(), 'v', 10_000);
    await closed.close();
    await t.rejects(closed.get(key()), StoreUnavailableError);
    await t.rejects(closed.set(key(), 'v', 10_000), StoreUnavailableError);
    await t.rejects(closed.ping(), StoreUnavailableError);
    await t.resolves(closed.close(), 'closing twice is harmless');
  });
}

t.test('MemoryStore', async (t) => storeContract(t, () => new MemoryStore()));

const redisSkip = await redisSkipReason();
t.test('RedisStore', { skip: redisSkip }, async (t) => {
  const config = redisConfig();
  storeContract(t, () => new RedisStore(config));
});
