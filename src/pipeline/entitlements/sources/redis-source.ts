/**
 * Group memberships kept in fedgate's Store (Redis in any multi-instance deployment), one JSON
 * list of G069 values per user under `groups:<userKey>`, written through the admin API. The Store
 * keeps nothing without a TTL and its contract stays as it is: a membership list is stored for
 * ten years, which stands for "until deleted" (and each PUT starts the ten years again).
 */
import { GroupSourceUnavailableError } from '../../../core/errors.js';
import type { Store } from '../../../store/store.js';
import { equivalenceKey, parseEntitlement } from '../urn.js';
import { lookupKeys, type GroupMembership, type GroupSource, type UserKeys } from './source.js';

export const GROUPS_TTL_MS = 10 * 365 * 24 * 60 * 60 * 1000;

const storeKey = (userKey: string) => `groups:${userKey}`;

export class RedisGroupSource implements GroupSource {
  constructor(private readonly store: Store) {}

  async groupsFor(keys: UserKeys): Promise<GroupMembership[]> {
    const lists = await Promise.all(lookupKeys(keys).map((key) => this.read(key)));
    return lists.flatMap((list) => list ?? []);
  }

  /** The memberships filed under `userKey`, or null when there is no entry. */
  async read(userKey: string): Promise<GroupMembership[] | null> {
    const stored = await this.store.get(storeKey(userKey));
    if (stored === null) return null;
    const memberships = parseStored(stored);
    // Only the admin API writes here, after validating; anything else means the entry was damaged.
    if (!memberships) throw new GroupSourceUnavailableError(`the stored group list of ${userKey} is not a list of group URNs`);
    return memberships;
  }

  /** Replaces the list of `userKey`; returns the stored values (normalised, without repeats). */
  async write(userKey: string, memberships: readonly GroupMembership[]): Promise<string[]> {
    const values = [...new Set(memberships.map((m) => equivalenceKey(m)))];
    await this.store.set(storeKey(userKey), JSON.stringify(values), GROUPS_TTL_MS);
    return values;
  }

  async remove(userKey: string): Promise<void> {
    await this.store.delete(storeKey(userKey));
  }
}

function parseStored(stored: string): GroupMembership[] | undefined {
  let values: unknown;
  try {
    values = JSON.parse(stored);
  } catch {
    return undefined;
  }
  if (!Array.isArray(values)) return undefined;
  const memberships: GroupMembership[] = [];
  for (const value of values) {
    const parsed = typeof value === 'string' ? parseEntitlement(value) : undefined;
    if (!parsed?.ok || parsed.value.kind !== 'group') return undefined;
    memberships.push(parsed.value);
  }
  return memberships;
}
