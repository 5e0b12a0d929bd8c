/**
 * The stores a test runs against: always memory, and Redis at REDIS_URL when it answers (with a
 * skip reason otherwise). Every Redis store gets its own key prefix, so runs never collide.
 */
import { randomBytes } from 'node:crypto';
import { MemoryStore } from '../../src/store/memory.js';
import { RedisStore } from '../../src/store/redis.js';
import type { Store } from '../../src/store/store.js';

export function testRedisStore(prefix: string): RedisStore {
  return new RedisStore({
    type: 'redis',
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    sentinelName: 'mymaster',
    keyPrefix: `fedgate-test-${prefix}-${randomBytes(4).toString('hex')}:`,
    commandTimeoutMs: 2000,
  });
}

/** Why Redis cannot be used here, or undefined when it answers. */
export async function redisUnavailable(): Promise<string | undefined> {
  if (process.env.FEDGATE_REDIS_AVAILABLE === '0') return 'FEDGATE_REDIS_AVAILABLE=0';
  const probe = testRedisStore('probe');
  try {
    await probe.ping();
    return undefined;
  } catch (err) {
    return `Redis unreachable: ${(err as Error).message}`;
  } finally {
    await probe.close();
  }
}

/** [name, new store, skip reason] for the memory store and the Redis store. */
export async function testStores(prefix: string): Promise<[string, () => Store, string | undefined][]> {
  return [
    ['memory store', () => new MemoryStore(), undefined],
    ['Redis store', () => testRedisStore(prefix), await redisUnavailable()],
  ];
}
