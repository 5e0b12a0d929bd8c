/**
 * The OIDC edge of the attribute table: which claims each scope lets out, and the claims of a
 * released identity. Scopes mean the same here as in the release policy (its scope table lists
 * the attributes, src/core/attributes.ts names their claims), so what the pipeline releases for a
 * scope is exactly what the provider then shows for it.
 */
import { createHmac } from 'node:crypto';
import { ATTRIBUTES, definitionOf } from '../../core/attributes.js';
import type { Attributes, Identity } from '../../core/model.js';
import { DEFAULT_SCOPES } from '../../pipeline/release-policy.js';

/** Derived, not an attribute: present whenever `email` is. */
const EMAIL_VERIFIED = 'email_verified';

function claimsOfScope(attributeNames: readonly string[]): string[] {
  const claims = attributeNames.flatMap((name) => definitionOf(name)?.claim ?? []);
  if (claims.includes('email')) claims.push(EMAIL_VERIFIED);
  return claims;
}

/**
 * Scope → claim names, for oidc-provider's `claims` setting. `openid` carries `sub` only: the
 * identifiers the release policy lets out under it are what `sub` is built from, not claims.
 */
export const SCOPE_CLAIMS: Readonly<Record<string, string[]>> = Object.fromEntries([
  ['openid', ['sub']],
  ...Object.entries(DEFAULT_SCOPES)
    .filter(([scope]) => scope !== 'openid')
    .map(([scope, names]) => [scope, claimsOfScope(names)] as const)
    .filter(([, claims]) => claims.length > 0),
]);

/** Every scope a client may be configured with. */
export const SUPPORTED_SCOPES: readonly string[] = [...Object.keys(SCOPE_CLAIMS), 'offline_access'];

/**
 * The claims of released attributes under their OIDC names: single-valued claims as a string,
 * the others as JSON arrays even with one value (attributes.md §1). `email_verified` is true
 * exactly when the `email` value is also one of the voPersonVerifiedEmail values — the one
 * statement of verification fedgate passes on (case-insensitive, as mail systems treat them).
 */
export function claimsOf(attributes: Attributes): Record<string, string | string[] | boolean> {
  const claims: Record<string, string | string[] | boolean> = {};
  for (const definition of ATTRIBUTES) {
    const values = attributes[definition.name];
    if (!definition.claim || !values || values.length === 0) continue;
    claims[definition.claim] = definition.claimSingle ? (values[0] as string) : [...values];
  }
  const email = claims.email;
  if (typeof email === 'string') {
    const verified = (attributes.voPersonVerifiedEmail ?? []).map((v) => v.toLowerCase());
    claims[EMAIL_VERIFIED] = verified.includes(email.toLowerCase());
  }
  return claims;
}

const hmacHex = (salt: string, input: string) => createHmac('sha256', salt).update(input, 'utf8').digest('hex');

/**
 * The provider's account for an identity: the community ID when the pipeline released one
 * (voPersonID, or subject-id, which the community-id filter sets to the same value), else an
 * HMAC of the upstream issuer and subject under the identifier salt. Without the community-id
 * filter a transient upstream NameID therefore gives a new account on every login.
 */
export function accountIdOf(identity: Identity, salt: string): string {
  const community = identity.attributes.voPersonID?.[0] ?? identity.attributes['subject-id']?.[0];
  return community ?? hmacHex(salt, `oidc-account!${identity.issuer}!${identity.subject.id}`);
}

/** Pairwise `sub`: differs per sector (redirect host) and reveals nothing of the account. */
export function pairwiseSubject(salt: string, sectorIdentifier: string, accountId: string): string {
  return hmacHex(salt, `oidc-pairwise!${sectorIdentifier}!${accountId}`);
}
