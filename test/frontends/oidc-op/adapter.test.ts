/**
 * oidc-provider's storage on fedgate's Store: lookups, TTLs, grant revocation, and a consume that
 * lets exactly one of many concurrent callers win — also when they are different instances
 * (separate Redis connections) sharing one Redis.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Provider, { errors } from 'oidc-provider';
import t, { type Test } from 'tap';
import { CONSUMABLE, INDEXED, StoreAdapter } from '../../../src/frontends/oidc-op/adapter.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { RedisStore } from '../../../src/store/redis.js';
import type { Store } from '../../../src/store/store.js';
import { REDIS_URL } from '../../helpers/fedgate.js';

const redisSkip = process.env.FEDGATE_REDIS_AVAILABLE === '0' ? `Redis not reachable at ${REDIS_URL}` : false;

/** `instances` views of one store: the same object for memory, separate connections for Redis. */
type Open = () => Store[];

function adapterContract(t: Test, open: Open): void {
  const stores = open();
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  const [a, b] = stores as [Store, Store];
  const adapter = (store: Store, model: string) => new StoreAdapter(model, { store, clockToleranceSeconds: 0 });
  const id = () => randomUUID();

  t.test('upsert and find; unknown ids are undefined; records expire', async (t) => {
    const tokens = adapter(a, 'AccessToken');
    const jti = id();
    await tokens.upsert(jti, { jti, accountId: 'alice', grantId: 'g' }, 1);
    t.same(await adapter(b, 'AccessToken').find(jti), { jti, accountId: 'alice', grantId: 'g' }, 'seen by the other instance');
    t.equal(await tokens.find(id()), undefined);
    t.equal(await adapter(a, 'RefreshToken').find(jti), undefined, 'models do not share ids');
    await sleep(1150);
    t.equal(await tokens.find(jti), undefined, 'gone after expiresIn');
  });

  t.test('sessions by uid and device codes by user code; a stale index finds nothing', async (t) => {
    const sessions = adapter(a, 'Session');
    const [sid, uid] = [id(), id()];
    await sessions.upsert(sid, { jti: sid, uid, accountId: 'alice' }, 60);
    t.same((await adapter(b, 'Session').findByUid(uid))?.accountId, 'alice');
    await sessions.upsert(sid, { jti: sid, uid: id(), accountId: 'alice' }, 60);
    t.equal(await sessions.findByUid(uid), undefined, 'the record no longer carries the old uid');
    const current = (await sessions.find(sid))?.uid as string;
    await sessions.destroy(sid);
    t.equal(await sessions.find(sid), undefined);
    t.equal(await a.get(`oidc-op:Session:uid:${current}`), null, 'destroy removes the index of the record');

    const codes = adapter(a, 'DeviceCode');
    const code = id();
    await codes.upsert(code, { jti: code, userCode: 'BCDF-GHJK' }, 60);
    t.same((await codes.findByUserCode('BCDF-GHJK'))?.jti, code);
    t.equal(await codes.findByUserCode('ZZZZ-ZZZZ'), undefined);
  });

  t.test('revokeByGrantId removes every token of the grant, and nothing else', async (t) => {
    const [grant, other] = [id(), id()];
    const ids = { at: id(), rt: id(), code: id(), foreign: id() };
    await adapter(a, 'AccessToken').upsert(ids.at, { grantId: grant }, 60);
    await adapter(b, 'RefreshToken').upsert(ids.rt, { grantId: grant }, 3600);
    await adapter(a, 'AuthorizationCode').upsert(ids.code, { grantId: grant }, 10);
    await adapter(a, 'AccessToken').upsert(ids.foreign, { grantId: other }, 60);
    await adapter(b, 'RefreshToken').revokeByGrantId(grant);
    t.equal(await adapter(a, 'AccessToken').find(ids.at), undefined);
    t.equal(await adapter(a, 'RefreshToken').find(ids.rt), undefined);
    t.equal(await adapter(a, 'AuthorizationCode').find(ids.code), undefined);
    t.ok(await adapter(a, 'AccessToken').find(ids.foreign), 'another grant keeps its token');
    await t.resolves(adapter(a, 'AccessToken').revokeByGrantId(grant), 'revoking again is harmless');
  });

  t.test('of 20 concurrent consumes across instances exactly one wins; the losers revoke the grant', async (t) => {
    const grant = id();
    const code = id();
    const token = id();
    await adapter(a, 'Grant').upsert(grant, { jti: grant, accountId: 'alice' }, 3600);
    await adapter(a, 'AuthorizationCode').upsert(code, { jti: code, grantId: grant }, 60);
    await adapter(a, 'AccessToken').upsert(token, { jti: token, grantId: grant }, 3600);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => adapter(i % 2 === 0 ? a : b, 'AuthorizationCode').consume(code)),
    );
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one winner');
    const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    t.ok(losers.every((r) => r.reason instanceof errors.InvalidGrant), 'the others get invalid_grant');
    t.equal(await adapter(b, 'AccessToken').find(token), undefined, 'what the grant issued is revoked');
    t.equal(await adapter(b, 'Grant').find(grant), undefined, 'and the grant itself');
  });

  t.test('a consumed artefact says so when found again, on any instance', async (t) => {
    const rt = id();
    await adapter(a, 'RefreshToken').upsert(rt, { jti: rt }, 60);
    await adapter(a, 'RefreshToken').consume(rt);
    t.type((await adapter(b, 'RefreshToken').find(rt))?.consumed, 'number');
    await t.rejects(adapter(b, 'RefreshToken').consume(rt), errors.InvalidGrant);
    await t.rejects(adapter(b, 'RefreshToken').consume(id()), errors.InvalidGrant, 'an unknown one cannot be consumed');
  });

  t.test('only the models oidc-provider consumes read a consumed marker; consume refuses the others', async (t) => {
    const grant = id();
    await adapter(a, 'Grant').upsert(grant, { jti: grant, accountId: 'alice' }, 60);
    await t.rejects(adapter(a, 'Grant').consume(grant), TypeError);
    t.same(await adapter(b, 'Grant').find(grant), { jti: grant, accountId: 'alice' }, 'the grant is untouched');
    const code = id();
    await adapter(a, 'AuthorizationCode').upsert(code, { jti: code }, 60);
    await adapter(a, 'AuthorizationCode').consume(code);
    await adapter(b, 'AuthorizationCode').destroy(code);
    await adapter(a, 'AuthorizationCode').upsert(code, { jti: code }, 60);
    t.equal((await adapter(b, 'AuthorizationCode').find(code))?.consumed, undefined, 'destroy takes the marker with the record');
  });

  t.test('only sessions are found by uid, only device codes by user code', async (t) => {
    const interaction = id();
    const uid = id();
    await adapter(a, 'Interaction').upsert(interaction, { jti: interaction, uid, userCode: 'BCDF-GHJK' }, 60);
    t.equal(await adapter(b, 'Interaction').findByUid(uid), undefined);
    t.equal(await adapter(b, 'Interaction').findByUserCode('BCDF-GHJK'), undefined);
    await adapter(b, 'Interaction').destroy(interaction);
    t.equal(await adapter(a, 'Interaction').find(interaction), undefined, 'destroyed without an index to clean');
  });

  t.test('records without expiry (dynamic clients) are kept', async (t) => {
    const clients = adapter(a, 'Client');
    await clients.upsert('client-1', { client_id: 'client-1' });
    t.same(await clients.find('client-1'), { client_id: 'client-1' });
  });
}

