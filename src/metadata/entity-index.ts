/**
 * All entities fedgate knows, from every configured metadata source, by entityID. A URL source is
 * refreshed in the background; its records are replaced only by a fully verified newer copy, so a
 * failed refresh keeps the last good one (until its entities' validUntil passes).
 */
import type { MdqSourceConfig, MetadataSourceConfig } from '../config/schema.js';
import { MdqClient } from './mdq.js';
import { isUrlSource, loadMetadataSource, trustedSigner, type LoadOptions, type SourceCache } from './source.js';
import type { EntityRecord } from './types.js';
import { isExpired, VALIDITY_SKEW_MS } from './validity.js';

export type EntityIndexOptions = Pick<LoadOptions, 'fetch' | 'log' | 'largeDocumentBytes' | 'xmlsec'>;

/** One configured source as readiness checks and metrics see it. */
export interface SourceStatus {
  source: string;
  /** When its last verified copy was loaded (a 304 on refresh counts); undefined when none was. */
  loadedAt?: Date;
  /** When its last entity stops being valid; undefined when some entity has no validUntil. */
  validUntil?: Date;
  /** Entities still valid. */
  entities: number;
  /** No usable copy: never loaded, or every entity it had is past its validUntil (plus skew). */
  expired: boolean;
}

/** Never refresh more often than this, whatever a document's cacheDuration says. */
const MIN_CACHE_DURATION_MS = 60_000;

export class EntityIndex {
  /** Records per source, in load order: on a duplicate entityID the earlier source wins. */
  private readonly bySource = new Map<string, EntityRecord[]>();
  private readonly caches = new Map<MetadataSourceConfig, SourceCache>();
  private readonly loadedAt = new Map<string, Date>();
  private byId = new Map<string, EntityRecord>();
  private readonly mdq: MdqClient[] = [];
  /** Entities found through MDQ, so later synchronous get() calls see them while they are valid. */
  private readonly resolved = new Map<string, EntityRecord>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = false;
  private version = 0;
  /** When (epoch ms, skew included) the first entity all() lists stops being valid. */
  private nextExpiry = Infinity;

  private constructor(
    private readonly sources: MetadataSourceConfig[],
    private readonly opts: EntityIndexOptions,
  ) {}

  /** Loads every source; any failure here is fatal (a start must not go ahead with missing trust). */
  static async load(allSources: (MetadataSourceConfig | MdqSourceConfig)[], opts: EntityIndexOptions): Promise<EntityIndex> {
    const sources = allSources.filter((s): s is MetadataSourceConfig => 'metadata' in s);
    const index = new EntityIndex(sources, opts);
    for (const src of allSources) {
      if (!('mdq' in src)) continue;
      const trusted = (await trustedSigner(src))!;
      index.mdq.push(new MdqClient(src, { trusted, log: opts.log, ...(opts.fetch ? { fetch: opts.fetch } : {}) }));
    }
    for (const src of sources) {
      const cache: SourceCache = {};
      index.caches.set(src, cache);
      index.bySource.set(src.metadata, await loadMetadataSource(src, { ...opts, cache }));
      index.loadedAt.set(src.metadata, new Date());
    }
    index.rebuild();
    return index;
  }

  get(entityId: string): EntityRecord | undefined {
    const record = this.byId.get(entityId) ?? this.resolved.get(entityId);
    return record && !isExpired(record.validUntil, new Date()) ? record : undefined;
  }

  /**
   * get(), falling back to the configured MDQ services in order. Asynchronous, so callers that may
   * meet an entity only MDQ knows use this; afterwards get() finds it too.
   */
  async resolve(entityId: string): Promise<EntityRecord | undefined> {
    const known = this.byId.get(entityId);
    if (known) return isExpired(known.validUntil, new Date()) ? undefined : known;
    for (const client of this.mdq) {
      const record = await client.lookup(entityId);
      if (record) {
        this.resolved.set(entityId, record);
        return record;
      }
    }
    this.resolved.delete(entityId);
    return undefined;
  }

