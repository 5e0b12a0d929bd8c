/**
 * The NameIDs fedgate issues: transient ones are random per response; persistent ones are opaque,
 * stable per (user, SP) and different for every SP, so services cannot correlate users.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { NAMEID_FORMAT } from '../../config/schema.js';
import type { Identity } from '../../core/model.js';

export interface NameIdValue {
  value: string;
  format: string;
  nameQualifier?: string;
  spNameQualifier?: string;
}

/** Identifiers that name the person, most stable first, when the pipeline derived no community ID. */
const USER_KEY_ATTRIBUTES = ['voPersonID', 'subject-id', 'eduPersonUniqueId', 'eduPersonPrincipalName'];

/**
 * The stable key of the user behind `identity`, whatever upstream session it came from: the
 * community ID (not subject to release policy) when there is one, else what the upstream released.
 */
export function userKey(identity: Identity): string {
  if (identity.communityId) return identity.communityId;
  for (const name of USER_KEY_ATTRIBUTES) {
    const value = identity.attributes[name]?.find((v) => v !== '');
    if (value) return value;
  }
  return `${identity.issuer}!${identity.subject.id}`;
}

/** Lowercase hex HMAC-SHA256(salt, userKey + '!' + spEntityId). */
export function persistentId(salt: string, key: string, spEntityId: string): string {
  return createHmac('sha256', salt).update(`${key}!${spEntityId}`, 'utf8').digest('hex');
}

export function transientId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

export function nameIdFor(opts: {
  format: string;
  userKey: string;
  salt: string;
  idpEntityId: string;
  spEntityId: string;
}): NameIdValue {
  const value = opts.format === NAMEID_FORMAT.persistent ? persistentId(opts.salt, opts.userKey, opts.spEntityId) : transientId();
  return { value, format: opts.format, nameQualifier: opts.idpEntityId, spNameQualifier: opts.spEntityId };
}

const UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';

/** The format to issue for a NameIDPolicy Format, or undefined when the SP may not have it. */
export function chooseNameIdFormat(requested: string | undefined, allowed: string[]): string | undefined {
  if (requested === undefined || requested === UNSPECIFIED) return allowed[0];
  return allowed.includes(requested) ? requested : undefined;
}
