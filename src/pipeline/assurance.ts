/**
 * Assurance, with fedgate as the credential service provider towards services
 * (spec/assurance.md §5): eduPersonAssurance carries only upstream values a trust entry vouches
 * for plus what fedgate itself can vouch for, with the cumulative values and profiles computed,
 * never copied; the AuthnContextClassRef / acr comes from the configured rules; a service's minimum
 * level or assurance denies a login that falls short, with a page saying why and what to do.
 *
 * Runs after the community-id filter (ID/unique vouches for the identifier it sets) and before
 * the release policy.
 */
import { z } from 'zod';
import { AssuranceTooLowError } from '../core/errors.js';
import type { Attributes, Identity } from '../core/model.js';
import { pickLocalized } from '../http/language.js';
import { acrRuleSchema, chooseAcr, DEFAULT_ACR_RULES, LevelScale, unmetConditions, type AcrFacts } from './assurance-acr.js';
import { shortfallMessage } from './assurance-advice.js';
import { trustEntrySchema, trustOf, type UpstreamTrust } from './assurance-trust.js';
import {
  EGI_LOA,
  IMPLIED,
  NEVER_FROM_SOCIAL,
  PASSABLE_RAF_VALUES,
  PROFILE_COMPONENTS,
  RAF,
  RAF_PREFIX,
  RAF_VALUES,
  REFEDS_MFA,
  WRONG_SPELLINGS,
} from './assurance-vocabulary.js';
import { defineFilter, type FilterContext } from './filter.js';

const ASSURANCE = 'eduPersonAssurance';
const AFFILIATIONS = ['eduPersonAffiliation', 'eduPersonScopedAffiliation', 'eduPersonPrimaryAffiliation'];
const DAY_MS = 24 * 60 * 60 * 1000;

const minimumSchema = z
  .object({
    level: z.string().min(1).optional().describe('Lowest acceptable authentication level: one of `levels` or a key of `levelOf`'),
    assurance: z
      .array(z.string().min(1))
      .default([])
      .describe('Assurance values the login must carry, e.g. https://refeds.org/assurance/profile/cappuccino'),
  })
  .strict();

const optionsSchema = z
  .object({
    trust: z.array(trustEntrySchema).default([]).describe('Upstreams whose assurance statements fedgate passes on; all others are dropped'),
    mapWrongSpellings: z
      .boolean()
      .default(true)
      .describe('Read …/ID/no-eppn-reassign and …/ID/eppn-reassign-1y as the RAF values they misspell (never emitted either way)'),
    communityIdentifiers: z
      .array(z.string().min(1))
      .default(['voPersonID', 'subject-id'])
      .describe('Attributes the community-id filter sets; when one is present fedgate asserts ID/unique'),
    eppnNeverReassigned: z
      .boolean()
      .default(false)
      .describe('fedgate issues eduPersonPrincipalName values that are never reassigned: assert ID/eppn-unique-no-reassign'),
    affiliationFreshness: z
      .boolean()
      .default(true)
      .describe('Assert ATP/ePA-1d / ePA-1m when the upstream released affiliations in a login less than 1 / 31 days old'),
    acr: z
      .array(acrRuleSchema)
      .default(DEFAULT_ACR_RULES)
      .describe('First matching rule sets the AuthnContextClassRef / acr; none matching leaves it unspecified'),
    levels: z
      .array(z.string().min(1))
      .min(1)
      .default([EGI_LOA.low, EGI_LOA.substantial, EGI_LOA.high])
      .describe('Authentication levels, lowest first, for `minimum`'),
    levelOf: z
      .record(z.string().min(1), z.string().min(1))
      .default({ [REFEDS_MFA]: EGI_LOA.high })
      .describe('Other contexts and the level in `levels` each counts as'),
    minimum: z
      .record(z.string().min(1), minimumSchema)
      .default({})
      .describe('Per service id (SP entityID or client_id), or `default`: what a login must reach; `{}` exempts a service'),
  })
  .strict()
  .superRefine((options, ctx) => {
    if (new Set(options.levels).size !== options.levels.length) ctx.addIssue({ code: 'custom', path: ['levels'], message: 'levels must be distinct' });
    for (const [context, level] of Object.entries(options.levelOf)) {
      if (!options.levels.includes(level)) ctx.addIssue({ code: 'custom', path: ['levelOf', context], message: `"${level}" is not one of levels` });
    }
    const scale = new LevelScale(options.levels, options.levelOf);
    for (const [service, minimum] of Object.entries(options.minimum)) {
      if (minimum.level !== undefined && scale.rank(minimum.level) < 0) {
        ctx.addIssue({ code: 'custom', path: ['minimum', service, 'level'], message: `"${minimum.level}" is not one of levels or levelOf` });
      }
      minimum.assurance.forEach((value, i) => {
        if (value.startsWith(RAF_PREFIX) && !RAF_VALUES.includes(value)) {
          const fix = WRONG_SPELLINGS[value];
          ctx.addIssue({
            code: 'custom',
            path: ['minimum', service, 'assurance', i],
            message: `"${value}" is not a REFEDS RAF value, so no login ever carries it${fix ? ` (did you mean ${fix}?)` : ''}`,
          });
        }
      });
    }
  });

