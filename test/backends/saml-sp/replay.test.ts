/**
 * One upstream Response, one login: a second post of it is refused as a replay, and of two posts
 * racing each other exactly one continues — with the in-process store and with Redis, where the
 * race may span fedgate instances.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { ReplayedMessageError } from '../../../src/core/errors.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { RedisStore } from '../../../src/store/redis.js';
import type { Store } from '../../../src/store/store.js';
import { startHarness } from './harness.js';

function redisStore(): RedisStore {
  return new RedisStore({
    type: 'redis',
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    sentinelName: 'mymaster',
    keyPrefix: `fedgate-test-saml-sp-${randomBytes(4).toString('hex')}:`,
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
    const h = await startHarness({ store: makeStore() });
    t.teardown(() => h.close());

    t.test('the request binding lives in the store until its answer is used', async (t) => {
      const { browser, requestId } = await h.startLogin();
      const stored = await h.store.get(`saml-sp:req:${requestId}`);
      t.ok(stored, 'bound when the AuthnRequest was sent');
      t.same(Object.keys(JSON.parse(stored!)).sort(), ['idp', 'loginId']);
      t.equal(JSON.parse(stored!).idp, h.peer.entityId);
      const { samlResponse, xml } = await h.peer.buildResponse(requestId);
      t.equal((await h.postToAcs(browser, samlResponse)).status, 200);
      t.equal(await h.store.get(`saml-sp:req:${requestId}`), null, 'taken by the answer');
      const assertionId = /<saml:Assertion\b[^>]*\sID="([^"]+)"/.exec(xml)?.[1];
      t.equal(await h.store.get(`saml-sp:assertion:${h.peer.entityId}!${assertionId}`), '1', 'assertion ID remembered');
    });

    t.test('a second POST of the same Response is a replay', async (t) => {
      const { browser, requestId } = await h.startLogin();
      const { samlResponse } = await h.peer.buildResponse(requestId);
      const answered = h.frontend.responses.length;
      t.equal((await h.postToAcs(browser, samlResponse)).status, 200);
      const second = await h.postToAcs(browser, samlResponse);
      t.equal(second.status, 403);
      t.type(h.errors.at(-1), ReplayedMessageError);
      t.equal(h.frontend.responses.length, answered + 1, 'answered downstream once');
    });

    t.test('of two concurrent POSTs of one Response exactly one continues', async (t) => {
      for (let round = 0; round < 5; round++) {
        const { browser, requestId } = await h.startLogin();
        const { samlResponse } = await h.peer.buildResponse(requestId);
        const answered = h.frontend.responses.length;
        const errors = h.errors.length;
        const pages = await Promise.all([h.postToAcs(browser, samlResponse), h.postToAcs(browser, samlResponse)]);
        t.same(pages.map((p) => p.status).sort(), [200, 403], `round ${round}: one 200, one 403`);
        t.equal(h.frontend.responses.length, answered + 1, `round ${round}: answered downstream once`);
        t.same(h.errors.slice(errors).map((e) => e.constructor), [ReplayedMessageError], `round ${round}: the loser is a replay`);
      }
    });
  });
}
