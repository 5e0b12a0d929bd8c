/**
 * The audit line of a completed login, for the traceability federations require (who, from
 * which upstream, to which service, what was released, at what assurance). Fixed shape, and no
 * attribute values besides assurance and acr: the log must not become a copy of the attributes.
 */
import type { LoginRecord, LoginResult } from '../core/flow.js';

export interface AuditLine {
  audit: 'login';
  ref: string;
  service: string;
  frontend: string;
  upstream: string;
  backend: string | null;
  /** The community ID when the pipeline derived one, else the upstream's subject. */
  subject: string;
  released: string[];
  assurance: string[];
  /** The first authentication context class of the released identity (the one both frontends assert unless a SAML service asked for another exact one). */
  acr: string | null;
}

export function auditLine(login: Pick<LoginRecord, 'ref' | 'request'>, result: LoginResult): AuditLine {
  const { released } = result;
  return {
    audit: 'login',
    ref: login.ref,
    service: result.service.id,
    frontend: login.request.frontend,
    upstream: released.issuer,
    backend: result.upstream?.backend ?? null,
    subject: released.communityId ?? released.subject.id,
    released: Object.keys(released.attributes).sort(),
    assurance: released.attributes.eduPersonAssurance ?? [],
    acr: released.authn.contextClassRefs[0] ?? null,
  };
}
