/**
 * The release policy, LAST in the pipeline: which attributes, and which of their values, may
 * leave towards the service. Default deny: a value leaves only when a permission covers it.
 *
 * Permissions, all configurable:
 *  - allow lists: `services.<id>.allow` for a service with its own entry, `default.allow` for every
 *    other one; an entry names an attribute (all values) or restricts its values with
 *    `startsWith` / `matches` (full-match regular expressions); `*` stands for every attribute
 *    except the identifiers, which leave only when named;
 *  - the service's entity categories (metadata, plus `services.<id>.entityCategories` for services
 *    whose registration cannot carry them): the R&S bundle, and the REFEDS Anonymous, Pseudonymous
 *    and Personalized bundles (refeds.md §4), of which the most privacy-preserving wins;
 *  - OIDC scopes of the request, through the `scopes` table.
 * The service's SAML RequestedAttribute list (when it has one and `honourRequestedAttributes`)
 * narrows the allow lists and the R&S bundle to what it asked for; it does not narrow the access
 * category bundles, for which REFEDS puts RequestedAttribute out of scope, nor scopes.
 */
import { z } from 'zod';
import { ATTRIBUTES, definitionOf } from '../core/attributes.js';
import type { Attributes } from '../core/model.js';
import type { ServiceRegistration } from '../core/registration.js';
import { defineFilter, type FilterContext } from './filter.js';
import { RANDS_BUNDLE, carriesResearchAndScholarship } from './rands.js';

/** Attributes that identify the user across logins or services: never covered by `*`. */
const IDENTIFIERS = new Set([
  'eduPersonPrincipalName',
  'eduPersonUniqueId',
  'eduPersonTargetedID',
  'subject-id',
  'pairwise-id',
  'voPersonID',
  'voPersonExternalID',
  'eduPersonOrcid',
]);

/**
 * REFEDS access categories, most privacy-preserving first. When a service carries several, the
 * first wins (an implementation choice of SUNET's pysaml2 rules that refeds.md recommends).
 * Anonymous and Pseudonymous also win over R&S: such a tag says the service wants no personal
 * data. Personalized and R&S are the same level (personal data) and both apply.
 */
export const ACCESS_CATEGORIES = [
  {
    uri: 'https://refeds.org/category/anonymous',
    label: 'Anonymous Access',
    personal: false,
    bundle: ['schacHomeOrganization', 'eduPersonScopedAffiliation'],
  },
  {
    uri: 'https://refeds.org/category/pseudonymous',
    label: 'Pseudonymous Access',
    personal: false,
    bundle: ['schacHomeOrganization', 'eduPersonScopedAffiliation', 'pairwise-id', 'eduPersonAssurance'],
  },
  {
    uri: 'https://refeds.org/category/personalized',
    label: 'Personalized Access',
    personal: true,
    bundle: ['schacHomeOrganization', 'eduPersonScopedAffiliation', 'subject-id', 'displayName', 'givenName', 'sn', 'mail', 'eduPersonAssurance'],
  },
] as const;

const PROFILE = ['displayName', 'givenName', 'sn', 'uid'];
const EMAIL = ['mail', 'voPersonVerifiedEmail'];

/**
 * What each OIDC scope lets out, after EGI Check-in's scope contents (attributes.md §2) plus the
 * one-claim scopes of the attribute table. `openid` covers the identifiers the OIDC frontend
 * builds `sub` from (public: subject-id, pairwise: pairwise-id).
 */
export const DEFAULT_SCOPES: Readonly<Record<string, readonly string[]>> = {
  openid: ['subject-id', 'pairwise-id'],
  profile: PROFILE,
  email: EMAIL,
  aarc: [...PROFILE, ...EMAIL, 'voPersonID'],
  voperson_id: ['voPersonID'],
  eduperson_entitlement: ['eduPersonEntitlement'],
  entitlements: ['eduPersonEntitlement'],
  eduperson_scoped_affiliation: ['eduPersonScopedAffiliation'],
  eduperson_assurance: ['eduPersonAssurance'],
  orcid: ['eduPersonOrcid'],
  ssh_public_key: ['sshPublicKey'],
  eduperson_unique_id: ['eduPersonUniqueId'],
  eduperson_principal_name: ['eduPersonPrincipalName'],
  voperson_external_affiliation: ['voPersonExternalAffiliation'],
  voperson_external_id: ['voPersonExternalID'],
  voperson_policy_agreement: ['voPersonPolicyAgreement'],
  schac_home_organization: ['schacHomeOrganization'],
};

const unknownAttribute = (name: string) => `unknown attribute "${name}" (known: ${ATTRIBUTES.map((a) => a.name).join(', ')})`;

const attributeName = z.string().superRefine((name, ctx) => {
  if (!definitionOf(name)) ctx.addIssue({ code: 'custom', message: unknownAttribute(name) });
});

/** An attribute name, or `*`: every attribute except identifiers. */
const allowedName = z.string().superRefine((name, ctx) => {
  if (name !== '*' && !definitionOf(name)) ctx.addIssue({ code: 'custom', message: unknownAttribute(name) });
});

