/**
 * All entities fedgate knows, from every configured metadata source, by entityID. A URL source is
 * refreshed in the background; its records are replaced only by a fully verified newer copy, so a
 * failed refresh keeps the last good one (until its entities' validUntil passes), and the source
 * is tried again sooner (retrySeconds) until it answers.
 *
 * Each verified download of a URL source is saved as its backing copy (when a folder for them is
 * given). A start while the URL is down begins from that copy, verified again, and reports the
 * source as stale; with no usable copy the start fails, naming the configuration key.
 */
import type { MdqSourceConfig, MetadataSourceConfig } from '../config/schema.js';
import { StartupError } from '../core/errors.js';
import { MdqClient } from './mdq.js';
import { backingFilePath, isUrlSource, loadBackingCopy, loadMetadataSource, trustedSigner, type LoadOptions, type SourceCache } from './source.js';
import type { EntityRecord } from './types.js';
import { isExpired, VALIDITY_SKEW_MS } from './validity.js';

export interface EntityIndexOptions extends Pick<LoadOptions, 'fetch' | 'log' | 'largeDocumentBytes' | 'xmlsec'> {
  /** Folder for the backing copies of URL sources; none are kept or read without it. */
  backingDir?: string;
  /** Configuration key of the source list (e.g. backends.saml.idps), to name a source in start-up errors. */
  configKey?: string;
}

/** One configured source as readiness checks and metrics see it. */
export interface SourceStatus {
  source: string;
  /** When its copy in use was loaded (a 304 on refresh counts; for a backing copy, when it was saved); undefined when none was. */
  loadedAt?: Date;
  /** When its last entity stops being valid; undefined when some entity has no validUntil. */
  validUntil?: Date;
  /** Entities still valid. */
  entities: number;
  /** No usable copy: never loaded, or every entity it had is past its validUntil (plus skew). */
  expired: boolean;
  /** The last fetch failed: the copy in use is older than the source's. */
  stale: boolean;
  /** While stale: why the last fetch failed, and when. */
  lastError?: string;
  lastFailureAt?: Date;
  /** Failed fetches since start-up. */
  failures: number;
  /** The copy in use was read from the backing copy on disk at start-up. */
  fromBackingCopy: boolean;
}

/** Never refresh more often than this, whatever a document's cacheDuration says. */
const MIN_CACHE_DURATION_MS = 60_000;

/** What the index remembers about one configured file or URL source. */
interface SourceState {
  src: MetadataSourceConfig;
  cache: SourceCache;
  backingFile?: string;
  loadedAt?: Date;
  fromBackingCopy: boolean;
  /** Consecutive failed fetches; 0 once one succeeds. */
  failuresInARow: number;
  failures: number;
  lastError?: string;
  lastFailureAt?: Date;
  timer?: NodeJS.Timeout;
  /** The refresh under way, shared by a timer and an explicit refresh(). */
  refreshing?: Promise<void>;
}

export class EntityIndex {
  /** Records per source, in load order: on a duplicate entityID the earlier source wins. */
  private readonly bySource = new Map<string, EntityRecord[]>();
  private readonly states: SourceState[] = [];
  private byId = new Map<string, EntityRecord>();
  private readonly mdq: MdqClient[] = [];
  /** Entities found through MDQ, so later synchronous get() calls see them while they are valid. */
  private readonly resolved = new Map<string, EntityRecord>();
  private running = false;
  private version = 0;
  /** When (epoch ms, skew included) the first entity all() lists stops being valid. */
  private nextExpiry = Infinity;

  private constructor(private readonly opts: EntityIndexOptions) {}

