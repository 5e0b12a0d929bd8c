/**
 * Keeps only the scoped values the upstream may assert (spec/attributes.md §5, SAML2int SDP-SP17):
 * an IdP vouches for its own users only, and its verified metadata says which scopes are its own.
 * Runs before the filters that add fedgate's own scoped values (community-id), which carry
 * fedgate's scope rather than the IdP's.
 */
import { z } from 'zod';
import { ATTRIBUTES, definitionOf } from '../core/attributes.js';
import type { Attributes } from '../core/model.js';
import type { UpstreamRegistration } from '../core/registration.js';
import { defineFilter } from './filter.js';
import { isPlausibleScope, ScopeMatcher, scopeOf } from './scope-match.js';

const SCOPED_ATTRIBUTES = ATTRIBUTES.filter((a) => a.scoped || a.valueIsScope).map((a) => a.name);
const ANY_SCOPE = '*';

interface Allowance {
  allows(scope: string): boolean;
  /** For logs and explanations: where the allowed scopes come from. */
  describe: string;
}

export const scopeCheck = defineFilter({
  name: 'scope-check',
  description: 'Drop scoped values (ePPN, scoped affiliation, subject-id, …) whose scope the upstream may not assert',
  options: z
    .object({
      attributes: z
        .array(z.string().refine((name) => definitionOf(name) !== undefined, 'not an attribute in the attribute table'))
        .optional()
        .describe(`Attributes checked; default: ${SCOPED_ATTRIBUTES.join(', ')}`),
      honourRegexp: z
        .boolean()
        .default(true)
        .describe('Honour <shibmd:Scope regexp="true"> as an anchored, case-insensitive regular expression (false: such scopes allow nothing)'),
      trustedScopes: z
        .record(z.string().min(1), z.array(z.string().min(1)).min(1))
        .default({})
        .describe(
          'OIDC/OAuth2 issuer → scopes accepted from it ("*": any). Those upstreams publish no shibmd:Scope, so without an entry their scoped values are all dropped',
        ),
    })
    .strict(),
  create: ({ attributes, honourRegexp, trustedScopes }, services) => {
    const checked = attributes ?? SCOPED_ATTRIBUTES;
    const matcher = new ScopeMatcher({
      honourRegexp,
      onBadPattern: (pattern, problem) => services.log.warn({ pattern, problem }, 'regexp scope from metadata disabled'),
    });
    const trusted = new Map(Object.entries(trustedScopes).map(([issuer, scopes]) => [issuer, new Set(scopes.map((s) => s.toLowerCase()))]));

    const allowanceFor = (upstream: UpstreamRegistration | undefined): Allowance => {
      if (!upstream) return { allows: () => false, describe: 'an upstream that is no longer registered' };
      if (upstream.protocol === 'saml') {
        return { allows: (scope) => matcher.matches(scope, upstream.scopes), describe: `the shibmd:Scope of ${upstream.id}` };
      }
      // spec §5: an OP has no scope metadata, so its scoped values are only what configuration vouches for.
      const scopes = trusted.get(upstream.id);
      return {
        allows: (scope) => scopes !== undefined && isPlausibleScope(scope) && (scopes.has(ANY_SCOPE) || scopes.has(scope.toLowerCase())),
        describe: `trustedScopes for ${upstream.id}`,
      };
    };

    return (identity, context) => {
      const allowance = allowanceFor(context.upstream);
      let out: Attributes | undefined;
      for (const name of checked) {
        const values = identity.attributes[name];
        if (!values) continue;
        const wholeValue = definitionOf(name)?.valueIsScope === true;
        const kept: string[] = [];
        const droppedScopes: string[] = [];
        for (const value of values) {
          const scope = wholeValue ? value : scopeOf(value);
          if (scope !== undefined && allowance.allows(scope)) kept.push(value);
          else droppedScopes.push(scope ?? '(no scope)');
        }
        if (droppedScopes.length === 0) continue;
        out ??= { ...identity.attributes };
        if (kept.length > 0) out[name] = kept;
        else delete out[name];
        // The scopes, not the values: enough to find the misconfiguration without logging who logged in.
        context.log.warn({ upstream: identity.issuer, attribute: name, scopes: droppedScopes }, 'dropped scoped values the upstream may not assert');
        context.explain(`${name}: dropped ${droppedScopes.length} value(s) with scope ${droppedScopes.join(', ')}: not allowed by ${allowance.describe}`);
      }
      return out ? { ...identity, attributes: out } : identity;
    };
  },
});
