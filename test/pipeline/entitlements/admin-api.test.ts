/**
 * The stored group source and its admin API over real HTTP, on the memory store and on Redis:
 * bearer authentication (401 with WWW-Authenticate), validation of memberships with the grammar
 * (400 with JSON problems), PUT/GET/DELETE, and a login that picks the stored groups up.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import type { PipelineInput } from '../../../src/core/flow.js';
import type { Identity } from '../../../src/core/model.js';
import { registerErrorHandling } from '../../../src/http/errors.js';
import type { FilterServices } from '../../../src/pipeline/filter.js';
import { Pipeline } from '../../../src/pipeline/runner.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { RedisStore } from '../../../src/store/redis.js';
import type { Store } from '../../../src/store/store.js';

const NS = 'urn:geant:example.org';
const TOKEN = `admin-${randomUUID()}`;
const TOKEN_ENV = 'FEDGATE_TEST_GROUP_ADMIN_TOKEN';
process.env[TOKEN_ENV] = TOKEN;

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisStore = () =>
  new RedisStore({ type: 'redis', url: redisUrl, sentinelName: 'mymaster', keyPrefix: `fedgate-test-groups-${randomUUID()}:`, commandTimeoutMs: 2000 });

/** Why the Redis half must be skipped, or false when Redis answers. */
async function redisSkip(): Promise<string | false> {
  if (process.env.FEDGATE_REDIS_AVAILABLE === '0') return 'FEDGATE_REDIS_AVAILABLE=0';
  if (process.env.FEDGATE_REDIS_AVAILABLE === '1') return false;
  const probe = redisStore();
  try {
    await probe.ping();
    return false;
  } catch {
    return `Redis not reachable at ${redisUrl}`;
  } finally {
    await probe.close();
  }
}

const input: PipelineInput = {
  request: { frontend: 'saml-idp', requester: 'https://sp.example.org', forceAuthn: false, isPassive: false, idpHints: [], frontendState: {} },
  service: { id: 'https://sp.example.org', protocol: 'saml', name: {}, entityCategories: [], requestedAttributes: [] },
  upstream: undefined,
};
const identity = (communityId: string): Identity => ({
  issuer: 'https://idp.uni.example.edu',
  protocol: 'saml',
  subject: { id: 'abc' },
  attributes: { voPersonID: [communityId] },
  authn: { instant: '2026-11-23T10:00:00Z', contextClassRefs: [] },
});

/** A Fastify server carrying what the filter registers through FilterServices.addRoutes, as buildApp does. */
async function start(store: Store): Promise<{ app: FastifyInstance; base: string; pipeline: Pipeline }> {
  const app = Fastify({ logger: false });
  registerErrorHandling(app);
  const services: FilterServices = {
    store,
    identifierSalt: 'test-salt',
    baseUrl: 'https://proxy.example.org',
    log: pino({ level: 'silent' }),
    addRoutes: (register) => register(app),
  };
  const config = parseConfig({
    pipeline: [{ filter: 'entitlements', namespace: NS, authority: 'proxy.example.org', source: { type: 'redis', adminToken: { env: TOKEN_ENV } } }],
  });
  const pipeline = await Pipeline.create(config.pipeline, services, { explain: false });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: `${address}/admin/groups`, pipeline };
}

