/**
 * A TTL as both stores understand it: a whole number of milliseconds, at least 1. Redis rejects
 * `PX 0` and fractions, so both stores round the same way and behave alike.
 */
export function wholeTtlMs(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`a store TTL must be a positive number of milliseconds, got ${ttlMs}`);
  }
  return Math.ceil(ttlMs);
}
