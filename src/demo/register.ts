/**
 * The demo: IdPs and a service served by this very process, wired to fedgate exactly like
 * outside parties would be — through their metadata in fedgate's entity indexes.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { SamlSpBackend } from '../backends/saml-sp/backend.js';
import type { SamlIdpFrontend } from '../frontends/saml-idp/frontend.js';
import { loadOrCreateKeyPair, type KeyPair } from '../crypto/keys.js';
import type { EntityIndex } from '../metadata/entity-index.js';
import { parseMetadata } from '../metadata/parse.js';
import { DemoIdp } from './idp.js';
import { DemoSp } from './sp.js';

export interface DemoParts {
  config: Config;
  /** Upstream IdP index: the demo IdPs are added to it. */
  idps: EntityIndex;
  /** Downstream SP index: the demo service is added to it. */
  sps: EntityIndex;
  spBackend: SamlSpBackend;
  idpFrontend: SamlIdpFrontend;
  signing: KeyPair;
}

export interface Demo {
  /** Serves the demo IdPs and the demo service. */
  register(app: FastifyInstance): void;
}

/** Creates the demo's IdPs and service and adds their metadata to fedgate's indexes. */
export async function createDemo(parts: DemoParts): Promise<Demo> {
  const { config, idps, sps, spBackend, idpFrontend, signing } = parts;
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

  const service = new DemoSp({
    baseUrl: config.server.baseUrl,
    keys: await loadOrCreateKeyPair(dataDir, 'demo-sp', 'fedgate demo service'),
    idpEntityId: idpFrontend.entityId,
    idpSsoUrl: idpFrontend.ssoUrl,
    idpCertPem: signing.certPem,
    clockSkewMs: config.saml.clockSkewSeconds * 1000,
  });
  sps.addRecords('demo service', parseMetadata(service.metadataXml(), 'demo service').records);
  served.push(service);
  return {
    register: (app) => {
      for (const party of served) party.register(app);
      // Someone who opens the bare URL of a demo install wants the demo.
      app.get('/', async (_req, reply) => reply.redirect('/demo', 302));
    },
  };
}
