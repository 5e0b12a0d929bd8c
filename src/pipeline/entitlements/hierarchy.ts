/**
 * Spec §2 rule 5: emitters spell out what a membership implies instead of relying on every
 * consumer to apply rules 1 and 2. Chosen form: a membership of `a:b` is emitted as `a` and
 * `a:b`; a role `a:b:role=admin` adds `a` and `a:b` (the role implies membership) and never
 * `a:role=admin` (roles are not inherited). EGI spells memberships as `role=member` instead of
 * plain values; `memberRole` reproduces that for consumers that check for it.
 */
import { equivalenceKey, type GroupEntitlement } from './urn.js';

/** The explicit values implied by holding `held`, `held` included. */
export function impliedBy(held: GroupEntitlement, memberRole?: string): GroupEntitlement[] {
  const memberships = held.path.map((_, i): GroupEntitlement => {
    const { role: _role, ...group } = held;
    return { ...group, path: held.path.slice(0, i + 1), ...(memberRole === undefined ? {} : { role: memberRole }) };
  });
  return held.role === undefined ? memberships : [...memberships, held];
}

/** Every value implied by `held`, once each (first occurrence wins, so its authority is kept). */
export function expandMemberships(held: readonly GroupEntitlement[], memberRole?: string): GroupEntitlement[] {
  const out = new Map<string, GroupEntitlement>();
  for (const value of held.flatMap((h) => impliedBy(h, memberRole))) {
    const key = equivalenceKey(value);
    if (!out.has(key)) out.set(key, value);
  }
  return [...out.values()];
}
