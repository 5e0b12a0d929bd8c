/**
 * Builds the fedgate server from a validated configuration. Reads like a table of contents:
 * keys, store, metadata, the protocol ends, the flow between them, and the HTTP plumbing.
 * Tests build it too, so nothing here listens or reads process-wide state.
 */
import { join } from 'node:path';
import formbody from '@fastify/formbody';
import cookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Config } from './config/schema.js';
import { BrowserBinding } from './core/browser-binding.js';
import { LoginFlow } from './core/flow.js';
import { SessionManager } from './core/session.js';
import { loadOrCreateKeyPair, loadOrCreateSecret } from './crypto/keys.js';
import { SamlSpBackend } from './backends/saml-sp/backend.js';
import { OidcRpBackend } from './backends/oidc-rp/backend.js';
import { SamlIdpFrontend } from './frontends/saml-idp/frontend.js';
import { registerDiscovery } from './discovery/routes.js';
import { createDemo, type Demo } from './demo/register.js';
import { clientErrorHandler, registerErrorHandling } from './http/errors.js';
import { Endpoints } from './http/endpoints.js';
import { registerHealth } from './http/health.js';
import { Metrics } from './http/metrics.js';
import { LoginOperations } from './http/operations.js';
import { registerRateLimits } from './http/rate-limit.js';
import { registerSecurityHeaders } from './http/security.js';
import { EntityIndex } from './metadata/entity-index.js';
import { Pipeline } from './pipeline/runner.js';
import { createStore } from './store/index.js';
import type { Store } from './store/store.js';

export interface BuildOptions {
  /** The logger to use; defaults to pino JSON logs on stdout at config.logging.level. */
  logger?: FastifyBaseLogger;
}

export interface FedgateApp {
  app: FastifyInstance;
  /** One line on what was loaded, for the start-up message. */
  summary: string;
  /** The metadata of upstream IdPs and downstream SPs, refreshing on their timers until the app closes. */
  metadata: { idps: EntityIndex; sps: EntityIndex };
}

/** The parties of every login as the configuration defines them; `fedgate explain` loads them the same way. */
export interface Parties {
  identifierSalt: string;
  /** Upstream IdPs, with the demo IdPs when the demo is on. */
  idps: EntityIndex;
  /** Downstream SPs, with the demo service when the demo is on. */
  sps: EntityIndex;
  backend: SamlSpBackend;
  frontend: SamlIdpFrontend;
  /** The demo's routes when the demo is on (its entities are already in the indexes). */
  demo?: Demo;
}

