/** What pipeline filter tests need besides the filter: services on a memory store, closed after the test. */
import { pino } from 'pino';
import type { Test } from 'tap';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
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

/** The configuration problems of one pipeline entry `{ filter, ...options }` (empty when it is valid). */
export function filterOptionProblems(filter: string, options: Record<string, unknown>): string[] {
  try {
    parseConfig({ pipeline: [{ filter, ...options }] });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