const oneOrMore = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (typeof v === 'string' ? [v] : v));

function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'u');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Anchored: a pattern must match the whole value, so "vo1" never lets "vo10" out by accident. */
const fullMatches = oneOrMore
  .superRefine((patterns, ctx) => {
    for (const pattern of patterns) {
      const problem = regexProblem(pattern);
      if (problem) ctx.addIssue({ code: 'custom', message: `not a regular expression: ${pattern} (${problem})` });
    }
  })
  .transform((patterns) => patterns.map((p) => new RegExp(`^(?:${p})$`, 'u')));

const allowEntry = z.union([
  allowedName,
  z
    .object({
      attribute: attributeName,
      startsWith: oneOrMore.optional().describe('values starting with one of these strings'),
      matches: fullMatches.optional().describe('values matching one of these regular expressions as a whole'),
    })
    .strict()
    .refine((e) => e.startsWith || e.matches, 'give startsWith or matches, or name the attribute alone to allow every value'),
]);

const rule = z
  .object({
    allow: z.array(allowEntry).default([]).describe('Attributes (and values) that may leave'),
    entityCategories: z
      .array(z.string().min(1))
      .default([])
      .describe('Entity categories the service is treated as carrying besides those in its metadata (e.g. R&S for an OIDC client)'),
    honourRequestedAttributes: z.boolean().optional().describe('Overrides the top-level honourRequestedAttributes'),
  })
  .strict();

type RuleOptions = z.output<typeof rule>;

/** One reason a value may leave. */
interface Permission {
  /** Where it comes from, for explanations: "default.allow", "R&S bundle", "scope email". */
  source: string;
  /** Narrowed by the service's RequestedAttribute list. */
  narrowable: boolean;
  /** Absent: every value. */
  accepts?: (value: string) => boolean;
}

interface CompiledRule {
  label: string;
  byName: Map<string, Permission[]>;
  wildcard: Permission[];
  entityCategories: string[];
  honourRequestedAttributes: boolean;
}

function compileRule(options: RuleOptions, label: string, honourByDefault: boolean): CompiledRule {
  const byName = new Map<string, Permission[]>();
  const wildcard: Permission[] = [];
  const source = `${label}.allow`;
  for (const entry of options.allow) {
    if (entry === '*') {
      wildcard.push({ source: `${source} (*)`, narrowable: true });
      continue;
    }
    const name = typeof entry === 'string' ? entry : entry.attribute;
    const permission: Permission = { source, narrowable: true };
    if (typeof entry !== 'string') {
      const prefixes = entry.startsWith ?? [];
      const patterns = entry.matches ?? [];
      permission.accepts = (v) => prefixes.some((p) => v.startsWith(p)) || patterns.some((r) => r.test(v));
    }
    byName.set(name, [...(byName.get(name) ?? []), permission]);
  }
  return {
    label,
    byName,
    wildcard,
    entityCategories: options.entityCategories,
    honourRequestedAttributes: options.honourRequestedAttributes ?? honourByDefault,
  };
}

interface Bundle {
  source: string;
  names: readonly string[];
  narrowable: boolean;
}

/** The category bundles that apply to a service, and a note on any category that lost. */
function categoryBundles(categories: Set<string>): { bundles: Bundle[]; note?: string } {
  const access = ACCESS_CATEGORIES.filter((c) => categories.has(c.uri));
  const rands = carriesResearchAndScholarship(categories);
  const randsBundle: Bundle = { source: 'R&S bundle', names: RANDS_BUNDLE, narrowable: true };
  const [winner, ...losers] = access;
  if (!winner) return { bundles: rands ? [randsBundle] : [] };
  const bundles: Bundle[] = [{ source: `${winner.label} bundle`, names: winner.bundle, narrowable: false }];
  const lost: string[] = losers.map((c) => c.label);
  if (rands && winner.personal) bundles.push(randsBundle);
  else if (rands) lost.push('R&S');
  return lost.length > 0
    ? { bundles, note: `${winner.label} wins over ${lost.join(', ')}: the most privacy-preserving category applies` }
    : { bundles };
}

/** Scopes the OIDC frontend granted for this request, when it is an OIDC request. */
function requestScopes(frontendState: Record<string, unknown>): string[] | undefined {
  const scopes = frontendState.scopes;
  return Array.isArray(scopes) && scopes.every((s) => typeof s === 'string') ? scopes : undefined;
}

/** What the service asked for in its metadata; undefined when it asked for nothing (no narrowing). */
function requestedNames(service: ServiceRegistration): Set<string> | undefined {
  if (service.requestedAttributes.length === 0) return undefined;
  const names = new Set(service.requestedAttributes.map((a) => a.name));
  // SAML2int SDP-IDP15..17: the subject-id:req entity attribute asks for an identifier too.
  const requirement = service.subjectIdRequirement;
  if (requirement === 'subject-id' || requirement === 'any') names.add('subject-id');
  if (requirement === 'pairwise-id' || requirement === 'any') names.add('pairwise-id');
  return names;
}

const sourcesOf = (permissions: Permission[]) => [...new Set(permissions.map((p) => p.source))].join(', ');