t.test("the adapter's model tables match oidc-provider's models", async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // A real adapter, key and interactions, so that oidc-provider does not warn about its development defaults.
  const provider = new Provider('http://127.0.0.1/oidc', {
    adapter: StoreAdapter.factory({ store: new MemoryStore(), clockToleranceSeconds: 0 }),
    jwks: { keys: [privateKey.export({ format: 'jwk' })] },
    features: { devInteractions: { enabled: false } },
  });
  const models = Object.getOwnPropertyNames(Provider.prototype)
    .filter((name) => name !== 'app' && Object.getOwnPropertyDescriptor(Provider.prototype, name)?.get)
    .map((name) => (provider as unknown as Record<string, unknown>)[name])
    .filter((v): v is { name: string; prototype: object; adapter: unknown } => typeof v === 'function' && 'adapter' in v);
  t.ok(models.length >= 10, 'the models were found');
  const withConsume = models.filter((m) => typeof (m.prototype as { consume?: unknown }).consume === 'function').map((m) => m.name);
  t.same(new Set(withConsume), CONSUMABLE, 'every model with consume(), and no other, reads the consumed marker');
  const lookups = models.flatMap((m) =>
    (['findByUid', 'findByUserCode'] as const).filter((f) => typeof (m as unknown as Record<string, unknown>)[f] === 'function').map((f) => `${m.name}.${f}`),
  );
  t.same(lookups.sort(), Object.entries(INDEXED).map(([model, field]) => `${model}.${field === 'uid' ? 'findByUid' : 'findByUserCode'}`).sort(), 'the secondary lookups');
});

t.test('on the memory store', async (t) => {
  adapterContract(t, () => {
    const store = new MemoryStore();
    return [store, store];
  });
});

t.test('on Redis, two instances', { skip: redisSkip }, async (t) => {
  const keyPrefix = `fedgate-oidc-adapter-${randomUUID()}:`;
  const config = { type: 'redis' as const, url: REDIS_URL, keyPrefix, sentinelName: 'mymaster', commandTimeoutMs: 2000 };
  adapterContract(t, () => [new RedisStore(config), new RedisStore(config)]);
});
