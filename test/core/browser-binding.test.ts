/**
 * BrowserBinding: the cookie that ties a login to the browser that started it — its attributes
 * over http and https, one id per browser, and which requests match a login's hash.
 */
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import t from 'tap';
import { BrowserBinding, type BrowserBindingOptions } from '../../src/core/browser-binding.js';

/** An app whose /bind binds a login and /check?hash= tells whether the request matches it. */
async function app(options: BrowserBindingOptions): Promise<FastifyInstance> {
  const binding = new BrowserBinding(options);
  const app = Fastify();
  await app.register(cookie);
  app.get('/bind', async (req, reply) => reply.send({ hash: binding.bind(req, reply) }));
  app.get<{ Querystring: { hash?: string } }>('/check', async (req) => ({ mismatch: binding.mismatch(req, req.query.hash) ?? null }));
  // A login that finishes in the request that started it (a backend answering at once).
  app.get('/bind-and-check', async (req, reply) => reply.send({ mismatch: binding.mismatch(req, binding.bind(req, reply)) ?? null }));
  t.teardown(() => app.close());
  return app;
}

const setCookie = (res: { headers: Record<string, unknown> }) => String(res.headers['set-cookie']);
const cookieValue = (res: { headers: Record<string, unknown> }) => /=([^;]*)/.exec(setCookie(res))?.[1] ?? '';

t.test('over http: a Lax, HttpOnly cookie on / for the flow TTL, with a random id', async (t) => {
  const a = await app({ cookieName: 'fedgate_login', secureCookies: false, ttlMs: 900_000 });
  const res = await a.inject({ method: 'GET', url: '/bind' });
  t.match(setCookie(res), /^fedgate_login=[A-Za-z0-9_-]{22}; Max-Age=900; Path=\/; HttpOnly; SameSite=Lax$/);
  t.notMatch(setCookie(res), /Secure/, 'plain http cannot keep a Secure cookie');
  t.not(res.json().hash, cookieValue(res), 'the store gets a hash, not the id');
  const other = await a.inject({ method: 'GET', url: '/bind' });
  t.not(cookieValue(other), cookieValue(res), 'each new browser gets its own id');
});

t.test('over https: __Host-, Secure and SameSite=None, so the IdP’s cross-site POST carries it', async (t) => {
  const a = await app({ cookieName: 'fedgate_login', secureCookies: true, ttlMs: 120_000 });
  const res = await a.inject({ method: 'GET', url: '/bind' });
  t.match(setCookie(res), /^__Host-fedgate_login=[A-Za-z0-9_-]{22}; Max-Age=120; Path=\/; HttpOnly; Secure; SameSite=None$/);
});

t.test('a browser keeps its id across logins, each bind extending the cookie', async (t) => {
  const a = await app({ cookieName: 'fedgate_login', secureCookies: false, ttlMs: 900_000 });
  const first = await a.inject({ method: 'GET', url: '/bind' });
  const id = cookieValue(first);
  const second = await a.inject({ method: 'GET', url: '/bind', cookies: { fedgate_login: id } });
  t.equal(cookieValue(second), id, 'the same id again, with a fresh Max-Age');
  t.equal(second.json().hash, first.json().hash, 'so two logins of one browser (two tabs) carry the same hash');
  const forged = await a.inject({ method: 'GET', url: '/bind', cookies: { fedgate_login: 'not an id' } });
  t.not(cookieValue(forged), 'not an id', 'a value fedgate could not have made is replaced');
  t.match(cookieValue(forged), /^[A-Za-z0-9_-]{22}$/);
});

t.test('a request matches the login only with the cookie of the browser that started it', async (t) => {
  const a = await app({ cookieName: 'fedgate_login', secureCookies: false, ttlMs: 900_000 });
  const started = await a.inject({ method: 'GET', url: '/bind' });
  const { hash } = started.json() as { hash: string };
  const mine = await a.inject({ method: 'GET', url: '/check', query: { hash }, cookies: { fedgate_login: cookieValue(started) } });
  t.equal(mine.json().mismatch, null, 'the starting browser');

  const other = await a.inject({ method: 'GET', url: '/bind' });
  const theirs = await a.inject({ method: 'GET', url: '/check', query: { hash }, cookies: { fedgate_login: cookieValue(other) } });
  t.equal(theirs.json().mismatch, 'the fedgate_login cookie is another browser\'s', 'a browser with its own login');
  const none = await a.inject({ method: 'GET', url: '/check', query: { hash } });
  t.equal(none.json().mismatch, 'the request carries no fedgate_login cookie', 'a browser without the cookie (or one that blocked it)');
  const unbound = await a.inject({ method: 'GET', url: '/check', cookies: { fedgate_login: cookieValue(started) } });
  t.equal(unbound.json().mismatch, 'the login carries no browser binding', 'a login stored without a hash');
});

t.test('a login started and finished in one request matches, before the browser sends the cookie back', async (t) => {
  const a = await app({ cookieName: 'fedgate_login', secureCookies: false, ttlMs: 900_000 });
  const res = await a.inject({ method: 'GET', url: '/bind-and-check' });
  t.equal(res.json().mismatch, null);
});
