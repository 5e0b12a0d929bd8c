/**
 * Prometheus metrics on prom-client, in fedgate's own Registry (never the global one, so several
 * apps in one process, as in tests, do not collide). Metadata gauges are read from the entity
 * indexes at scrape time.
 *
 * Two latencies are measured, because they answer different questions:
 * - fedgate_login_duration_seconds: from the service's request reaching fedgate to fedgate's
 *   answer, across requests (the start time travels in the pending login). It includes the
 *   user's time on the discovery page and at the upstream, so it is the user's view, not
 *   fedgate's speed; across instances it relies on their clocks agreeing.
 * - fedgate_request_duration_seconds: fedgate's own time per request on a login or token
 *   endpoint, from the request's arrival to the last byte of the answer.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OperationsConfig } from '../config/schema.js';
import { AddressNotAllowedError, FedgateError, StoreUnavailableError } from '../core/errors.js';
import type { SourceStatus } from '../metadata/entity-index.js';
import type { Store } from '../store/store.js';
import type { EndpointKind, Endpoints } from './endpoints.js';

export type LoginOutcome = 'success' | 'failed' | 'denied';

export interface LoginLabels {
  frontend: string | undefined;
  backend: string | undefined;
}

/** An indexed set of metadata sources: the IdPs' or the SPs'. */
export interface MetadataSources {
  status(): SourceStatus[];
}

/** The error label: FedgateError codes are literals of their classes, so the label set stays bounded. */
export function errorCode(error: unknown): string {
  return error instanceof FedgateError ? error.code : 'internal';
}

export class Metrics {
  readonly registry = new Registry();
  private readonly logins = new Counter({
    name: 'fedgate_logins_total',
    help: 'Logins by frontend, backend and outcome; code is the error code of a failed or denied login ("" on success)',
    labelNames: ['frontend', 'backend', 'outcome', 'code'] as const,
    registers: [this.registry],
  });
  private readonly loginDuration = new Histogram({
    name: 'fedgate_login_duration_seconds',
    help: "From the service's request to fedgate's answer, including the user's time at discovery and upstream",
    labelNames: ['frontend', 'backend', 'outcome'] as const,
    buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900],
    registers: [this.registry],
  });
  private readonly requestDuration = new Histogram({
    name: 'fedgate_request_duration_seconds',
    help: "fedgate's own time per request on login and token endpoints",
    labelNames: ['endpoint'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly storeErrors = new Counter({
    name: 'fedgate_store_errors_total',
    help: 'Store operations that failed because the store (Redis) did not answer',
    registers: [this.registry],
  });
  private readonly rateLimited = new Counter({
    name: 'fedgate_rate_limited_total',
    help: 'Requests refused with 429 by a rate limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  login(labels: LoginLabels, outcome: LoginOutcome, code: string, durationSeconds: number | undefined): void {
    const frontend = labels.frontend ?? 'none';
    const backend = labels.backend ?? 'none';
    this.logins.inc({ frontend, backend, outcome, code });
    if (durationSeconds !== undefined) this.loginDuration.observe({ frontend, backend, outcome }, durationSeconds);
  }

  limited(limit: EndpointKind): void {
    this.rateLimited.inc({ limit });
  }

  /** Metadata age and entity counts per source, read at each scrape. */
  watchMetadata(indexes: Record<'idp' | 'sp', MetadataSources>): void {
    new Gauge({
      name: 'fedgate_metadata_age_seconds',
      help: 'Seconds since the last good load of a metadata source (absent: never loaded)',
      labelNames: ['role', 'source'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [role, index] of Object.entries(indexes)) {
          for (const s of index.status()) if (s.loadedAt) this.set({ role, source: s.source }, (Date.now() - s.loadedAt.getTime()) / 1000);
        }
      },
    });
    new Gauge({
      name: 'fedgate_metadata_stale',
      help: '1 while the last fetch of a metadata source failed and an older copy (last good or backing copy) serves',
      labelNames: ['role', 'source'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [role, index] of Object.entries(indexes)) {
          for (const s of index.status()) this.set({ role, source: s.source }, s.stale ? 1 : 0);
        }
      },
    });
    new Counter({
      name: 'fedgate_metadata_fetch_failures_total',
      help: 'Failed fetches of a metadata source (at start-up and on refresh) since the process started',
      labelNames: ['role', 'source'] as const,
      registers: [this.registry],
      collect() {
        // The indexes count; a counter only grows, and reset + inc re-reads their running totals.
        this.reset();
        for (const [role, index] of Object.entries(indexes)) {
          for (const s of index.status()) this.inc({ role, source: s.source }, s.failures);
        }
      },
    });
    new Gauge({
      name: 'fedgate_metadata_entities',
      help: 'Valid entities per metadata source',
      labelNames: ['role', 'source'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [role, index] of Object.entries(indexes)) {
          for (const s of index.status()) this.set({ role, source: s.source }, s.entities);
        }
      },
    });
  }

  /** The store, counting every StoreUnavailableError it throws. */
  instrumentStore(store: Store): Store {
    const count = async <T>(op: Promise<T>): Promise<T> => {
      try {
        return await op;
      } catch (err) {
        if (err instanceof StoreUnavailableError) this.storeErrors.inc();
        throw err;
      }
    };
    // Built on the store itself, so code asking which kind of store it got (instanceof) still learns it.
    const counted: Store = {
      set: (key, value, ttlMs) => count(store.set(key, value, ttlMs)),
      get: (key) => count(store.get(key)),
      setIfAbsent: (key, value, ttlMs) => count(store.setIfAbsent(key, value, ttlMs)),
      take: (key) => count(store.take(key)),
      addToSet: (key, member, ttlMs) => count(store.addToSet(key, member, ttlMs)),
      members: (key) => count(store.members(key)),
      delete: (key) => count(store.delete(key)),
      ping: () => count(store.ping()),
      close: () => store.close(),
    };
    return Object.assign(Object.create(store) as Store, counted);
  }

  /** Serves the metrics to allowed addresses, and times login and token endpoint requests. */
  register(app: FastifyInstance, config: OperationsConfig['metrics'], endpoints: Endpoints): void {
    const allowed = allowList(config.allow);
    app.get(config.path, async (req, reply) => {
      if (!isAllowed(allowed, req.ip)) throw new AddressNotAllowedError(`${req.ip} may not read ${config.path}`);
      return reply.header('cache-control', 'no-store').type(this.registry.contentType).send(await this.registry.metrics());
    });
    app.addHook('onRequest', async (req, reply) => {
      const endpoint = endpoints.classify(req);
      if (!endpoint) return;
      const start = process.hrtime.bigint();
      // On raw 'finish': the OIDC provider's mount hijacks its replies, which skips onResponse hooks.
      reply.raw.once('finish', () => {
        this.requestDuration.observe({ endpoint: endpoint.name }, Number(process.hrtime.bigint() - start) / 1e9);
      });
    });
  }
}

function allowList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

function isAllowed(list: BlockList, ip: string): boolean {
  // IPv4 clients of a dual-stack listener appear as ::ffff:a.b.c.d.
  const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  return isIPv4(v4) ? list.check(v4, 'ipv4') : isIPv6(v4) && list.check(v4, 'ipv6');
}
