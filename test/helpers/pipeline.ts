/** What pipeline filter tests need besides the filter: services on a memory store, closed after the test. */
import { pino } from 'pino';
import type { Test } from 'tap';
import type { FilterServices } from '../../src/pipeline/filter.js';
import { MemoryStore } from '../../src/store/memory.js';

export function testFilterServices(t: Test, overrides: Partial<FilterServices> = {}): FilterServices {
  const services: FilterServices = {
    store: new MemoryStore(),
    identifierSalt: 'test-salt',
    baseUrl: 'https://proxy.example.org',
    log: pino({ level: 'silent' }),
    addRoutes: () => {},
    ...overrides,
  };
  t.teardown(() => services.store.close());
  return services;
}
