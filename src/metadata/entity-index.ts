/**
 * All entities fedgate knows, from every configured metadata source, by entityID. A URL source is
 * refreshed in the background; its records are replaced only by a fully verified newer copy, so a
 * failed refresh keeps the last good one (until its entities' validUntil passes).
 */
import type { MetadataSourceConfig } from '../config/schema.js';
import { isUrlSource, loadMetadataSource, type MetadataLog, type SourceCache } from './source.js';
import type { EntityRecord } from './types.js';
import { isExpired } from './validity.js';

export interface EntityIndexOptions {
  fetch?: typeof fetch;
  log: MetadataLog;
}

/** Never refresh more often than this, whatever a document's cacheDuration says. */
const MIN_CACHE_DURATION_MS = 60_000;

export class EntityIndex {
  /** Records per source, in load order: on a duplicate entityID the earlier source wins. */
  private readonly bySource = new Map<string, EntityRecord[]>();
  private readonly caches = new Map<MetadataSourceConfig, SourceCache>();
  private byId = new Map<string, EntityRecord>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = false;

  private constructor(
    private readonly sources: MetadataSourceConfig[],
    private readonly opts: EntityIndexOptions,
  ) {}

  /** Loads every source; any failure here is fatal (a start must not go ahead with missing trust). */
  static async load(sources: MetadataSourceConfig[], opts: EntityIndexOptions): Promise<EntityIndex> {
    const index = new EntityIndex(sources, opts);
    for (const src of sources) {
      const cache: SourceCache = {};
      index.caches.set(src, cache);
      index.bySource.set(src.metadata, await loadMetadataSource(src, { ...opts, cache }));
    }
    index.rebuild();
    return index;
  }

  get(entityId: string): EntityRecord | undefined {
    const record = this.byId.get(entityId);
    return record && !isExpired(record.validUntil, new Date()) ? record : undefined;
  }

  all(): EntityRecord[] {
    const now = new Date();
    return [...this.byId.values()].filter((r) => !isExpired(r.validUntil, now));
  }

  idps(): EntityRecord[] {
    return this.all().filter((r) => r.idp);
  }

  sps(): EntityRecord[] {
    return this.all().filter((r) => r.sp);
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
  }
}