type Options = z.output<typeof optionsSchema>;

/** Why an upstream value does not pass, or undefined when it does. */
function refusal(value: string, trust: UpstreamTrust, social: boolean | undefined): string | undefined {
  if (PROFILE_COMPONENTS[value]) return 'profiles are computed from their components, never passed on';
  if ((PASSABLE_RAF_VALUES as readonly string[]).includes(value)) {
    if (!trust.raf.has(value)) return 'the upstream is not trusted to assert it';
    if (social && NEVER_FROM_SOCIAL.has(value)) return 'a social provider’s login never carries it';
    return undefined;
  }
  if (value.startsWith(RAF_PREFIX)) return 'not a REFEDS RAF value';
  return trust.otherPrefixes.some((prefix) => value.startsWith(prefix)) ? undefined : 'the upstream is not trusted for it';
}

const present = (attributes: Attributes, name: string) => (attributes[name] ?? []).length > 0;
const hasAffiliation = (identity: Identity) => AFFILIATIONS.some((name) => present(identity.attributes, name));

/**
 * ATP/ePA-* from the upstream's authentication instant (issue 4: "from the upstream authentication
 * freshness"). Reading: the upstream asserted the affiliation in the very login that fedgate is
 * still answering from (its SSO session may be days old), so what the service receives reflects
 * the organisation's state as of that instant: within 1 day → ePA-1d, within 31 days → ePA-1m.
 * RAF also asks the organisation's own directory to be that fresh; an operator who does not
 * want fedgate to vouch for it turns `affiliationFreshness` off.
 */
function affiliationFreshness(identity: Identity, now: number): string | undefined {
  const instant = Date.parse(identity.authn.instant);
  if (Number.isNaN(instant)) return undefined;
  const age = Math.max(0, now - instant);
  if (age <= DAY_MS) return RAF.epa1d;
  if (age <= 31 * DAY_MS) return RAF.epa1m;
  return undefined;
}

/** RAF values in their canonical order, then the others as they came. */
function ordered(values: ReadonlySet<string>): string[] {
  return [...RAF_VALUES.filter((v) => values.has(v)), ...[...values].filter((v) => !RAF_VALUES.includes(v))];
}

/** The upstream's values that pass (misspellings fixed when configured), and those refused. */
function passedUpstreamValues(options: Options, identity: Identity, context: FilterContext) {
  const social = context.upstream?.social;
  const asserted = (identity.attributes[ASSURANCE] ?? []).map((value) => {
    const fixed = options.mapWrongSpellings ? WRONG_SPELLINGS[value] : undefined;
    if (fixed) context.explain(`read misspelled ${value} as ${fixed}`);
    return fixed ?? value;
  });
  const trust = trustOf(context.upstream, new Set(asserted), options.trust);
  trust.notes.forEach((note) => context.explain(note));
  const values = new Set<string>();
  const refused = new Set<string>();
  for (const value of asserted) {
    const why = refusal(value, trust, social);
    if (why === undefined) values.add(value);
    else {
      refused.add(value);
      context.explain(`dropped upstream value ${value}: ${why}`);
    }
  }
  if (refused.size > 0) context.log.info({ upstream: identity.issuer, dropped: [...refused] }, 'dropped upstream assurance values');
  return { trust, values, refused };
}

