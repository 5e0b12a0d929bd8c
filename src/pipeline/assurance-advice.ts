/**
 * The page text when a login falls short of a service's minimum: why (what the service needs, what
 * the login has) and what the user can do about it, built from the facts of this login so that it
 * names the step that would actually help.
 */
import type { UnmetCondition } from './assurance-acr.js';
import { describeAssurance, levelName, PROFILE_COMPONENTS, RAF, REFEDS_MFA } from './assurance-vocabulary.js';

export interface Shortfall {
  serviceName: string;
  upstreamName: string;
  social: boolean | undefined;
  /** Required level and the level this login has (undefined: none). */
  level?: { required: string; actual: string | undefined };
  /** Required assurance values this login lacks. */
  missing: string[];
  /** Final assurance values and whether the login counts as REFEDS MFA. */
  values: ReadonlySet<string>;
  mfa: boolean;
  /** Authentication contexts the upstream asserted, and those a trust entry would honour from it. */
  assertedContexts: readonly string[];
  honourable: ReadonlySet<string>;
  /** Upstream values dropped because the upstream is not trusted for them. */
  refused: ReadonlySet<string>;
  hasAffiliation: boolean;
  /** For each rule whose acr is enough: the rank of its level and the conditions this login does not meet. */
  levelRoutes: { rank: number; unmet: UnmetCondition[] }[];
}

const HOME_ACCOUNT = 'log in with the account of your home organisation (university or research institute) instead of a social account';
const ASK_SUPPORT = 'tell the service’s support';

const contextPhrase = (context: string) => (context === REFEDS_MFA ? 'multi-factor authentication' : `authentication of level “${levelName(context)}”`);

function contextAdvice(context: string, s: Shortfall): string {
  if (!s.honourable.has(context)) {
    return s.assertedContexts.includes(context)
      ? `${ASK_SUPPORT} that this login service does not accept ${contextPhrase(context)} from ${s.upstreamName}, although ${s.upstreamName} reported it`
      : `log in through another identity provider if you can (this login service does not accept ${contextPhrase(context)} from ${s.upstreamName}), or ${ASK_SUPPORT}`;
  }
  return context === REFEDS_MFA
    ? `log in with multi-factor authentication (for example an authenticator app or a security key); if ${s.upstreamName} does not offer it, ask its helpdesk`
    : `log in at ${s.upstreamName} with a method it reports as “${levelName(context)}”`;
}

/** One way to reach the level, or undefined when the user cannot act on it (e.g. a protocol condition). */
function routeAdvice(unmet: UnmetCondition[], s: Shortfall): string | undefined {
  const actionable = (u: UnmetCondition) =>
    (u.condition === 'social' && u.wanted === false) || (u.condition === 'trusted' && u.wanted === true) || u.condition === 'upstreamContext';
  if (unmet.length === 0 || !unmet.every(actionable)) return undefined;
  const context = unmet.find((u) => u.condition === 'upstreamContext')?.wanted as string | undefined;
  // A home organisation's IdP may well be trusted where a social provider is not.
  if (s.social || unmet.some((u) => u.condition === 'social')) return context ? `${HOME_ACCOUNT}, using ${contextPhrase(context)}` : HOME_ACCOUNT;
  if (context) return contextAdvice(context, s);
  return `log in through another identity provider if you can (this login service does not accept assurance statements from ${s.upstreamName}), or ${ASK_SUPPORT}`;
}

/** The ways to the lowest sufficient level the user can act on (not "get MFA" when a password login is enough). */
function levelAdvice(s: Shortfall): string | undefined {
  const routes = s.levelRoutes.flatMap(({ rank, unmet }) => {
    const advice = routeAdvice(unmet, s);
    return advice === undefined ? [] : [{ rank, advice }];
  });
  const lowest = Math.min(...routes.map((r) => r.rank));
  const distinct = [...new Set(routes.filter((r) => r.rank === lowest).map((r) => r.advice))];
  return distinct.length > 0 ? distinct.join('; or ') : undefined;
}

/** What is absent for each missing value: profiles by their components (and MFA for espresso). */
function absentParts(s: Shortfall): string[] {
  return [
    ...new Set(
      s.missing.flatMap((value) => {
        const components = PROFILE_COMPONENTS[value];
        if (!components) return [value];
        const parts = components.filter((c) => !s.values.has(c));
        return value === RAF.espresso && !s.mfa ? [...parts, REFEDS_MFA] : parts;
      }),
    ),
  ];
}

function partAdvice(part: string, s: Shortfall): string {
  const proofing = part === RAF.iapMedium || part === RAF.iapHigh;
  const affiliation = part === RAF.epa1m || part === RAF.epa1d;
  if (s.social && (proofing || affiliation || part === REFEDS_MFA)) return HOME_ACCOUNT;
  if (part === REFEDS_MFA) return contextAdvice(part, s);
  if (s.refused.has(part)) return `${ASK_SUPPORT} that this login service does not accept ${describeAssurance(part)} from ${s.upstreamName}, although ${s.upstreamName} vouched for it`;
  if (proofing) return `ask the helpdesk of ${s.upstreamName} how to have your identity verified at that level`;
  if (affiliation && !s.hasAffiliation) return `ask the helpdesk of ${s.upstreamName} to release your affiliation (e.g. staff or student) to this login service`;
  if (affiliation) return `log in again at ${s.upstreamName}: your current login is too old to confirm your affiliation`;
  return ASK_SUPPORT;
}

const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
const listed = (items: string[]) => (items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items.at(-1)}` : (items[0] ?? ''));

export function shortfallMessage(s: Shortfall): string {
  const why: string[] = [];
  const todo: string[] = [];
  if (s.level) {
    const has = s.level.actual === undefined ? 'no recognised level' : `level “${levelName(s.level.actual)}”`;
    why.push(`${s.serviceName} requires a login at level “${levelName(s.level.required)}”, and your login through ${s.upstreamName} has ${has}.`);
    todo.push(levelAdvice(s) ?? ASK_SUPPORT);
  }
  if (s.missing.length > 0) {
    const parts = absentParts(s);
    why.push(`${s.serviceName} requires ${listed(s.missing.map(describeAssurance))}; your login through ${s.upstreamName} lacks ${listed(parts.map(describeAssurance))}.`);
    todo.push(...parts.map((part) => partAdvice(part, s)));
  }
  const [first, ...more] = [...new Set(todo)];
  return [...why, ...(first === undefined ? [] : [`To continue, ${first}.`]), ...more.map(sentence)].join(' ');
}
