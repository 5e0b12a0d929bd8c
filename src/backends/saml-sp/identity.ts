/**
 * The protocol-neutral Identity from a verified upstream assertion. Attributes come from
 * the profile of the signed assertion (verify.ts), under their internal names (src/core/attributes.ts);
 * names fedgate does not know are dropped, and so is every value that is not a plain string
 * (eduPersonTargetedID's NameID values among them: it is never forwarded).
 */
import { fromSamlName } from '../../core/attributes.js';
import { MalformedResponseError } from '../../core/errors.js';
import type { Attributes, Identity, UpstreamSubject } from '../../core/model.js';
import type { VerifiedAssertion } from './assertion.js';
import type { AssertionProfile as Profile } from './verify.js';

export interface IdentityLog {
  debug(obj: object, msg: string): void;
}

export function identityFromAssertion(issuer: string, profile: Profile, assertion: VerifiedAssertion, log: IdentityLog): Identity {
  const attributes = mapAttributes(profile.attributes, issuer, log);
  if (!assertion.authnInstant) throw new MalformedResponseError('the assertion has no AuthnStatement with an AuthnInstant');
  return {
    issuer,
    protocol: 'saml',
    subject: subjectOf(profile, attributes),
    attributes,
    authn: {
      instant: assertion.authnInstant,
      contextClassRefs: assertion.contextClassRefs,
      ...(profile.sessionIndex ? { sessionIndex: profile.sessionIndex } : {}),
    },
  };
}

/**
 * The NameID when there is one; SAML2int SP13 lets an IdP omit it, and then the subject
 * identifiers stand in (SP14). With neither, there is nobody to name downstream.
 */
function subjectOf(profile: Profile, attributes: Attributes): UpstreamSubject {
  if (typeof profile.nameID === 'string' && profile.nameID !== '') {
    return {
      id: profile.nameID,
      ...(profile.nameIDFormat ? { format: profile.nameIDFormat } : {}),
      ...(profile.nameQualifier ? { nameQualifier: profile.nameQualifier } : {}),
      ...(profile.spNameQualifier ? { spNameQualifier: profile.spNameQualifier } : {}),
    };
  }
  const id = attributes['pairwise-id']?.[0] ?? attributes['subject-id']?.[0];
  if (!id) throw new MalformedResponseError('the assertion names no subject: no NameID, pairwise-id or subject-id');
  return { id };
}

function mapAttributes(raw: unknown, issuer: string, log: IdentityLog): Attributes {
  const out: Attributes = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [samlName, value] of Object.entries(raw as Record<string, unknown>)) {
    const definition = fromSamlName(samlName);
    if (!definition) {
      log.debug({ upstream: issuer, attribute: samlName }, 'dropped attribute fedgate does not know');
      continue;
    }
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && v !== '');
    if (values.length === 0) continue;
    out[definition.name] = [...new Set([...(out[definition.name] ?? []), ...values])];
  }
  return out;
}