/** Adds to `values` what fedgate itself vouches for (spec §5 rule 2), then the implied values and profiles. */
function vouchFor(values: Set<string>, options: Options, identity: Identity, context: FilterContext, mfa: boolean): void {
  const vouch = (value: string, why: string) => {
    if (!values.has(value)) context.explain(`added ${value}: ${why}`);
    values.add(value);
  };
  vouch(RAF.conformance, 'fedgate is the credential service provider towards services and follows RAF');
  // Issue 4 asks for IAP/low "for everyone"; spec §5 rule 2 ties it to a verified email. The issue is
  // the requirement: every login proves control of an account at an identity provider.
  vouch(RAF.iapLow, 'every identity fedgate issues');
  const communityId = options.communityIdentifiers.find((name) => present(identity.attributes, name));
  if (communityId) vouch(RAF.idUnique, `fedgate's ${communityId} is unique and never reassigned`);
  if (options.eppnNeverReassigned && present(identity.attributes, 'eduPersonPrincipalName')) {
    vouch(RAF.eppnUniqueNoReassign, 'fedgate is configured to issue never-reassigned eduPersonPrincipalNames');
  }
  if (options.affiliationFreshness && context.upstream?.social === false && hasAffiliation(identity)) {
    const fresh = affiliationFreshness(identity, Date.now());
    if (fresh) vouch(fresh, `the upstream released affiliations in a login at ${identity.authn.instant}`);
  }
  for (const value of [...values]) for (const implied of IMPLIED[value] ?? []) vouch(implied, `implied by ${value}`);
  for (const [profile, components] of Object.entries(PROFILE_COMPONENTS)) {
    if (!components.every((c) => values.has(c))) continue;
    // RAF 1.0: espresso's authentication must meet REFEDS MFA (spec §2; exact wording UNVERIFIED).
    if (profile === RAF.espresso && !mfa) context.explain(`${profile} components present, but this login is not REFEDS MFA from an upstream trusted for it`);
    else vouch(profile, 'all its components are present');
  }
}

function run(options: Options, scale: LevelScale, identity: Identity, context: FilterContext): Identity {
  const { trust, values, refused } = passedUpstreamValues(options, identity, context);
  const asserted = identity.authn.contextClassRefs;
  for (const ref of asserted) {
    if (!trust.authnContexts.has(ref)) context.explain(`upstream authentication context ${ref} not honoured: no trust entry lists it for this upstream`);
  }
  const facts: AcrFacts = {
    social: context.upstream?.social,
    protocol: identity.protocol,
    trusted: trust.trusted,
    contexts: new Set(asserted.filter((ref) => trust.authnContexts.has(ref))),
  };
  const mfa = facts.contexts.has(REFEDS_MFA);
  vouchFor(values, options, identity, context, mfa);

  const rule = chooseAcr(options.acr, facts);
  context.explain(rule ? `acr ${rule.acr} by rule ${JSON.stringify(rule.when)}` : 'no acr rule matched: authentication context left unspecified');
  const acr = rule?.acr;

  const { service, upstream } = context;
  const minimum = Object.hasOwn(options.minimum, service.id) ? options.minimum[service.id] : options.minimum.default;
  const required = minimum?.level;
  const level = required !== undefined && scale.rank(acr) < scale.rank(required) ? { required, actual: acr } : undefined;
  const missing = (minimum?.assurance ?? []).filter((value) => !values.has(value));
  if (level || missing.length > 0) {
    const reason =
      `${service.id} requires` +
      (level ? ` level ${level.required} (login has ${acr ?? 'none'})` : '') +
      (missing.length > 0 ? ` assurance ${missing.join(' ')} (login has ${ordered(values).join(' ')})` : '') +
      `; upstream ${identity.issuer}`;
    const message = shortfallMessage({
      serviceName: context.request.requesterName ?? pickLocalized(service.name, []) ?? service.id,
      upstreamName: (upstream && pickLocalized(upstream.displayName, [])) ?? identity.issuer,
      social: upstream?.social,
      ...(level ? { level } : {}),
      missing,
      values,
      mfa,
      assertedContexts: asserted,
      honourable: trust.authnContexts,
      refused,
      hasAffiliation: hasAffiliation(identity),
      levelRoutes: level
        ? options.acr.filter((r) => scale.rank(r.acr) >= scale.rank(level.required)).map((r) => ({ rank: scale.rank(r.acr), unmet: unmetConditions(r, facts) }))
        : [],
    });
    throw new AssuranceTooLowError(reason, message);
  }
  return {
    ...identity,
    attributes: { ...identity.attributes, [ASSURANCE]: ordered(values) },
    authn: { ...identity.authn, contextClassRefs: acr === undefined ? [] : [acr] },
  };
}

export const assurance = defineFilter({
  name: 'assurance',
  description: 'eduPersonAssurance from trusted upstreams plus fedgate’s own RAF values and profiles, the AuthnContextClassRef / acr, per-service minimums',
  options: optionsSchema,
  create: (options) => {
    const scale = new LevelScale(options.levels, options.levelOf);
    return (identity, context) => run(options, scale, identity, context);
  },
});
