/**
 * The community user ID (AARC-G026 voPersonID): persistent, never reassigned, opaque and scoped
 * with fedgate's own scope. It is an HMAC, under the deployment's identifier salt, of the upstream
 * and the best stable identifier it released, so it survives restarts, is the same on every
 * instance sharing the salt, and reveals nothing about the upstream identifier. Services also get
 * a pairwise-id of it, different for each service so they cannot correlate users.
 *
 * Runs after scope-check (whose IdP scopes fedgate's own scope would fail) and before the filters
 * that key on the community ID.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { NAMEID_FORMAT } from '../config/schema.js';
import { ConfigError, NoUsableIdentifierError } from '../core/errors.js';
import type { Attributes, Identity } from '../core/model.js';
import { defineFilter } from './filter.js';
import { EDUPERSON_PRINCIPAL_NAME, EDUPERSON_UNIQUE_ID, SUBJECT_ID, SUBJECT_ID_SCOPE } from './identifier-syntax.js';

/**
 * Upstream identifiers the ID can be derived from, in the default order of preference (spec §6 and
 * issue 4). The kind's name is part of the hashed input: renaming one changes every ID built on it.
 */
export const IDENTIFIER_KINDS = ['subject-id', 'eduPersonUniqueId', 'eduPersonPrincipalName', 'persistent-nameid', 'pairwise-id', 'oidc-sub'] as const;
type IdentifierKind = (typeof IDENTIFIER_KINDS)[number];

const EMITTABLE = ['voPersonID', 'eduPersonUniqueId', 'subject-id', 'pairwise-id'] as const;
const COMMUNITY_ID_ATTRIBUTES = ['voPersonID', 'eduPersonUniqueId', 'subject-id'] as const;

/** Identifiers the upstream targeted at fedgate: services must never see them (spec §4). */
const TARGETED_AT_FEDGATE = ['pairwise-id', 'eduPersonTargetedID'];

const EPPN_NO_REASSIGN = 'https://refeds.org/assurance/ID/eppn-unique-no-reassign';

/** A usable identifier (normalised), a reason why the one released is unusable, or nothing released. */
type Found = { value: string } | { unusable: string } | undefined;

/** A single-valued, case-insensitive identifier attribute, lowercased so case changes upstream do not change the ID. */
function caseInsensitiveAttribute(identity: Identity, name: string, grammar: RegExp): Found {
  const values = identity.attributes[name];
  if (!values || values.length === 0) return undefined;
  const distinct = [...new Set(values.map((v) => v.toLowerCase()))];
  const [value] = distinct;
  if (distinct.length > 1 || value === undefined) return { unusable: `${name} has ${distinct.length} different values` };
  if (!grammar.test(value)) return { unusable: `${name} does not have the syntax its definition requires` };
  return { value };
}

function defaultScope(baseUrl: string): string {
  const host = new URL(baseUrl).hostname;
  if (!SUBJECT_ID_SCOPE.test(host)) {
    throw new ConfigError([`pipeline: community-id needs the option scope, because the host of server.baseUrl (${host}) is not a valid subject-id scope`]);
  }
  return host;
}

