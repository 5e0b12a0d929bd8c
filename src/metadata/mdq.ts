/**
 * MDQ client (draft-young-md-query, -saml; spec/metadata.md §2): single entities fetched on demand,
 * each response's signature verified, kept for its cacheDuration / max-age (never past its
 * validUntil), 404s remembered for a shorter while, and one request in flight per entity.
 */
import { createHash } from 'node:crypto';
import type { MdqSourceConfig } from '../config/schema.js';
import { InvalidMetadataError, MetadataUnavailableError } from '../core/errors.js';
import { fetchFailure, readLimited, type MetadataLog } from './source.js';
import type { EntityRecord } from './types.js';
import { isExpired } from './validity.js';
import { parseVerifiedDocument } from './verified-document.js';
import { checkValidity, type TrustedSigner } from './verify.js';

export const MDQ_MEDIA_TYPE = 'application/samlmetadata+xml';
/** A response without cacheDuration or max-age is kept this long. */
const DEFAULT_TTL_MS = 3600_000;
/** Entities not found are asked for again after at most this long. */
const NEGATIVE_TTL_MS = 5 * 60_000;
const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;
/** Look-ups are driven by request input (hints, Issuer): bounded so made-up entityIDs cannot grow it without end. */
const MAX_CACHE_ENTRIES = 20_000;

export interface MdqClientOptions {
  trusted: TrustedSigner;
  fetch?: typeof fetch;
  log: MetadataLog;
  now?: () => Date;
}

interface CacheEntry {
  /** undefined: the responder said 404. */
  record?: EntityRecord;
  etag?: string;
  freshUntil: number;
}

/** `<base>entities/<id>`: the entityID percent-encoded (`/` → %2F, space → %20), or `{sha1}<hex>` with encoded braces. */
export function mdqUrl(base: string, entityId: string, identifier: MdqSourceConfig['identifier'] = 'entityID'): string {
  const id =
    identifier === 'sha1'
      ? `%7Bsha1%7D${createHash('sha1').update(entityId, 'utf8').digest('hex')}`
      : encodeURIComponent(entityId);
  return `${base}entities/${id}`;
}

export class MdqClient {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<EntityRecord | undefined>>();
  private readonly now: () => Date;

  constructor(
    readonly config: Pick<MdqSourceConfig, 'mdq' | 'identifier' | 'maxValidityDays' | 'timeoutSeconds'>,
    private readonly opts: MdqClientOptions,
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  /** The verified record of `entityId`, or undefined when the responder does not know it. */
  lookup(entityId: string): Promise<EntityRecord | undefined> {
    const now = this.now();
    const cached = this.cache.get(entityId);
    if (cached && cached.freshUntil > now.getTime() && !isExpired(cached.record?.validUntil, now)) return Promise.resolve(cached.record);
    const running = this.inFlight.get(entityId);
    if (running) return running;
    const lookup = this.fetchEntity(entityId, cached).finally(() => this.inFlight.delete(entityId));
    this.inFlight.set(entityId, lookup);
    return lookup;
  }

  private async fetchEntity(entityId: string, cached: CacheEntry | undefined): Promise<EntityRecord | undefined> {
    const url = mdqUrl(this.config.mdq, entityId, this.config.identifier);
    const headers: Record<string, string> = { accept: MDQ_MEDIA_TYPE, 'accept-encoding': 'gzip' };
    if (cached?.record && cached.etag) headers['if-none-match'] = cached.etag;
    const { timeoutSeconds } = this.config;
    let res: Response;
    try {
      // The signal bounds the whole exchange, the body included (readLimited below).
      res = await (this.opts.fetch ?? fetch)(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(timeoutSeconds * 1000) });
    } catch (err) {
      return this.stale(entityId, cached, new MetadataUnavailableError(`MDQ lookup ${url} failed: ${fetchFailure(err, timeoutSeconds)}`, { cause: err }));
    }
    const now = this.now();
    const maxAgeMs = maxAge(res.headers.get('cache-control'));
    if (res.status === 304 && cached?.record) {
      await res.body?.cancel();
      this.remember(entityId, { ...cached, freshUntil: freshUntil(now, maxAgeMs, undefined, cached.record.validUntil) });
      return cached.record;
    }
    if (res.status === 404) {
      await res.body?.cancel();
      this.remember(entityId, { freshUntil: now.getTime() + Math.min(maxAgeMs ?? NEGATIVE_TTL_MS, NEGATIVE_TTL_MS) });
      return undefined;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      return this.stale(entityId, cached, new MetadataUnavailableError(`MDQ lookup ${url} answered HTTP ${res.status}`));
    }
    let bytes: Buffer;
    try {
      bytes = await readLimited(res, `MDQ response ${url}`, MAX_RESPONSE_BYTES, timeoutSeconds);
    } catch (err) {
      if (err instanceof MetadataUnavailableError) return this.stale(entityId, cached, err);
      throw err;
    }
    const parsed = await parseVerifiedDocument(bytes, this.opts.trusted, this.config.mdq, { now });
    // One entity answers as an EntityDescriptor document element, never wrapped (draft-young-md-query-saml).
    const record = parsed.records[0];
    if (parsed.rootName !== 'EntityDescriptor' || parsed.records.length !== 1 || record?.entityId !== entityId) {
      throw new InvalidMetadataError(`MDQ response ${url} is not the EntityDescriptor of ${entityId}`);
    }
    checkValidity(parsed.validUntil, this.config.maxValidityDays, now);
    const etag = res.headers.get('etag');
    this.remember(entityId, {
      record,
      ...(etag ? { etag } : {}),
      freshUntil: freshUntil(now, maxAgeMs, parsed.cacheDurationMs, record.validUntil),
    });
    this.opts.log.info({ source: this.config.mdq, entityId }, 'MDQ entity loaded');
    return record;
  }

  private remember(entityId: string, entry: CacheEntry): void {
    this.cache.delete(entityId);
    this.cache.set(entityId, entry);
    // Maps iterate in insertion order: the first key is the longest unrefreshed entry.
    if (this.cache.size > MAX_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
  }

  /** A failed lookup falls back to the last verified copy while it is still valid. */
  private stale(entityId: string, cached: CacheEntry | undefined, err: Error): EntityRecord | undefined {
    if (cached?.record && !isExpired(cached.record.validUntil, this.now())) {
      this.opts.log.warn({ source: this.config.mdq, entityId, err }, 'MDQ lookup failed; using the last verified copy');
      return cached.record;
    }
    throw err;
  }
}

function maxAge(cacheControl: string | null): number | undefined {
  const m = cacheControl?.match(/(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** cacheDuration of the document first, then HTTP max-age, then the default; never past validUntil. */
function freshUntil(now: Date, maxAgeMs: number | undefined, cacheDurationMs: number | undefined, validUntil: Date | undefined): number {
  const ttl = cacheDurationMs ?? maxAgeMs ?? DEFAULT_TTL_MS;
  const until = now.getTime() + ttl;
  return validUntil ? Math.min(until, validUntil.getTime()) : until;
}