/** Loads keys, secrets and metadata and builds the protocol ends; nothing listens or refreshes yet. */
export async function loadParties(config: Config, deps: { log: FastifyBaseLogger; store: Store }): Promise<Parties> {
  const signing = await loadOrCreateKeyPair(config.dataDir, 'signing', `${new URL(config.server.baseUrl).host} signing`, config.keys.signing);
  const encryption = await loadOrCreateKeyPair(config.dataDir, 'encryption', `${new URL(config.server.baseUrl).host} encryption`, config.keys.encryption);
  const identifierSalt = config.secrets.identifierSalt ?? loadOrCreateSecret(config.dataDir, 'identifier-salt');

  const metadataOptions = { log: deps.log, backingDir: join(config.dataDir, 'metadata-backing') };
  const idps = await EntityIndex.load(config.backends.saml.enabled ? config.backends.saml.idps : [], { ...metadataOptions, configKey: 'backends.saml.idps' });
  const sps = await EntityIndex.load(config.frontends.saml.enabled ? config.frontends.saml.sps : [], { ...metadataOptions, configKey: 'frontends.saml.sps' });

  const backend = new SamlSpBackend({ config, signing, encryption, idps, store: deps.store });
  const frontend = new SamlIdpFrontend({ config, signing, sps, identifierSalt });
  const demo = config.demo.enabled
    ? await createDemo({ config, idps, sps, spBackend: backend, idpFrontend: frontend, signing, store: deps.store })
    : undefined;
  return { identifierSalt, idps, sps, backend, frontend, ...(demo ? { demo } : {}) };
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FedgateApp> {
  const logger = options.logger ?? pino({ level: config.logging.level });
  const app = Fastify({
    loggerInstance: logger,
    clientErrorHandler: clientErrorHandler(logger),
    bodyLimit: config.server.bodyLimitBytes,
    trustProxy: config.server.trustProxy.length > 0 ? config.server.trustProxy : false,
    routerOptions: { ignoreTrailingSlash: true },
    // fedgate logs what matters (logins, failures with their reference id); a line per request
    // would bury that. A reverse proxy's access log is the place for every request.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const log = app.log;
  const secureCookies = config.server.cookieSecure ?? config.server.baseUrl.startsWith('https:');

  const { operations } = config;
  const metrics = operations.metrics.enabled ? new Metrics() : undefined;
  const plainStore = createStore(config.store, log);
  const store = metrics ? metrics.instrumentStore(plainStore) : plainStore;
  const { identifierSalt, idps, sps, backend, frontend, demo } = await loadParties(config, { log, store }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  demo?.register(app);
  metrics?.watchMetadata({ idp: idps, sp: sps });

  const filterRoutes: ((app: FastifyInstance) => void)[] = [];
  const pipeline = await Pipeline.create(
    config.pipeline,
    { store, identifierSalt, baseUrl: config.server.baseUrl, log, addRoutes: (register) => filterRoutes.push(register) },
    { explain: config.logging.explain },
  );
  const sessions = new SessionManager(store, { cookieName: config.session.cookieName, ttlMs: config.session.ttlSeconds * 1000, secureCookies });
  const oidcBackend = config.backends.oidc.providers.length > 0 ? new OidcRpBackend({ config, store, log }) : undefined;
  // Loaded only when enabled (oidc-provider is large), without its Node version warning (load.ts).
  const oidcFrontend = config.frontends.oidc.enabled
    ? await (await (await import('./frontends/oidc-op/load.js')).loadOidcOpFrontend()).create({ config, store, sessions, identifierSalt, log, extraClients: demo?.oidcClients ?? [] })
    : undefined;
  const endpoints = new Endpoints(oidcFrontend ? new URL(oidcFrontend.issuer).pathname.replace(/\/+$/, '') : undefined);
  const loginOperations = new LoginOperations({ log, endpoints, ...(metrics ? { metrics } : {}) });
  const flow = new LoginFlow({
    store,
    sessions,
    browsers: new BrowserBinding({ cookieName: config.session.loginCookieName, secureCookies, ttlMs: config.session.flowTtlSeconds * 1000 }),
    pipeline,
    frontends: [...(config.frontends.saml.enabled ? [frontend] : []), ...(oidcFrontend ? [oidcFrontend] : [])],
    backends: [...(config.backends.saml.enabled ? [backend] : []), ...(oidcBackend ? [oidcBackend] : [])],
    flowTtlMs: config.session.flowTtlSeconds * 1000,
    observer: loginOperations,
  });

  await app.register(cookie);
  await app.register(formbody);
  registerErrorHandling(app, {
    onUnreportedFailure: (request, error) => loginOperations.requestFailed(request, error),
    wantsJson: (request) => {
      const kind = endpoints.classify(request)?.kind;
      return kind === 'token' || kind === 'search';
    },
  });
  registerSecurityHeaders(app);
  registerHealth(app, { store, metadata: [idps, sps], storeTimeoutMs: operations.readiness.storeTimeoutMs });
  metrics?.register(app, operations.metrics, endpoints);
  if (operations.rateLimits.enabled) await registerRateLimits(app, operations.rateLimits, endpoints, metrics);
  if (config.frontends.saml.enabled) frontend.register(app, flow);
  oidcFrontend?.register(app, flow);
  if (config.backends.saml.enabled) backend.register(app, flow);
  oidcBackend?.register(app, flow);
  for (const register of filterRoutes) register(app);
  registerDiscovery(app, flow, {
    config: config.discovery,
    baseUrl: config.server.baseUrl,
    secureCookies,
    serviceProviders: sps,
    ...(config.backends.saml.enabled ? { ownServiceProviderMetadata: backend.metadataXml() } : {}),
  });

  idps.startRefresh();
  sps.startRefresh();
  app.addHook('onClose', async () => {
    idps.stop();
    sps.stop();
    await store.close();
  });

  const upstreamCount = flow.upstreams().length;
  const summary =
    `${upstreamCount} upstream IdP${upstreamCount === 1 ? '' : 's'}, ${sps.sps().length} downstream SP${sps.sps().length === 1 ? '' : 's'}, ` +
    `${config.store.type} store${config.demo.enabled ? ', demo enabled' : ''}`;
  return { app, summary, metadata: { idps, sps } };
}
