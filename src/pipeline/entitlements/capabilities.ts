/**
 * Static AARC-G027 capability grants: every holder of a group value (by the satisfaction rules
 * of spec §2, so a subgroup member gets its parents' grants and `vo:role=admin` grants only to
 * admins) receives the capabilities configured for it.
 */
import { satisfies, type Capability, type GroupEntitlement } from './urn.js';

export interface CapabilityGrant {
  requires: GroupEntitlement;
  capabilities: Capability[];
}

export function capabilitiesFor(held: readonly GroupEntitlement[], grants: readonly CapabilityGrant[]): Capability[] {
  return grants.filter((grant) => held.some((h) => satisfies(h, grant.requires))).flatMap((grant) => grant.capabilities);
}
