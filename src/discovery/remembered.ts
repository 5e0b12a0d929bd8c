/**
 * The user's last choices, most recent first, in one cookie of this browser. The cookie holds
 * only upstream ids; what is shown of them is looked up among the current upstreams, so an id
 * that is no longer known (or that a service may not use) is simply not offered.
 */

const MAX_ID_LENGTH = 1024;

/** The ids in a cookie value; anything unreadable counts as nothing remembered. */
export function readRemembered(value: string | undefined, max: number): string[] {
  if (!value) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const ids = parsed.filter((id): id is string => typeof id === 'string' && id !== '' && id.length <= MAX_ID_LENGTH);
  return [...new Set(ids)].slice(0, max);
}

/** The cookie value after choosing `id`: it comes first, older choices follow, at most `max`. */
export function rememberChoice(previous: string[], id: string, max: number): string {
  return JSON.stringify([id, ...previous.filter((p) => p !== id)].slice(0, max));
}