  all(): EntityRecord[] {
    const now = new Date();
    return [...this.byId.values()].filter((r) => !isExpired(r.validUntil, now));
  }

  /**
   * Changes whenever all() may answer differently: a load, a refresh, added records, or an
   * entity's validUntil passing. Cheap, so callers can ask it on every request and rebuild what
   * they derive from the entities (lists, search indexes) only when it changed.
   */
  generation(now = Date.now()): number {
    if (now > this.nextExpiry) this.changed(now);
    return this.version;
  }

  idps(): EntityRecord[] {
    return this.all().filter((r) => r.idp);
  }

  sps(): EntityRecord[] {
    return this.all().filter((r) => r.sp);
  }

  /** Every configured source (not addRecords ones) with its last good load. */
  status(now = new Date()): SourceStatus[] {
    return this.sources.map((src) => {
      const records = this.bySource.get(src.metadata) ?? [];
      const loadedAt = this.loadedAt.get(src.metadata);
      const valid = records.filter((r) => !isExpired(r.validUntil, now)).length;
      const validUntil = records.every((r) => r.validUntil)
        ? records.reduce<Date | undefined>((max, r) => (max && max >= r.validUntil! ? max : r.validUntil), undefined)
        : undefined;
      return {
        source: src.metadata,
        ...(loadedAt ? { loadedAt } : {}),
        ...(validUntil ? { validUntil } : {}),
        entities: valid,
        expired: !loadedAt || (records.length > 0 && valid === 0),
      };
    });
  }

  /** Registers (or replaces) the records of a source that is not configured metadata, such as the demo's own entities. */
  addRecords(source: string, records: EntityRecord[]): void {
    this.bySource.set(source, records);
    this.rebuild();
  }

  /** Loads every URL source again now; a failure keeps that source's last good records. */
  async refresh(): Promise<void> {
    await Promise.all(this.sources.filter(isUrlSource).map((src) => this.refreshSource(src)));
  }

  /** Refreshes each URL source on its own timer, every refreshSeconds (sooner if its cacheDuration says so). */
  startRefresh(): void {
    if (this.running) return;
    this.running = true;
    for (const src of this.sources.filter(isUrlSource)) this.schedule(src);
  }

  stop(): void {
    this.running = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(src: MetadataSourceConfig): void {
    const cacheDurationMs = this.caches.get(src)?.cacheDurationMs;
    let delay = src.refreshSeconds * 1000;
    if (cacheDurationMs !== undefined) delay = Math.min(delay, Math.max(cacheDurationMs, MIN_CACHE_DURATION_MS));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.refreshSource(src).then(() => {
        if (this.running) this.schedule(src);
      });
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private async refreshSource(src: MetadataSourceConfig): Promise<void> {
    const cache = this.caches.get(src) ?? {};
    this.caches.set(src, cache);
    try {
      const records = await loadMetadataSource(src, { ...this.opts, cache });
      this.bySource.set(src.metadata, records);
      this.loadedAt.set(src.metadata, new Date());
      this.rebuild();
    } catch (err) {
      this.opts.log.warn(
        { source: src.metadata, err, keptEntities: this.bySource.get(src.metadata)?.length ?? 0 },
        'metadata refresh failed; keeping the last good copy',
      );
    }
  }


  private rebuild(): void {
    const byId = new Map<string, EntityRecord>();
    for (const records of this.bySource.values()) {
      for (const record of records) {
        if (!byId.has(record.entityId)) byId.set(record.entityId, record);
      }
    }
    this.byId = byId;
    this.changed(Date.now());
  }

  private changed(now: number): void {
    this.version++;
    let next = Infinity;
    for (const record of this.byId.values()) {
      const until = record.validUntil ? record.validUntil.getTime() + VALIDITY_SKEW_MS : Infinity;
      if (until >= now && until < next) next = until;
    }
    this.nextExpiry = next;
  }
}