function dropReason(name: string, narrowedAway: Permission[], requested: Set<string> | undefined, wildcard: boolean): string {
  if (narrowedAway.length > 0) return `allowed by ${sourcesOf(narrowedAway)}, but not among the RequestedAttributes in the service's metadata`;
  if (wildcard && IDENTIFIERS.has(name)) return 'an identifier: "*" does not cover identifiers, a rule must name it';
  if (requested?.has(name)) return 'requested by the service, but no rule allows it';
  if (requested) return 'not requested by the service and no rule allows it';
  return 'no rule allows it for this service';
}

export const releasePolicy = defineFilter({
  name: 'release-policy',
  description: 'Last in the chain: per service, which attributes and values may leave (default deny)',
  options: z
    .object({
      honourRequestedAttributes: z
        .boolean()
        .default(true)
        .describe('Release only what a SAML service lists as RequestedAttribute (when it lists any) out of its allow list and R&S bundle'),
      default: rule.prefault({}).describe('The rule of every service without an entry in `services`'),
      services: z.record(z.string().min(1), rule).default({}).describe('Rules by SP entityID or OIDC client_id; an entry replaces `default`'),
      scopes: z
        .record(z.string().min(1), z.array(attributeName))
        .default({})
        .describe('OIDC scope → attributes it lets out; merged over the built-in table (EGI-style: openid, profile, email, aarc, one-claim scopes); [] disables a scope'),
    })
    .strict(),
  create: (options) => {
    const defaultRule = compileRule(options.default, 'default', options.honourRequestedAttributes);
    const rules = new Map(
      Object.entries(options.services).map(([id, r]) => [id, compileRule(r, `services[${id}]`, options.honourRequestedAttributes)]),
    );
    const scopeTable: Record<string, readonly string[]> = { ...DEFAULT_SCOPES, ...options.scopes };

    return (identity, context) => {
      const { service } = context;
      const applied = rules.get(service.id) ?? defaultRule;
      const { bundles, note: categoryNote } = categoryBundles(new Set([...service.entityCategories, ...applied.entityCategories]));
      const scopes = requestScopes(context.request.frontendState);
      const requested = applied.honourRequestedAttributes ? requestedNames(service) : undefined;

      explainPolicy(context, applied, bundles.map((b) => b.source), requested, scopes, service);
      if (categoryNote) context.explain(categoryNote);

      const extra = new Map<string, Permission[]>();
      const grant = (name: string, permission: Permission) => extra.set(name, [...(extra.get(name) ?? []), permission]);
      for (const bundle of bundles) for (const name of bundle.names) grant(name, { source: bundle.source, narrowable: bundle.narrowable });
      for (const scope of scopes ?? []) {
        const names = Object.hasOwn(scopeTable, scope) ? scopeTable[scope] : undefined;
        if (!names) context.explain(`scope ${scope} lets no attribute out (not in the scopes table)`);
        else if (names.length === 0) context.explain(`scope ${scope} lets no attribute out (disabled in scopes)`);
        for (const name of names ?? []) grant(name, { source: `scope ${scope}`, narrowable: false });
      }

      const released: Attributes = {};
      for (const [name, values] of Object.entries(identity.attributes)) {
        const wildcard = IDENTIFIERS.has(name) ? [] : applied.wildcard;
        let permissions = [...(applied.byName.get(name) ?? []), ...wildcard, ...(extra.get(name) ?? [])];
        let narrowedAway: Permission[] = [];
        if (requested && !requested.has(name)) {
          narrowedAway = permissions.filter((p) => p.narrowable);
          permissions = permissions.filter((p) => !p.narrowable);
        }
        if (permissions.length === 0) {
          context.explain(`${name}: ${dropReason(name, narrowedAway, requested, applied.wildcard.length > 0)}`);
          continue;
        }
        const kept = values.filter((v) => permissions.some((p) => !p.accepts || p.accepts(v)));
        if (kept.length < values.length) {
          context.explain(`${name}: ${values.length - kept.length} of ${values.length} values match no value filter of ${sourcesOf(permissions)}`);
        }
        if (kept.length > 0) {
          released[name] = kept;
          context.explain(`${name}: released by ${sourcesOf(permissions)}`);
        }
      }
      return { ...identity, attributes: released };
    };
  },
});

/** One line saying which rule, categories, requested list and scopes decided this release. */
function explainPolicy(
  context: FilterContext,
  applied: CompiledRule,
  bundles: string[],
  requested: Set<string> | undefined,
  scopes: string[] | undefined,
  service: ServiceRegistration,
): void {
  const parts = [`rule ${applied.label}`];
  parts.push(bundles.length > 0 ? bundles.join(' + ') : 'no entity-category bundle');
  if (!applied.honourRequestedAttributes) parts.push('RequestedAttribute ignored (honourRequestedAttributes: false)');
  else if (requested) parts.push(`requested: ${[...requested].join(', ')}`);
  else if (service.protocol === 'saml') parts.push('the service requests no attributes in its metadata');
  if (scopes) parts.push(`scopes: ${scopes.join(' ') || '(none)'}`);
  context.explain(`policy: ${parts.join('; ')}`);
}