export const communityId = defineFilter({
  name: 'community-id',
  description: 'Derive the persistent, opaque community user ID (voPersonID, eduPersonUniqueId, subject-id) and a per-service pairwise-id',
  options: z
    .object({
      scope: z
        .string()
        .regex(SUBJECT_ID_SCOPE, 'letters, digits, dots and dashes, starting with a letter or digit, at most 127 characters')
        .optional()
        .describe('Scope of the identifiers fedgate issues (publish it as shibmd:Scope); default: the host of server.baseUrl'),
      preference: z
        .array(z.enum(IDENTIFIER_KINDS))
        .min(1)
        .refine((kinds) => new Set(kinds).size === kinds.length, 'each kind at most once')
        .default([...IDENTIFIER_KINDS])
        .describe('Upstream identifiers the ID may be derived from, best first. Changing the order changes the ID of users whose upstream releases several'),
      eppnNonReassignable: z
        .union([z.boolean(), z.array(z.string().min(1))])
        .optional()
        .describe(
          `Whose eduPersonPrincipalName is never reassigned: true (every upstream), false (none), or a list of upstream ids. Default, and in addition to a list: upstreams that assert ${EPPN_NO_REASSIGN}`,
        ),
      emit: z
        .array(z.enum(EMITTABLE))
        .default([...EMITTABLE])
        .describe('Attributes set: voPersonID, eduPersonUniqueId and subject-id carry the community ID, pairwise-id its per-service form'),
    })
    .strict(),
  create: ({ scope, preference, eppnNonReassignable, emit }, services) => {
    const ownScope = (scope ?? defaultScope(services.baseUrl)).toLowerCase();
    const emitted = new Set<string>(emit);
    const hmacHex = (input: string) => createHmac('sha256', services.identifierSalt).update(input, 'utf8').digest('hex');

    const eppnNeverReassigned = (identity: Identity): boolean => {
      if (typeof eppnNonReassignable === 'boolean') return eppnNonReassignable;
      return eppnNonReassignable?.includes(identity.issuer) === true || identity.attributes.eduPersonAssurance?.includes(EPPN_NO_REASSIGN) === true;
    };

    const readers: Record<IdentifierKind, (identity: Identity) => Found> = {
      'subject-id': (identity) => caseInsensitiveAttribute(identity, 'subject-id', SUBJECT_ID),
      eduPersonUniqueId: (identity) => caseInsensitiveAttribute(identity, 'eduPersonUniqueId', EDUPERSON_UNIQUE_ID),
      eduPersonPrincipalName: (identity) => {
        const found = caseInsensitiveAttribute(identity, 'eduPersonPrincipalName', EDUPERSON_PRINCIPAL_NAME);
        if (found && 'value' in found && !eppnNeverReassigned(identity)) {
          return { unusable: 'eduPersonPrincipalName may be reassigned (see the option eppnNonReassignable)' };
        }
        return found;
      },
      'persistent-nameid': ({ protocol, subject }) => {
        if (protocol !== 'saml' || subject.format === undefined) return undefined;
        // Transient and other NameIDs change or can be reassigned; a persistent one is case-sensitive.
        if (subject.format !== NAMEID_FORMAT.persistent) return { unusable: `the NameID is ${subject.format}, not persistent` };
        return subject.id === '' ? undefined : { value: subject.id };
      },
      'pairwise-id': (identity) => caseInsensitiveAttribute(identity, 'pairwise-id', SUBJECT_ID),
      // OIDC sub is case-sensitive and unique only per issuer, which is part of the hashed input.
      'oidc-sub': ({ protocol, subject }) => (protocol === 'saml' || subject.id === '' ? undefined : { value: subject.id }),
    };

    return (identity, context) => {
      const unusable: string[] = [];
      let chosen: { kind: IdentifierKind; value: string } | undefined;
      for (const kind of preference) {
        const found = readers[kind](identity);
        if (found === undefined) continue;
        if ('unusable' in found) {
          unusable.push(found.unusable);
          context.explain(`not derived from ${kind}: ${found.unusable}`);
          continue;
        }
        chosen = { kind, value: found.value };
        break;
      }
      if (!chosen) {
        const why = unusable.length > 0 ? `; ${unusable.join('; ')}` : '';
        throw new NoUsableIdentifierError(`${identity.issuer} released none of ${preference.join(', ')} in usable form${why}`);
      }

      const id = `${hmacHex(`${identity.issuer}!${chosen.kind}!${chosen.value}`)}@${ownScope}`;
      const attributes: Attributes = { ...identity.attributes };
      for (const name of TARGETED_AT_FEDGATE) delete attributes[name];
      for (const name of COMMUNITY_ID_ATTRIBUTES) if (emitted.has(name)) attributes[name] = [id];
      if (emitted.has('pairwise-id')) attributes['pairwise-id'] = [`${hmacHex(`${id}!${context.service.id}`)}@${ownScope}`];
      context.explain(`community ID derived from the ${chosen.kind} released by ${identity.issuer}`);
      return { ...identity, attributes, communityId: id };
    };
  },
});
