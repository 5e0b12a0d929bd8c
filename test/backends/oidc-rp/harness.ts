/**
 * fedgate's OIDC RP backend between real peers over loopback: an upstream oidc-provider
 * (test/helpers/oidc-op-peer.ts), and the real LoginFlow with a store, SSO sessions, a
 * pass-through pipeline and the downstream double of the SAML backend tests that records what it
 * is asked to answer.
 *
 * LoginFlow answers an IsPassive request without SSO session itself, so today no passive request
 * reaches a backend; `/test/start?passive=1` hands the backend one anyway, as a flow (or the OIDC
 * frontend) that tries the upstream without interaction would.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { OidcRpBackend } from '../../../src/backends/oidc-rp/backend.js';
import { parseConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { FedgateError } from '../../../src/core/errors.js';
import type { Backend } from '../../../src/core/flow.js';
import { MemoryStore } from '../../../src/store/memory.js';
import type { Store } from '../../../src/store/store.js';
import { Browser } from '../../helpers/browser.js';
import { fedgateAsClient, startOidcOpPeer, type OidcOpPeer, type OpUser } from '../../helpers/oidc-op-peer.js';
import { testLoginRequest } from '../../helpers/login-request.js';
import { testLoginFlow } from '../../helpers/flow.js';
import { freePort } from '../../helpers/ports.js';
import { RecordingFrontend } from '../saml-sp/harness.js';

export const ALICE: OpUser = {
  sub: 'alice-7f3a',
  claims: {
    name: 'Alice Example',
    given_name: 'Alice',
    family_name: 'Example',
    email: 'alice@example.org',
    email_verified: true,
    eduperson_entitlement: ['urn:geant:example.org:group:physics'],
    updated_at: 1700000000,
  },
  acr: 'https://refeds.org/profile/mfa',
  amr: ['pwd', 'otp'],
};

export const MFA = 'https://refeds.org/profile/mfa';

export interface OidcHarness {
  baseUrl: string;
  config: Config;
  app: FastifyInstance;
  backend: OidcRpBackend;
  op: OidcOpPeer;
  store: Store;
  frontend: RecordingFrontend;
  /** Errors that reached the error handler, in order. */
  errors: Error[];
  /** fedgate's URL that starts a login: ?force=1, ?passive=1, ?acr=<space-separated>. */
  startUrl(query?: Record<string, string>): string;
  /** Follows the browser from the start of a login to the moment the provider sends it back; returns that callback URL. */
  toCallback(browser: Browser, query?: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

export interface OidcHarnessOptions {
  /** Overrides of the provider at the peer (id research). */
  provider?: Record<string, unknown>;
  /** More providers, after it. */
  extraProviders?: Record<string, unknown>[];
  user?: OpUser;
  store?: Store;
}

export async function startOidcHarness(options: OidcHarnessOptions = {}): Promise<OidcHarness> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const op = await startOidcOpPeer({
    clients: [fedgateAsClient(baseUrl, 'research')],
    user: options.user ?? ALICE,
    acrValues: [MFA],
  });
  const config = parseConfig({
    server: { baseUrl, port },
    logging: { level: 'silent' },
    backends: {
      oidc: {
        providers: [
          { id: 'research', issuer: op.issuer, clientId: 'fedgate', clientSecret: 'op-secret', displayName: { en: 'Research SSO' }, ...options.provider },
          ...(options.extraProviders ?? []),
        ],
      },
    },
  });
  const store = options.store ?? new MemoryStore();
  const backend = new OidcRpBackend({ config, store, log: pino({ level: 'silent' }) });
  const frontend = new RecordingFrontend();
  let passiveNext = false;
  const passiveCapable: Backend = {
    name: backend.name,
    upstreams: () => backend.upstreams(),
    upstream: (id) => backend.upstream(id),
    startLogin: (login, upstreamId, reply) =>
      backend.startLogin(passiveNext ? { ...login, request: { ...login.request, isPassive: true } } : login, upstreamId, reply),
  };
  const flow = testLoginFlow(store, { frontends: [frontend], backends: [passiveCapable], flowTtlMs: config.session.flowTtlSeconds * 1000 });

  const errors: Error[] = [];
  const app = Fastify();
  await app.register(cookie);
  await app.register(formbody);
  app.setErrorHandler(async (err: Error, _req, reply) => {
    errors.push(err);
    const status = err instanceof FedgateError ? err.httpStatus : 500;
    return reply.status(status).type('application/json').send({ error: err.name, code: (err as Partial<FedgateError>).code });
  });
  backend.register(app, flow);
  app.get('/test/start', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    passiveNext = q.passive === '1';
    return flow.start(testLoginRequest(q, op.issuer), req, reply);
  });
  await app.listen({ port, host: '127.0.0.1' });

  const startUrl = (query: Record<string, string> = {}) => `${baseUrl}/test/start?${new URLSearchParams(query)}`;
  return {
    baseUrl,
    config,
    app,
    backend,
    op,
    store,
    frontend,
    errors,
    startUrl,
    async toCallback(browser, query) {
      let url = startUrl(query);
      for (let step = 0; step < 10; step++) {
        const page = await browser.fetchRaw(url, { method: 'GET' });
        const location = page.headers.get('location');
        if (!location) throw new Error(`no redirect at ${url}: ${page.status} ${page.body.slice(0, 300)}`);
        url = new URL(location, url).toString();
        if (url.startsWith(`${baseUrl}/oidc/rp/callback/`)) return url;
      }
      throw new Error('the provider never sent the browser back');
    },
    async close() {
      await app.close();
      await op.close();
      await store.close();
    },
  };
}
