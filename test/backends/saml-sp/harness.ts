/**
 * fedgate's SAML SP backend between real peers over loopback: an upstream samlify IdP
 * (test/helpers/saml-idp-peer.ts) whose metadata is fetched over HTTP into an EntityIndex, and the
 * real LoginFlow with a store, SSO sessions, a pass-through pipeline and a downstream double that
 * records what it is asked to answer.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { SamlSpBackend } from '../../../src/backends/saml-sp/backend.js';
import { parseConfig } from '../../../src/config/load.js';
import type { Config, ConfigInput } from '../../../src/config/schema.js';
import { FedgateError } from '../../../src/core/errors.js';
import type { Frontend } from '../../../src/core/flow.js';
import type { AuthnRequest, Identity } from '../../../src/core/model.js';
import { generateKeyPair } from '../../../src/crypto/keys.js';
import { EntityIndex } from '../../../src/metadata/entity-index.js';
import { parseMetadata } from '../../../src/metadata/parse.js';
import { MemoryStore } from '../../../src/store/memory.js';
import type { Store } from '../../../src/store/store.js';
import type { ServiceRegistration } from '../../../src/core/registration.js';
import { Browser, type Page } from '../../helpers/browser.js';
import { testLoginRequest } from '../../helpers/login-request.js';
import { testLoginFlow } from '../../helpers/flow.js';
import { freePort } from '../../helpers/ports.js';
import { startSamlIdpPeer, type SamlIdpPeer, type SamlIdpPeerOptions } from '../../helpers/saml-idp-peer.js';

/** The downstream double: what the flow asked the frontend to answer; like the SAML frontend, it answers errors that have a SAML status. */
export class RecordingFrontend implements Frontend {
  readonly name = 'test';
  readonly responses: { request: AuthnRequest; identity: Identity }[] = [];
  readonly errors: { request: AuthnRequest; error: FedgateError }[] = [];

  async respond(request: AuthnRequest, identity: Identity, reply: import('fastify').FastifyReply): Promise<void> {
    this.responses.push({ request, identity });
    await reply.type('application/json').send({ answered: request.requester, subject: identity.subject.id });
  }

  async respondError(request: AuthnRequest, error: FedgateError, reply: import('fastify').FastifyReply): Promise<boolean> {
    this.errors.push({ request, error });
    if (!error.samlStatus) return false;
    await reply.status(200).type('application/json').send({ samlStatus: error.samlStatus, code: error.code });
    return true;
  }

  service(request: AuthnRequest): ServiceRegistration {
    return { id: request.requester, protocol: 'saml', name: {}, entityCategories: [], requestedAttributes: [] };
  }
}

export interface Harness {
  baseUrl: string;
  config: Config;
  app: FastifyInstance;
  backend: SamlSpBackend;
  peer: SamlIdpPeer;
  store: Store;
  index: EntityIndex;
  frontend: RecordingFrontend;
  /** Errors that reached the error handler, in order. */
  errors: Error[];
  /** A new browser that starts a login for the peer; resolves with the page fedgate answers with. */
  login(query?: Record<string, string>): Promise<{ browser: Browser; page: Page }>;
  /** Starts a login and stops at the peer's auto-POST form: the AuthnRequest ID and the browser. */
  startLogin(query?: Record<string, string>): Promise<{ browser: Browser; requestId: string }>;
  /** Posts a SAMLResponse to the ACS like a browser would. */
  postToAcs(browser: Browser, samlResponse: string): Promise<Page>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  store?: Store;
  peer?: SamlIdpPeerOptions;
  config?: (baseUrl: string, peer: SamlIdpPeer) => ConfigInput;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const peer = await startSamlIdpPeer(options.peer);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const config = parseConfig({
    server: { baseUrl, port },
    logging: { level: 'silent' },
    saml: { clockSkewSeconds: 60 },
    ...options.config?.(baseUrl, peer),
  });
  const [signing, encryption] = await Promise.all([generateKeyPair('fedgate signing'), generateKeyPair('fedgate encryption')]);
  const store = options.store ?? new MemoryStore();
  const index = await EntityIndex.load([], { log: { info() {}, warn() {}, error() {} } as never });
  const metadata = await (await fetch(peer.metadataUrl)).text();
  index.addRecords(peer.metadataUrl, parseMetadata(metadata, peer.metadataUrl).records);

  const backend = new SamlSpBackend({ config, signing, encryption, idps: index, store });
  peer.trustServiceProvider(backend.metadataXml());
  const frontend = new RecordingFrontend();
  const flow = testLoginFlow(store, { frontends: [frontend], backends: [backend], flowTtlMs: config.session.flowTtlSeconds * 1000 });

  const errors: Error[] = [];
  const app = Fastify({ bodyLimit: config.server.bodyLimitBytes });
  await app.register(cookie);
  await app.register(formbody);
  app.setErrorHandler(async (err: Error, _req, reply) => {
    errors.push(err);
    const status = err instanceof FedgateError ? err.httpStatus : ((err as { statusCode?: number }).statusCode ?? 500);
    return reply.status(status).type('application/json').send({ error: err.name, code: (err as Partial<FedgateError>).code });
  });
  backend.register(app, flow);
  app.get('/test/start', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    return flow.start(testLoginRequest(q, q.idp ?? peer.entityId), req, reply);
  });
  await app.listen({ port, host: '127.0.0.1' });

  const startUrl = (query: Record<string, string> = {}) => `${baseUrl}/test/start?${new URLSearchParams(query)}`;
  return {
    baseUrl,
    config,
    app,
    backend,
    peer,
    store,
    index,
    frontend,
    errors,
    async login(query) {
      const browser = new Browser();
      return { browser, page: await browser.get(startUrl(query)) };
    },
    async startLogin(query) {
      const browser = new Browser();
      const start = await browser.fetchRaw(startUrl(query), { method: 'GET' });
      const location = start.headers.get('location');
      if (start.status !== 302 || !location) throw new Error(`no redirect to the IdP: ${start.status} ${start.body}`);
      const before = peer.requests.length;
      await browser.fetchRaw(location, { method: 'GET' });
      const request = peer.requests[before];
      if (!request) throw new Error('the peer received no AuthnRequest');
      return { browser, requestId: request.id };
    },
    postToAcs(browser, samlResponse) {
      return browser.fetchRaw(backend.acsUrl, {
        method: 'POST',
        body: new URLSearchParams({ SAMLResponse: samlResponse }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    },
    async close() {
      await app.close();
      await peer.close();
      index.stop();
      await store.close();
    },
  };
}