function adminApi(t: Test, name: string, open: () => Store, skip: string | false) {
  t.test(name, { skip }, async (t) => {
    const store = open();
    const { app, base, pipeline } = await start(store);
    const written = new Set<string>();
    t.teardown(async () => {
      // Stored lists live for ten years: leave nothing behind in a shared Redis.
      for (const key of written) await store.delete(`groups:${key}`);
      await app.close();
      await store.close();
    });
    const user = `${randomUUID()}@proxy.example.org`;
    written.add(user);
    const url = `${base}/${encodeURIComponent(user)}`;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const put = (body: string, headers: Record<string, string> = auth) => fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body });

    t.test('no or a wrong token: 401 with WWW-Authenticate: Bearer, as JSON, nothing stored', async (t) => {
      for (const [headers, error] of [
        [{}, 'unauthorized'],
        [{ authorization: 'Bearer wrong-token' }, 'invalid_token'],
        [{ authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }, 'unauthorized'],
        [{ authorization: `Bearer ${TOKEN}x` }, 'invalid_token'],
      ] as const) {
        for (const response of [await fetch(url, { headers }), await put('["vo"]', headers), await fetch(url, { method: 'DELETE', headers })]) {
          t.equal(response.status, 401);
          t.match(response.headers.get('www-authenticate'), /^Bearer realm="fedgate-admin"/);
          t.match(response.headers.get('content-type'), /^application\/json/);
          t.match(await response.json(), { error });
        }
      }
      t.equal(await store.get(`groups:${user}`), null);
    });

    t.test('malformed memberships: 400 with a JSON problem per entry', async (t) => {
      const response = await put(JSON.stringify(['vo.example.org', `${NS}:group:vo.example.org::broken`, { group: 'vo', role: 'admin', extra: 1 }, `${NS}:res:storage#a.org`]));
      t.equal(response.status, 400);
      t.match(response.headers.get('content-type'), /^application\/json/);
      t.match(await response.json(), {
        error: 'invalid_request',
        problems: [/^\[1\]: ".*::broken": empty subgroup name/, /^\[2\]: Unrecognized key: "extra"/, /^\[3\]: .* is a capability/],
      });
      const notJson = await put('{"unclosed');
      t.equal(notJson.status, 400);
      t.match(await notJson.json(), { error: 'invalid_request' }, 'a body that is no JSON gets a JSON error, not the HTML page');
      const notList = await put('{"group":"vo"}');
      t.equal(notList.status, 400);
      const badKey = await fetch(`${base}/has%20space`, { headers: auth });
      t.equal(badKey.status, 400);
      t.match(await badKey.json(), { error: 'invalid_request', message: /no spaces/ });
      t.equal(await store.get(`groups:${user}`), null, 'nothing was stored');
    });

    t.test('PUT stores normalised memberships, GET returns them, a login gets them, DELETE removes them', async (t) => {
      const missing = await fetch(url, { headers: auth });
      t.equal(missing.status, 404);
      t.match(await missing.json(), { error: 'not_found' });

      const stored = await put(JSON.stringify(['vo.example.org:analysis', { group: 'vo.example.org', role: 'admin' }, 'URN:GEANT:Example.org:group:Ryhm%c3%a4#ignored.example', 'vo.example.org:analysis']));
      t.equal(stored.status, 200);
      const memberships = [`${NS}:group:vo.example.org:analysis`, `${NS}:group:vo.example.org:role=admin`, `${NS}:group:Ryhm%C3%A4`];
      t.same(await stored.json(), { userKey: user, memberships });
      t.same(await (await fetch(url, { headers: auth })).json(), { userKey: user, memberships });

      const login = await pipeline.run(identity(user), input);
      t.same(login.attributes.eduPersonEntitlement, [
        `${NS}:group:vo.example.org#proxy.example.org`,
        `${NS}:group:vo.example.org:analysis#proxy.example.org`,
        `${NS}:group:vo.example.org:role=admin#proxy.example.org`,
        `${NS}:group:Ryhm%C3%A4#proxy.example.org`,
      ]);

      const deleted = await fetch(url, { method: 'DELETE', headers: auth });
      t.equal(deleted.status, 204);
      t.equal((await fetch(url, { headers: auth })).status, 404);
      t.notOk('eduPersonEntitlement' in (await pipeline.run(identity(user), input)).attributes);
    });

    t.test('paths outside the API’s routes answer JSON too (after authentication)', async (t) => {
      const post = await fetch(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '[]' });
      t.equal(post.status, 404);
      t.match(await post.json(), { error: 'not_found' });
      t.equal((await fetch(`${base}/a/b`)).status, 401);
    });
  });
}

adminApi(t, 'memory store', () => new MemoryStore(), false);
adminApi(t, 'Redis store', redisStore, await redisSkip());
