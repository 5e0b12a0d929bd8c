import { performance } from 'node:perf_hooks';
import { StoreUnavailableError } from '../core/errors.js';
import type { Store } from './store.js';
import { wholeTtlMs } from './ttl.js';

interface Entry {
  /** A value, or a set (addToSet); Redis keeps the two apart by type the same way. */
  value: string | Set<string>;
  /** On the monotonic clock, so a wall-clock jump neither revives nor kills entries. */
  expiresAt: number;
}

export interface MemoryStoreOptions {
  /** How often expired entries are dropped; they are invisible from the moment they expire. */
  sweepIntervalMs?: number;
}

/**
 * The Store of a single fedgate process. Every operation completes synchronously inside one
 * call, so set-if-absent, take and addToSet are atomic without locks.
 */
export class MemoryStore implements Store {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    // The sweeper alone must not keep the process alive.
    this.sweeper.unref();
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.assertOpen();
    this.entries.set(key, { value, expiresAt: performance.now() + wholeTtlMs(ttlMs) });
  }

  async get(key: string): Promise<string | null> {
    this.assertOpen();
    return this.liveValue(key) ?? null;
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    this.assertOpen();
    const expiresAt = performance.now() + wholeTtlMs(ttlMs);
    if (this.live(key)) return false;
    this.entries.set(key, { value, expiresAt });
    return true;
  }

  async take(key: string): Promise<string | null> {
    this.assertOpen();
    const value = this.liveValue(key);
    this.entries.delete(key);
    return value ?? null;
  }

  async addToSet(key: string, member: string, ttlMs: number): Promise<void> {
    this.assertOpen();
    const expiresAt = performance.now() + wholeTtlMs(ttlMs);
    const entry = this.live(key);
    if (entry === undefined) {
      this.entries.set(key, { value: new Set([member]), expiresAt });
      return;
    }
    if (!(entry.value instanceof Set)) throw new TypeError(`${key} holds a value, not a set`);
    entry.value.add(member);
    entry.expiresAt = Math.max(entry.expiresAt, expiresAt);
  }

  async members(key: string): Promise<string[]> {
    this.assertOpen();
    const value = this.live(key)?.value;
    if (typeof value === 'string') throw new TypeError(`${key} holds a value, not a set`);
    return value ? [...value] : [];
  }

  async delete(key: string): Promise<void> {
    this.assertOpen();
    this.entries.delete(key);
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.entries.clear();
  }

  private liveValue(key: string): string | undefined {
    const value = this.live(key)?.value;
    if (value instanceof Set) throw new TypeError(`${key} holds a set, not a value`);
    return value;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= performance.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    const now = performance.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(key);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('the memory store is closed');
  }
}