  /**
   * Loads every source. A file source that cannot be loaded, or a URL source that can be loaded
   * neither from its URL nor from its backing copy, fails the start (StartupError): a start must
   * not go ahead with missing trust.
   */
  static async load(allSources: (MetadataSourceConfig | MdqSourceConfig)[], opts: EntityIndexOptions): Promise<EntityIndex> {
    const index = new EntityIndex(opts);
    for (const [position, src] of allSources.entries()) {
      const key = `${opts.configKey ?? 'sources'}[${position}]`;
      if ('mdq' in src) {
        const trusted = (await trustedSigner(src))!;
        index.mdq.push(new MdqClient(src, { trusted, log: opts.log, ...(opts.fetch ? { fetch: opts.fetch } : {}) }));
        continue;
      }
      const state: SourceState = {
        src,
        cache: {},
        fromBackingCopy: false,
        failuresInARow: 0,
        failures: 0,
        ...(opts.backingDir && isUrlSource(src) ? { backingFile: backingFilePath(opts.backingDir, src.metadata) } : {}),
      };
      index.states.push(state);
      index.bySource.set(src.metadata, await index.firstLoad(state, `${key}.metadata`));
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

  /** Every configured source (not addRecords ones) with its copy in use and its last fetch. */
  status(now = new Date()): SourceStatus[] {
    return this.states.map((state) => {
      const { src, loadedAt } = state;
      const records = this.bySource.get(src.metadata) ?? [];
      const { expiries, validUntil } = expiriesOf(records);
      // Entities still valid: those whose end (skew included) is not before now.
      const valid = expiries.length - countBelow(expiries, now.getTime() - VALIDITY_SKEW_MS);
      const stale = state.failuresInARow > 0;
      return {
        source: src.metadata,
        ...(loadedAt ? { loadedAt } : {}),
        ...(validUntil ? { validUntil } : {}),
        entities: valid,
        expired: !loadedAt || (records.length > 0 && valid === 0),
        stale,
        ...(stale && state.lastError ? { lastError: state.lastError } : {}),
        ...(stale && state.lastFailureAt ? { lastFailureAt: state.lastFailureAt } : {}),
        failures: state.failures,
        fromBackingCopy: state.fromBackingCopy,
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
    await Promise.all(this.urlStates().map((state) => this.refreshSource(state)));
  }

  /**
   * Refreshes each URL source on its own timer: every refreshSeconds (sooner if its cacheDuration
   * says so), and after a failure every retrySeconds until it answers again.
   */
  startRefresh(): void {
    if (this.running) return;
    this.running = true;
    for (const state of this.urlStates()) this.schedule(state);
  }

  stop(): void {
    this.running = false;
    for (const state of this.states) clearTimeout(state.timer);
  }

  private urlStates(): SourceState[] {
    return this.states.filter((state) => isUrlSource(state.src));
  }

  /** The records of a source at start-up: from its file or URL, else from its backing copy. */
  private async firstLoad(state: SourceState, key: string): Promise<EntityRecord[]> {
    const { src, backingFile } = state;
    try {
      const records = await loadMetadataSource(src, this.loadOptions(state));
      state.loadedAt = new Date();
      return records;
    } catch (err) {
      const reason = (err as Error).message;
      if (!backingFile) throw new StartupError(`${key}: ${reason}`, { cause: err });
      let copy;
      try {
        copy = await loadBackingCopy(src, backingFile, this.loadOptions(state));
      } catch (backingErr) {
        throw new StartupError(`${key}: ${reason}; no usable backing copy: ${(backingErr as Error).message}`, { cause: err });
      }
      this.failed(state, reason);
      state.fromBackingCopy = true;
      state.loadedAt = copy.savedAt;
      if (copy.cacheDurationMs !== undefined) state.cache.cacheDurationMs = copy.cacheDurationMs;
      this.opts.log.warn(
        { source: src.metadata, key, reason, backingCopy: backingFile, savedAt: copy.savedAt.toISOString(), retryInSeconds: this.delayMs(state) / 1000 },
        'metadata URL unavailable at start-up; using its backing copy until the URL answers again',
      );
      return copy.records;
    }
  }

  private loadOptions(state: SourceState): LoadOptions {
    const { fetch, log, largeDocumentBytes, xmlsec } = this.opts;
    return {
      log,
      cache: state.cache,
      ...(fetch ? { fetch } : {}),
      ...(largeDocumentBytes === undefined ? {} : { largeDocumentBytes }),
      ...(xmlsec ? { xmlsec } : {}),
      ...(state.backingFile ? { backingFile: state.backingFile } : {}),
    };
  }

  private failed(state: SourceState, reason: string): void {
    state.failuresInARow++;
    state.failures++;
    state.lastError = reason;
    state.lastFailureAt = new Date();
  }

  /** Until the next fetch: retrySeconds after a failure, otherwise refreshSeconds or the document's shorter cacheDuration. */
  private delayMs(state: SourceState): number {
    const { refreshSeconds, retrySeconds } = state.src;
    if (state.failuresInARow > 0) return Math.min(retrySeconds, refreshSeconds) * 1000;
    const cacheDurationMs = state.cache.cacheDurationMs;
    const delay = refreshSeconds * 1000;
    return cacheDurationMs === undefined ? delay : Math.min(delay, Math.max(cacheDurationMs, MIN_CACHE_DURATION_MS));
  }

  private schedule(state: SourceState): void {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => void this.refreshSource(state), this.delayMs(state));
    state.timer.unref();
  }

  private refreshSource(state: SourceState): Promise<void> {
    state.refreshing ??= this.fetchAgain(state).finally(() => {
      state.refreshing = undefined;
      if (this.running) this.schedule(state);
    });
    return state.refreshing;
  }

  private async fetchAgain(state: SourceState): Promise<void> {
    const { src } = state;
    try {
      const records = await loadMetadataSource(src, { ...this.loadOptions(state), background: true });
      if (state.failuresInARow > 0) {
        this.opts.log.info({ source: src.metadata, failedAttempts: state.failuresInARow }, 'metadata source answers again');
      }
      state.failuresInARow = 0;
      state.fromBackingCopy = false;
      state.loadedAt = new Date();
      // A 304 hands back the records in use: nothing to rebuild, and the generation stays, so
      // what is derived from the entities (upstream lists, the discovery index) is not rebuilt either.
      if (records === this.bySource.get(src.metadata)) return;
      this.bySource.set(src.metadata, records);
      this.rebuild();
    } catch (err) {
      this.failed(state, (err as Error).message);
      const kept = this.status().find((s) => s.source === src.metadata);
      this.opts.log.warn(
        {
          source: src.metadata,
          err,
          keptEntities: kept?.entities ?? 0,
          keptValidUntil: kept?.validUntil?.toISOString(),
          failedAttempts: state.failuresInARow,
          retryInSeconds: this.delayMs(state) / 1000,
        },
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

/** Per set of records: their validUntil instants sorted, and the last of them when every record has one. */
interface Expiries {
  expiries: Float64Array;
  validUntil?: Date;
}

const expiriesCache = new WeakMap<EntityRecord[], Expiries>();

/**
 * Sorted once per set of records, so that /healthz, /readyz and each metrics scrape count the
 * valid entities of an aggregate of thousands by a binary search instead of a pass over all.
 */
function expiriesOf(records: EntityRecord[]): Expiries {
  let known = expiriesCache.get(records);
  if (!known) {
    const expiries = Float64Array.from(records, (r) => r.validUntil?.getTime() ?? Infinity).sort();
    const last = expiries.at(-1);
    known = { expiries, ...(last !== undefined && last !== Infinity ? { validUntil: new Date(last) } : {}) };
    expiriesCache.set(records, known);
  }
  return known;
}

/** How many of the sorted `values` are below `limit`. */
function countBelow(values: Float64Array, limit: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
