/**
 * Liveness (/healthz: the process serves) and readiness (/readyz: the store answers within a
 * short time and every configured metadata source has a usable last good copy). A balancer takes
 * an unready instance out of rotation; an orchestrator restarts only a dead one.
 *
 * A metadata source whose last fetch failed is stale, not unready: its last good copy serves until
 * its validUntil. Both endpoints say so (/healthz in its details, /readyz beside its check), so a
 * monitor sees a federation feed that stopped answering long before logins would fail.
 */
import type { FastifyInstance } from 'fastify';
import type { SourceStatus } from '../metadata/entity-index.js';
import type { Store } from '../store/store.js';

export interface HealthOptions {
  store: Pick<Store, 'ping'>;
  /** The entity indexes of configured metadata (IdPs, SPs). */
  metadata: { status(): SourceStatus[] }[];
  storeTimeoutMs: number;
}

interface Check {
  ok: boolean;
  reason?: string;
}

async function storeCheck(store: Pick<Store, 'ping'>, timeoutMs: number): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to ping within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([store.ping(), timeout]);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

function metadataCheck(indexes: HealthOptions['metadata']): Check & { sources: number; stale: string[] } {
  const sources = indexes.flatMap((index) => index.status());
  const stale = sources.filter((s) => s.stale && !s.expired).map(describeStale);
  const unusable = sources.filter((s) => s.expired);
  if (unusable.length === 0) return { ok: true, sources: sources.length, stale };
  const describe = (s: SourceStatus) => `${s.source} (${s.loadedAt ? `expired at ${s.validUntil?.toISOString() ?? 'its validUntil'}` : 'never loaded'})`;
  return { ok: false, sources: sources.length, stale, reason: `no usable copy of ${unusable.map(describe).join(', ')}` };
}

function describeStale(s: SourceStatus): string {
  const copy = `${s.fromBackingCopy ? 'the backing copy saved' : 'the copy loaded'} at ${s.loadedAt?.toISOString() ?? '?'}`;
  return `${s.source}: last fetch failed (${s.lastError ?? 'unknown reason'}); serving ${copy}${s.validUntil ? `, valid until ${s.validUntil.toISOString()}` : ''}`;
}

export function registerHealth(app: FastifyInstance, options: HealthOptions): void {
  app.get('/healthz', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ status: 'ok', details: { metadata: options.metadata.flatMap((index) => index.status()) } }),
  );
  app.get('/readyz', async (_request, reply) => {
    const checks = { store: await storeCheck(options.store, options.storeTimeoutMs), metadata: metadataCheck(options.metadata) };
    const ready = checks.store.ok && checks.metadata.ok;
    return reply
      .code(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: ready ? 'ready' : 'unready', checks });
  });
}
