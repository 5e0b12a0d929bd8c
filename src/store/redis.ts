import { Cluster, Redis } from 'ioredis';
import type { StoreConfig } from '../config/schema.js';
import { StoreUnavailableError } from '../core/errors.js';
import type { Store } from './store.js';
import { wholeTtlMs } from './ttl.js';

export type RedisStoreConfig = Extract<StoreConfig, { type: 'redis' }>;

export type StoreState = 'up' | 'down';

export interface RedisStoreOptions {
  /**
   * Told once when Redis stops answering (with the reason) and once when it answers again, so an
   * outage makes two log lines rather than one per reconnection attempt.
   */
  onStateChange?(state: StoreState, reason?: string): void;
}

/**
 * SADD and a TTL that only ever grows, in one step: MULTI cannot make PEXPIRE conditional without
 * Redis 7's GT/NX flags, and fedgate supports Redis from 6.2 (GETDEL).
 */
const ADD_TO_SET_SCRIPT = `redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

type ScriptedClient = (Redis | Cluster) & { fedgateAddToSet(key: string, member: string, ttlMs: number): Promise<number> };

/** Reconnection never gives up, so the store heals by itself once Redis is back. */
function reconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** (attempt - 1), 2000);
}

/** A password from configuration overrides one written in the URL (ioredis prefers the URL's). */
function urlWithoutPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  return parsed.toString();
}

function createClient(config: RedisStoreConfig): ScriptedClient {
  const client = connectClient(config);
  client.defineCommand('fedgateAddToSet', { numberOfKeys: 1, lua: ADD_TO_SET_SCRIPT });
  return client as ScriptedClient;
}

function connectClient(config: RedisStoreConfig): Redis | Cluster {
  // Requests must fail fast while Redis is away instead of queueing without bound: no offline
  // queue, at most one resend of a command caught by a disconnect, and a deadline per command.
  const failFast = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.commandTimeoutMs,
    connectTimeout: config.commandTimeoutMs,
  };
  if (config.cluster) {
    const { enableOfflineQueue, ...nodeOptions } = failFast;
    return new Cluster(config.cluster, {
      keyPrefix: config.keyPrefix,
      lazyConnect: true,
      enableOfflineQueue,
      clusterRetryStrategy: reconnectDelayMs,
      redisOptions: { ...nodeOptions, password: config.password },
    });
  }
  const options = {
    ...failFast,
    keyPrefix: config.keyPrefix,
    lazyConnect: true,
    retryStrategy: reconnectDelayMs,
    password: config.password,
  };
  if (config.sentinels) {
    return new Redis({
      ...options,
      sentinels: config.sentinels,
      name: config.sentinelName,
      sentinelRetryStrategy: reconnectDelayMs,
    });
  }
  return new Redis(config.password === undefined ? config.url : urlWithoutPassword(config.url), options);
}

/**
 * The Store on Redis (standalone, Sentinel or Cluster), shared by every fedgate instance.
 * SET … PX [NX] and GETDEL are single atomic commands and addToSet is one script, so set-if-absent,
 * take and addToSet are atomic across instances. Connects on first use.
 */
export class RedisStore implements Store {
  private readonly client: ScriptedClient;
  private readonly commandTimeoutMs: number;
  private readonly onStateChange: RedisStoreOptions['onStateChange'];
  private state: StoreState | 'unknown' = 'unknown';
  private downReason = 'not connected yet';
  private readyWait: Promise<void> | undefined;
  private closed = false;

  constructor(config: RedisStoreConfig, options: RedisStoreOptions = {}) {
    this.commandTimeoutMs = config.commandTimeoutMs;
    this.onStateChange = options.onStateChange;
    this.client = createClient(config);
    // The listener also keeps ioredis from raising unhandled 'error' events during an outage.
    this.client.on('error', (err: Error) => this.markDown(err.message));
    this.client.on('close', () => this.markDown('connection to Redis closed'));
    this.client.on('ready', () => this.markUp());
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    const ttl = wholeTtlMs(ttlMs);
    await this.run('SET', () => this.client.set(key, value, 'PX', ttl));
  }

  async get(key: string): Promise<string | null> {
    return this.run('GET', () => this.client.get(key));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const ttl = wholeTtlMs(ttlMs);
    const reply = await this.run('SET NX', () => this.client.set(key, value, 'PX', ttl, 'NX'));
    return reply === 'OK';
  }

  async take(key: string): Promise<string | null> {
    return this.run('GETDEL', () => this.client.getdel(key));
  }

  async addToSet(key: string, member: string, ttlMs: number): Promise<void> {
    const ttl = wholeTtlMs(ttlMs);
    await this.run('SADD', () => this.client.fedgateAddToSet(key, member, ttl));
  }

  async members(key: string): Promise<string[]> {
    return this.run('SMEMBERS', () => this.client.smembers(key));
  }

  async delete(key: string): Promise<void> {
    await this.run('DEL', () => this.client.del(key));
  }

  async ping(): Promise<void> {
    await this.run('PING', () => this.client.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => this.client.disconnect());
    } else {
      // Also cancels a pending reconnection attempt.
      this.client.disconnect();
    }
  }

  private async run<T>(command: string, send: () => Promise<T>): Promise<T> {
    await this.connected();
    try {
      return await send();
    } catch (err) {
      throw new StoreUnavailableError(`Redis ${command} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Resolves once commands can be sent; fails at once while an outage is known. */
  private async connected(): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('the Redis store is closed');
    if (this.client.status === 'ready') return;
    if (this.state === 'down') throw new StoreUnavailableError(`Redis is unreachable: ${this.downReason}`);
    this.readyWait ??= this.waitUntilReady().finally(() => {
      this.readyWait = undefined;
    });
    return this.readyWait;
  }

  private waitUntilReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (reason?: string) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        this.client.off('error', onError);
        this.client.off('end', onEnd);
        if (reason === undefined) resolve();
        else reject(new StoreUnavailableError(`Redis is unreachable: ${reason}`));
      };
      const onReady = () => settle();
      const onError = (err: Error) => settle(err.message);
      const onEnd = () => settle('connection ended');
      const timer = setTimeout(() => {
        const reason = `no connection within ${this.commandTimeoutMs} ms`;
        // Later requests then fail at once instead of each waiting this long, until 'ready'.
        this.markDown(reason);
        settle(reason);
      }, this.commandTimeoutMs);
      this.client.once('ready', onReady);
      this.client.once('error', onError);
      this.client.once('end', onEnd);
      // A failed attempt is reported as an 'error' event and retried by the client itself.
      if (this.client.status === 'wait') this.client.connect().catch(() => {});
    });
  }

  private markDown(reason: string): void {
    if (this.closed || this.client.status === 'ready') return;
    this.downReason = reason;
    if (this.state === 'down') return;
    this.state = 'down';
    this.onStateChange?.('down', reason);
  }

  private markUp(): void {
    if (this.closed || this.state === 'up') return;
    this.state = 'up';
    this.onStateChange?.('up');
  }
}
