/**
 * The one contract for everything that must survive between two HTTP requests: values with a
 * TTL, atomic set-if-absent (replay caches) and atomic take (one-time codes, flow states).
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
  delete(key: string): Promise<void>;
  /** Resolves when the store answers; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
