/**
 * One authorization request, one login: the state binding lives in the store until its callback
 * takes it, and of two callbacks racing with one state exactly one continues — with the
 * in-process store and with Redis, where the race may span fedgate instances.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { MemoryStore } from '../../../src/store/memory.js';
import { RedisStore } from '../../../src/store/redis.js';
import type { Store } from '../../../src/store/store.js';
import { Browser } from '../../helpers/browser.js';
import { startOidcHarness } from './harness.js';

function redisStore(): RedisStore {
  return new RedisStore({
    type: 'redis',
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    sentinelName: 'mymaster',
    keyPrefix: `fedgate-test-oidc-rp-${randomBytes(4).toString('hex')}:`,
    commandTimeoutMs: 2000,
  });
}

/** Why Redis cannot be used here, or undefined when it answers. */
async function redisUnavailable(): Promise<string | undefined> {
  if (process.env.FEDGATE_REDIS_AVAILABLE === '0') return 'FEDGATE_REDIS_AVAILABLE=0';
  const probe = redisStore();
  try {
    await probe.ping();
    return undefined;
  } catch (err) {
    return `Redis unreachable: ${(err as Error).message}`;
  } finally {
    await probe.close();
  }
}

const stores: [string, () => Store, string | undefined][] = [
  ['memory store', () => new MemoryStore(), undefined],
  ['Redis store', redisStore, await redisUnavailable()],
];

for (const [name, makeStore, skip] of stores) {
  t.test(name, { skip }, async (t) => {
    const h = await startOidcHarness({ store: makeStore() });
    t.teardown(() => h.close());

    t.test('the binding lives in the store until the callback takes it', async (t) => {
      const browser = new Browser();
      const callback = new URL(await h.toCallback(browser));
      const key = `oidc-rp:state:${callback.searchParams.get('state')}`;
      const stored = await h.store.get(key);
      t.ok(stored, 'bound when the authorization request was sent');
      const binding = JSON.parse(stored!) as Record<string, string>;
      t.same(Object.keys(binding).sort(), ['browser', 'codeVerifier', 'loginId', 'nonce', 'provider']);
      t.equal(binding.provider, 'research');
      t.equal(binding.nonce, h.op.authorizations.at(-1)?.get('nonce'));
      t.equal((await browser.fetchRaw(callback.toString(), { method: 'GET' })).status, 200);
      t.equal(await h.store.get(key), null, 'taken by the callback');
    });

    t.test('of two concurrent callbacks with one state exactly one continues', async (t) => {
      const browser = new Browser();
      const callback = await h.toCallback(browser);
      const before = h.frontend.responses.length;
      const answers = await Promise.all([browser.fetchRaw(callback, { method: 'GET' }), browser.fetchRaw(callback, { method: 'GET' })]);
      t.same(answers.map((a) => a.status).sort(), [200, 400]);
      t.equal(h.frontend.responses.length, before + 1, 'one answer to the service');
    });
  });
}
