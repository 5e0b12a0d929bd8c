/**
 * The demo: IdPs and a service served by this very process, wired to fedgate exactly like
 * outside parties would be — through their metadata in fedgate's entity indexes.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import { issuerOf, type OidcClientConfig } from '../frontends/oidc-op/config.js';
import type { SamlSpBackend } from '../backends/saml-sp/backend.js';
import type { SamlIdpFrontend } from '../frontends/saml-idp/frontend.js';
import { loadOrCreateKeyPair, loadOrCreateSecret, type KeyPair } from '../crypto/keys.js';
import type { EntityIndex } from '../metadata/entity-index.js';
import { parseMetadata } from '../metadata/parse.js';
import type { Store } from '../store/store.js';
import { DemoIdp } from './idp.js';
import { DemoOidcRp } from './oidc-rp.js';
import { DemoSp, SAML_LOGIN } from './sp.js';
import type { LoginOption } from './sp-pages.js';

export interface DemoParts {
  config: Config;
  /** Upstream IdP index: the demo IdPs are added to it. */
  idps: EntityIndex;
  /** Downstream SP index: the demo service is added to it. */
  sps: EntityIndex;
  spBackend: SamlSpBackend;
  idpFrontend: SamlIdpFrontend;
  signing: KeyPair;
  /** Where the demo's OpenID Connect logins keep their state. */
  store: Store;
}

export interface Demo {
  /** Serves the demo IdPs and the demo service. */
  register(app: FastifyInstance): void;
  /** The demo service's client for fedgate's OpenID Provider, when that is enabled. */
  oidcClients: OidcClientConfig[];
}

/** Creates the demo's IdPs and service and adds their metadata to fedgate's indexes. */
export async function createDemo(parts: DemoParts): Promise<Demo> {
  const { config, idps, sps, spBackend, idpFrontend, signing, store } = parts;
  const served: { register(app: FastifyInstance): void }[] = [];
  const dataDir = config.dataDir;
  const [proxySp] = parseMetadata(spBackend.metadataXml(), 'fedgate SP').records;
  if (!proxySp) throw new Error('fedgate SP metadata holds no entity');

  for (const idpConfig of config.demo.idps) {
    const keys = await loadOrCreateKeyPair(dataDir, `demo-idp-${idpConfig.id}`, `fedgate demo IdP ${idpConfig.id}`);
    const idp = new DemoIdp({ config, idp: idpConfig, keys, sp: proxySp });
    const source = `demo IdP ${idpConfig.id}`;
    idps.addRecords(source, parseMetadata(idp.metadataXml(), source).records);
    served.push(idp);
  }

  const logins: LoginOption[] = [SAML_LOGIN];
  const oidcRp = config.frontends.oidc.enabled
    ? new DemoOidcRp({
        baseUrl: config.server.baseUrl,
        issuer: issuerOf(config.frontends.oidc, config.server.baseUrl),
        clientSecret: loadOrCreateSecret(dataDir, 'demo-oidc-client-secret'),
        store,
        logins,
      })
    : undefined;
  if (oidcRp) {
    logins.push({ label: 'Log in with OpenID Connect', href: '/demo/login/oidc' });
    served.push(oidcRp);
  }

  const service = new DemoSp({
    baseUrl: config.server.baseUrl,
    keys: await loadOrCreateKeyPair(dataDir, 'demo-sp', 'fedgate demo service'),
    idpEntityId: idpFrontend.entityId,
    idpSsoUrl: idpFrontend.ssoUrl,
    idpCertPem: signing.certPem,
    clockSkewMs: config.saml.clockSkewSeconds * 1000,
    logins,
  });
  sps.addRecords('demo service', parseMetadata(service.metadataXml(), 'demo service').records);
  served.push(service);
  return {
    oidcClients: oidcRp ? [oidcRp.client()] : [],
    register: (app) => {
      for (const party of served) party.register(app);
      // Someone who opens the bare URL of a demo install wants the demo.
      app.get('/', async (_req, reply) => reply.redirect('/demo', 302));
    },
  };
}
