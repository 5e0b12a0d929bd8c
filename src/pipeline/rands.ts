/**
 * REFEDS Research & Scholarship (spec/refeds.md §3): for a service carrying the R&S entity
 * category (or configured as one), completes the person-name part of the bundle the way the
 * bundle allows ("displayName, or givenName + sn, either or both"). It only completes; which
 * attributes leave is the release policy's business, and it allows RANDS_BUNDLE for R&S services.
 */
import { z } from 'zod';
import type { Attributes } from '../core/model.js';
import type { ServiceRegistration } from '../core/registration.js';
import { defineFilter } from './filter.js';

/** Compared as exact strings (REFEDS' own URI is http, not https); InCommon's legacy one still appears. */
export const RANDS_CATEGORIES: readonly string[] = [
  'http://refeds.org/category/research-and-scholarship',
  'http://id.incommon.org/category/research-and-scholarship',
];

/**
 * What an R&S service may get: the v1.3 bundle (shared user identifier, person name, email,
 * affiliation) with the identifiers a proxy adds as "shared user identifier" (eduPersonUniqueId,
 * voPersonID, subject-id: non-targeted like ePPN) and eduPersonAssurance, as common deployments
 * release it. eduPersonTargetedID is left out on purpose: a proxy never forwards one (attributes.md §4).
 */
export const RANDS_BUNDLE: readonly string[] = [
  'eduPersonPrincipalName',
  'eduPersonUniqueId',
  'voPersonID',
  'subject-id',
  'mail',
  'displayName',
  'givenName',
  'sn',
  'eduPersonScopedAffiliation',
  'eduPersonAssurance',
];

export function carriesResearchAndScholarship(categories: Iterable<string>): boolean {
  for (const category of categories) if (RANDS_CATEGORIES.includes(category)) return true;
  return false;
}

const first = (values: string[] | undefined) => values?.map((v) => v.trim()).find((v) => v !== '');
const sameName = (a: string, b: string) => a.localeCompare(b, undefined, { sensitivity: 'accent' }) === 0;

/**
 * givenName and sn from a displayName, only when the split is unambiguous: exactly two
 * whitespace-separated words, no comma (which signals "Surname, Given") and no word ending in a
 * period (a title or an initial: "Dr. Smith", "J. Smith"). "Anna Maria Svensson" or
 * "van der Berg" are left alone: there is no telling where the given name ends.
 */
export function splitDisplayName(displayName: string): { givenName: string; sn: string } | undefined {
  if (displayName.includes(',')) return undefined;
  const words = displayName.trim().split(/\s+/);
  if (words.length !== 2 || words.some((w) => w.endsWith('.'))) return undefined;
  const [givenName, sn] = words as [string, string];
  return { givenName, sn };
}

export const rands = defineFilter({
  name: 'rands',
  description: 'REFEDS R&S: complete displayName / givenName + sn for R&S services (never invents mail)',
  options: z
    .object({
      services: z
        .array(z.string().min(1))
        .default([])
        .describe(
          'Services (SP entityID or client_id) treated as R&S although their metadata does not carry the category; ' +
            'give them the category in release-policy too (services.<id>.entityCategories) so the bundle may leave',
        ),
    })
    .strict(),
  create: ({ services }) => {
    const configured = new Set(services);
    const isRands = (service: ServiceRegistration) => configured.has(service.id) || carriesResearchAndScholarship(service.entityCategories);
    return (identity, context) => {
      if (!isRands(context.service)) {
        context.explain('not an R&S service (no R&S entity category, not in rands.services): nothing to prepare');
        return identity;
      }
      const attributes: Attributes = { ...identity.attributes };
      const given = first(attributes.givenName);
      const sn = first(attributes.sn);
      const display = first(attributes.displayName);

      if (!display && given && sn) {
        attributes.displayName = [`${given} ${sn}`];
        context.explain('displayName: from givenName + sn');
      } else if (!display) {
        context.explain(`displayName: not computed: the upstream released ${given ? 'no sn' : sn ? 'no givenName' : 'no name at all'}`);
      } else if (display && (!given || !sn)) {
        const split = splitDisplayName(display);
        if (!split) {
          context.explain(`${given ? 'sn' : sn ? 'givenName' : 'givenName, sn'}: not derived from displayName "${display}": not exactly two words without comma or title`);
        } else if ((given && !sameName(given, split.givenName)) || (sn && !sameName(sn, split.sn))) {
          context.explain(`${given ? 'sn' : 'givenName'}: not derived from displayName "${display}": it does not agree with the ${given ? 'givenName' : 'sn'} released`);
        } else {
          if (!given) {
            attributes.givenName = [split.givenName];
            context.explain('givenName: first word of displayName (two words, no comma)');
          }
          if (!sn) {
            attributes.sn = [split.sn];
            context.explain('sn: second word of displayName (two words, no comma)');
          }
        }
      }
      if (!first(attributes.mail)) context.explain('mail: none from the upstream; R&S asks for one, but fedgate never invents it');
      return { ...identity, attributes };
    };
  },
});
