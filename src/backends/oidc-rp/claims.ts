/**
 * Upstream claims as internal attributes, through the shared table (src/core/attributes.ts) plus
 * the provider's own claimMapping. What fedgate does not trust is left out:
 * - `email` only when `email_verified` is true, and then also as voPersonVerifiedEmail;
 * - scoped attributes (eppn, scoped affiliation, schacHomeOrganization, …) from a social
 *   provider, which has no scope metadata to check them against (spec/attributes.md §5);
 * - claims nobody maps, logged at debug.
 * A social provider's subject becomes voPersonExternalID `<sub>@<issuer host>` (§5), and ORCID's
 * subject, the bare iD, becomes eduPersonOrcid in the URL form eduPerson requires (§7).
 */
import { definitionOf, fromClaimName } from '../../core/attributes.js';
import type { Attributes } from '../../core/model.js';
import type { OidcProvider } from './config.js';

export type Claims = Record<string, unknown>;

export interface ClaimsLog {
  debug(obj: object, msg: string): void;
}

/** Claims about the token or the authentication, not the user: never attributes. */
const PROTOCOL_CLAIMS = new Set([
  'iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'nonce', 'azp', 'at_hash', 'c_hash', 's_hash', 'sid',
  'auth_time', 'acr', 'amr', 'email_verified',
]);

const ORCID_ID = /^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$/;

function stringValues(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is string => typeof v === 'string' && v !== '');
}

function add(attributes: Attributes, name: string, values: string[]): void {
  if (values.length === 0) return;
  attributes[name] = [...new Set([...(attributes[name] ?? []), ...values])];
}

export function attributesFromClaims(provider: OidcProvider, subject: string, claims: Claims, log: ClaimsLog): Attributes {
  const attributes: Attributes = {};
  const dropped = (claim: string, why: string) => log.debug({ upstream: provider.issuer, claim, why }, 'dropped upstream claim');

  for (const [claim, value] of Object.entries(claims)) {
    if (PROTOCOL_CLAIMS.has(claim)) continue;
    const mapped = provider.claimMapping[claim];
    const definition = mapped !== undefined ? definitionOf(mapped) : fromClaimName(claim);
    if (!definition) {
      dropped(claim, 'no attribute maps it');
      continue;
    }
    if (provider.social && (definition.scoped || definition.valueIsScope)) {
      dropped(claim, `${definition.name} is scoped and a social provider has no scope to check it against`);
      continue;
    }
    if (claim === 'email') {
      if (claims.email_verified !== true) {
        dropped(claim, 'email_verified is not true');
        continue;
      }
      add(attributes, 'voPersonVerifiedEmail', stringValues(value));
    }
    add(attributes, definition.name, stringValues(value));
  }

  if (provider.social) add(attributes, 'voPersonExternalID', [`${subject}@${new URL(provider.issuer).host}`]);
  if (provider.preset === 'orcid' && ORCID_ID.test(subject)) {
    // The issuer is https://orcid.org (or https://sandbox.orcid.org): the iD's own URL.
    add(attributes, 'eduPersonOrcid', [`${provider.issuer.replace(/\/+$/, '')}/${subject}`]);
  }
  return attributes;
}
