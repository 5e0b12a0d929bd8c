/**
 * `fedgate explain`: runs an identity through the configured pipeline for one service, with the
 * service and upstream registrations loaded exactly as the server loads them, and prints what
 * each filter did and why. Answers "why did service X not get attribute Y?" without a login.
 */
import { pino } from 'pino';
import { loadParties, type Parties } from '../app.js';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../core/errors.js';
import type { AuthnRequest } from '../core/model.js';
import type { ServiceRegistration } from '../core/registration.js';
import { serviceFromEntity } from '../metadata/registration.js';
import { Pipeline } from '../pipeline/runner.js';
import { createStore } from '../store/index.js';
import { readIdentityFile, toIdentity } from './identity-file.js';
import { denialOf, formatReport } from './report.js';

export interface ExplainOptions {
  configPath: string;
  service: string | undefined;
  upstream: string | undefined;
  identityFile: string | undefined;
  json: boolean;
  color: boolean;
  write(text: string): void;
}

/** How many known service ids an "unknown service" error names. */
const KNOWN_IDS_SHOWN = 5;

/** The service as the frontend would see it; OIDC clients join here once the OIDC frontend exists. */
function findService(parties: Parties, id: string): ServiceRegistration {
  const record = parties.sps.get(id);
  if (record?.sp) return serviceFromEntity(record);
  const known = parties.sps.sps().map((r) => r.entityId);
  const shown = known.slice(0, KNOWN_IDS_SHOWN).join(', ') + (known.length > KNOWN_IDS_SHOWN ? ` and ${known.length - KNOWN_IDS_SHOWN} more` : '');
  throw new UsageError(
    `unknown service "${id}": --service takes an SP entityID from the metadata in frontends.saml.sps` +
      ` (the demo service when demo.enabled); ${known.length > 0 ? `known: ${shown}` : 'this configuration has none'}`,
  );
}

export async function runExplain(options: ExplainOptions): Promise<number> {
  if (!options.service) throw new UsageError('explain needs --service <SP entityID or client_id>');
  if (!options.identityFile) throw new UsageError('explain needs an identity file: fedgate explain --service ID IDENTITY.json');
  const config = loadConfig(options.configPath);
  const file = readIdentityFile(options.identityFile);

  // stdout carries the report; anything a filter warns about goes to stderr.
  const log = pino({ level: 'warn' }, process.stderr);
  const store = createStore(config.store, log);
  try {
    const parties = await loadParties(config, { log, store });
    const service = findService(parties, options.service);
    const issuer = options.upstream ?? file.issuer;
    if (!issuer) throw new UsageError(`${options.identityFile} names no issuer: add "issuer" or give --upstream <IdP entityID>`);
    const upstream = parties.backend.upstream(issuer);
    if (!upstream && options.upstream) {
      throw new UsageError(`unknown upstream "${options.upstream}": --upstream takes an IdP entityID from the metadata in backends.saml.idps (or a demo IdP)`);
    }
    const identity = toIdentity(file, issuer, upstream);

    const pipeline = await Pipeline.create(
      config.pipeline,
      { store, identifierSalt: parties.identifierSalt, baseUrl: config.server.baseUrl, log, addRoutes: () => {} },
      { explain: false },
    );
    const request: AuthnRequest = {
      frontend: parties.frontend.name,
      requester: service.id,
      forceAuthn: false,
      isPassive: false,
      idpHints: [],
      frontendState: {},
    };
    const { trace, error } = await pipeline.explain(identity, { request, service, upstream });
    const result = { service, upstream, identity, trace, ...(error === undefined ? {} : { error }) };
    if (options.json) {
      const denied = denialOf(result);
      options.write(`${JSON.stringify({ ...trace, ...(denied ? { denied } : {}) }, null, 2)}\n`);
    } else {
      options.write(formatReport(result, { color: options.color }));
    }
    return 0;
  } finally {
    await store.close();
  }
}
