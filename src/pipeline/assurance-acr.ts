/**
 * The authentication context fedgate asserts downstream (SAML AuthnContextClassRef, OIDC acr): the
 * first configured rule whose conditions hold for this login, and the order of levels used to
 * compare it with what a service requires.
 */
import { z } from 'zod';
import type { Identity } from '../core/model.js';
import { EGI_LOA, REFEDS_MFA } from './assurance-vocabulary.js';

export const acrRuleSchema = z
  .object({
    when: z
      .object({
        social: z.boolean().optional().describe('The upstream is (true) or is not (false) a social provider'),
        protocol: z.enum(['saml', 'oidc', 'oauth2']).optional().describe('Protocol of the upstream'),
        trusted: z.boolean().optional().describe('Some `trust` entry matches the upstream'),
        upstreamContext: z
          .string()
          .min(1)
          .optional()
          .describe('The upstream asserted this AuthnContextClassRef / acr, and a matching `trust` entry lists it in authnContexts'),
      })
      .strict()
      .default({})
      .describe('Conditions that must all hold; none means always'),
    acr: z.string().min(1).describe('The AuthnContextClassRef / acr fedgate then asserts'),
  })
  .strict();

export type AcrRule = z.output<typeof acrRuleSchema>;
export interface UnmetCondition {
  condition: keyof AcrRule['when'];
  wanted: string | boolean;
}

/** EGI Check-in's mapping (spec/assurance.md §6): trusted REFEDS MFA, social → Low, home IdP → Substantial. */
export const DEFAULT_ACR_RULES: AcrRule[] = [
  { when: { upstreamContext: REFEDS_MFA, trusted: true }, acr: REFEDS_MFA },
  { when: { social: true }, acr: EGI_LOA.low },
  { when: { social: false }, acr: EGI_LOA.substantial },
];

export interface AcrFacts {
  /** Undefined when the upstream is no longer configured: then neither `social` condition holds. */
  social: boolean | undefined;
  protocol: Identity['protocol'];
  trusted: boolean;
  /** The upstream's contexts that a trust entry honours; the others count as not asserted (§5 rule 3). */
  contexts: ReadonlySet<string>;
}

/** The conditions of `rule` this login does not meet, with the value each wanted. */
export function unmetConditions(rule: AcrRule, facts: AcrFacts): UnmetCondition[] {
  const unmet: UnmetCondition[] = [];
  const { social, protocol, trusted, upstreamContext } = rule.when;
  if (social !== undefined && facts.social !== social) unmet.push({ condition: 'social', wanted: social });
  if (protocol !== undefined && facts.protocol !== protocol) unmet.push({ condition: 'protocol', wanted: protocol });
  if (trusted !== undefined && facts.trusted !== trusted) unmet.push({ condition: 'trusted', wanted: trusted });
  if (upstreamContext !== undefined && !facts.contexts.has(upstreamContext)) unmet.push({ condition: 'upstreamContext', wanted: upstreamContext });
  return unmet;
}

export function chooseAcr(rules: readonly AcrRule[], facts: AcrFacts): AcrRule | undefined {
  return rules.find((rule) => unmetConditions(rule, facts).length === 0);
}

/** Orders authentication contexts: position in `levels`, or that of the level `levelOf` maps it to. */
export class LevelScale {
  constructor(
    private readonly levels: readonly string[],
    private readonly levelOf: Readonly<Record<string, string>>,
  ) {}

  /** -1 for a context that counts as no level (below every requirement). */
  rank(context: string | undefined): number {
    if (context === undefined) return -1;
    const direct = this.levels.indexOf(context);
    if (direct >= 0) return direct;
    const mapped = Object.hasOwn(this.levelOf, context) ? this.levelOf[context] : undefined;
    return mapped === undefined ? -1 : this.levels.indexOf(mapped);
  }
}
