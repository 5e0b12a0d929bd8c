import t from 'tap';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { createStore } from '../../src/store/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { RedisStore } from '../../src/store/redis.js';

t.test('type memory gives the in-process store', async (t) => {
  const store = createStore({ type: 'memory' });
  t.teardown(() => store.close());
  t.type(store, MemoryStore);
});

t.test('type redis gives the Redis store, which reports an outage to the log once', async (t) => {
  const lines: [string, object, string][] = [];
  const log = {
    warn: (obj: object, msg: string) => lines.push(['warn', obj, msg]),
    info: (obj: object, msg: string) => lines.push(['info', obj, msg]),
  };
  const store = createStore(
    { type: 'redis', url: 'redis://127.0.0.1:1', sentinelName: 'mymaster', keyPrefix: 'fedgate-test:', commandTimeoutMs: 500 },
    log,
  );
  t.teardown(() => store.close());
  t.type(store, RedisStore, 'constructed without connecting or throwing');
  t.same(lines, [], 'nothing happens before first use');
  await t.rejects(store.ping(), StoreUnavailableError);
  await t.rejects(store.get('k'), StoreUnavailableError);
  t.match(lines, [['warn', { store: 'redis', reason: /ECONNREFUSED/ }, /unavailable/]]);
});
