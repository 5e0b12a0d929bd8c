import type { StoreConfig } from '../config/schema.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { Store } from './store.js';

export type { Store } from './store.js';

/** The part of a pino-style logger the store reports its connection state to. */
export interface StoreLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** The Store the configuration asks for; never connects or throws here. */
export function createStore(config: StoreConfig, log?: StoreLog): Store {
  if (config.type === 'memory') return new MemoryStore();
  return new RedisStore(config, {
    onStateChange(state, reason) {
      if (state === 'down') log?.warn({ store: 'redis', reason }, 'Redis store unavailable; logins fail with 503 until it answers');
      else log?.info({ store: 'redis' }, 'Redis store connected');
    },
  });
}
