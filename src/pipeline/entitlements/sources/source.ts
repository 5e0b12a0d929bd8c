/**
 * Where fedgate's own group memberships come from. A source answers for one user, known by
 * community ID and/or eppn; new kinds (an HTTP or SCIM service) implement the same interface.
 */
import type { GroupEntitlement } from '../urn.js';

export interface UserKeys {
  /** The community identifier (voPersonID) set by an earlier filter. */
  communityId?: string;
  /** eduPersonPrincipalName as the upstream released it. */
  eppn?: string;
}

/** A membership, with an optional role, in any namespace; its authority is chosen by the filter. */
export type GroupMembership = GroupEntitlement;

export interface GroupSource {
  /** Memberships filed under either key (their union). Throws when the source cannot answer. */
  groupsFor(keys: UserKeys): Promise<GroupMembership[]>;
}

/** The keys to look a user up by, in order, without repeats. */
export function lookupKeys(keys: UserKeys): string[] {
  return [...new Set([keys.communityId, keys.eppn].filter((k): k is string => k !== undefined && k !== ''))];
}
