/**
 * The one contract for everything that must survive between two HTTP requests: values with a
 * TTL, atomic set-if-absent (replay caches), atomic take (one-time codes, flow states) and sets
 * with atomic addition (indexes).
 * Implementations throw StoreUnavailableError when their backing service cannot be reached.
 */
export interface Store {
  /** Stores `value` under `key` for `ttlMs` milliseconds, replacing any value. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** The live value under `key`, or null. */
  get(key: string): Promise<string | null>;
  /** Stores only when `key` holds no live value; true when this call stored it. Atomic. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Returns and removes the live value in one atomic step: of concurrent takers exactly one gets it. */
  take(key: string): Promise<string | null>;
  /**
   * Adds `member` to the set under `key` in one atomic step, so concurrent additions are all kept
   * (an index of keys to clean up together). The set lives at least `ttlMs` from now: an addition
   * with a shorter TTL never shortens it. A key holds either a value or a set, never both.
   */
  addToSet(key: string, member: string, ttlMs: number): Promise<void>;
  /** The members of the live set under `key`, in no particular order; [] when there is none. */
  members(key: string): Promise<string[]>;
  /** Removes the value or set under `key`. */
  delete(key: string): Promise<void>;
  /** Resolves when the store answers; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
