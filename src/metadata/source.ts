/**
 * One configured metadata source (file or http(s) URL) → verified EntityRecords. A signature is
 * checked whenever the source names a signing certificate or fingerprint (always, for URLs), and
 * only the signed bytes are parsed.
 */
import { readFile, stat } from 'node:fs/promises';
import type { MetadataSourceConfig } from '../config/schema.js';
import { InvalidMetadataError, MetadataUnavailableError } from '../core/errors.js';
import { parseMetadata } from './parse.js';
import type { EntityRecord } from './types.js';
import { decodeUtf8, parseVerifiedDocument } from './verified-document.js';
import { checkValidity, type TrustedSigner } from './verify.js';
import type { XmlsecOptions } from './xmlsec.js';

/** The part of a pino logger the metadata code uses. */
export interface MetadataLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * What a URL source remembers between loads: the HTTP validators for a conditional GET and the
 * records they stand for. Filled in only after a load fully succeeded.
 */
export interface SourceCache {
  etag?: string;
  lastModified?: string;
  records?: EntityRecord[];
  /** cacheDuration of the last loaded document. */
  cacheDurationMs?: number;
}

export interface LoadOptions {
  fetch?: typeof fetch;
  log: MetadataLog;
  /** Pass the same object on every load of a source to make refreshes conditional. */
  cache?: SourceCache;
  now?: Date;
  /** Signed documents of at least this size are verified by xmlsec1 (default 1 MB, see verified-document.ts). */
  largeDocumentBytes?: number;
  xmlsec?: XmlsecOptions;
  /** Told as a download proceeds (total from Content-Length, when sent). */
  onProgress?: (received: number, total: number | undefined) => void;
}

export const MAX_METADATA_BYTES = 100 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 120_000;
/** A signed document expiring sooner than this is logged as a warning: its publisher may be stuck. */
const EXPIRY_WARNING_MS = 24 * 3600_000;

export function isUrlSource(src: Pick<MetadataSourceConfig, 'metadata'>): boolean {
  return /^https?:\/\//i.test(src.metadata);
}

export async function loadMetadataSource(src: MetadataSourceConfig, opts: LoadOptions): Promise<EntityRecord[]> {
  const cache = opts.cache ?? {};
  const now = opts.now ?? new Date();
  const fetched = await readSource(src, opts, cache);
  if (fetched === 'not-modified') {
    opts.log.info({ source: src.metadata }, 'metadata not modified since the last load');
    return cache.records!;
  }

  const trusted = await trustedSigner(src);
  const onSkip = (reason: string, entityId?: string) => opts.log.warn({ source: src.metadata, entityId }, `metadata entity left out: ${reason}`);
  const parsed = trusted
    ? await parseVerifiedDocument(fetched.bytes, trusted, src.metadata, {
        now,
        onSkip,
        ...(opts.largeDocumentBytes === undefined ? {} : { largeDocumentBytes: opts.largeDocumentBytes }),
        ...(opts.xmlsec ? { xmlsec: opts.xmlsec } : {}),
      })
    : parseMetadata(decodeUtf8(fetched.bytes, src.metadata), src.metadata, { now, onSkip });
  if (trusted) {
    checkValidity(parsed.validUntil, src.maxValidityDays, now);
    if (parsed.validUntil!.getTime() - now.getTime() < EXPIRY_WARNING_MS) {
      opts.log.warn({ source: src.metadata, validUntil: parsed.validUntil!.toISOString() }, 'metadata expires within 24 hours');
    }
  }

  cache.etag = fetched.etag;
  cache.lastModified = fetched.lastModified;
  cache.records = parsed.records;
  cache.cacheDurationMs = parsed.cacheDurationMs;
  opts.log.info(
    { source: src.metadata, entities: parsed.records.length, validUntil: parsed.validUntil?.toISOString(), signed: !!trusted },
    'metadata loaded',
  );
  return parsed.records;
}

/** The document of a file or URL source, as bytes; 'not-modified' when the cache's copy is still current. */
export async function readSource(
  src: Pick<MetadataSourceConfig, 'metadata'>,
  opts: Pick<LoadOptions, 'fetch' | 'onProgress'>,
  cache: SourceCache = {},
): Promise<Fetched | 'not-modified'> {
  return isUrlSource(src) ? fetchDocument(src.metadata, opts, cache) : readDocument(src.metadata);
}

export async function trustedSigner(src: Pick<MetadataSourceConfig, 'signingCert' | 'fingerprint'>): Promise<TrustedSigner | undefined> {
  if (src.signingCert) {
    try {
      return { certPem: await readFile(src.signingCert, 'utf8') };
    } catch (err) {
      throw new MetadataUnavailableError(`cannot read the signing certificate ${src.signingCert}: ${(err as Error).message}`, { cause: err });
    }
  }
  return src.fingerprint ? { fingerprint: src.fingerprint } : undefined;
}

export interface Fetched {
  bytes: Buffer;
  etag?: string;
  lastModified?: string;
}

async function readDocument(path: string): Promise<Fetched> {
  try {
    if ((await stat(path)).size > MAX_METADATA_BYTES) {
      throw new InvalidMetadataError(`${path}: larger than ${MAX_METADATA_BYTES} bytes`);
    }
    return { bytes: await readFile(path) };
  } catch (err) {
    if (err instanceof InvalidMetadataError) throw err;
    throw new MetadataUnavailableError(`cannot read metadata file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function fetchDocument(url: string, opts: Pick<LoadOptions, 'fetch' | 'onProgress'>, cache: SourceCache): Promise<Fetched | 'not-modified'> {
  const fetchFn = opts.fetch ?? fetch;
  const headers: Record<string, string> = {
    accept: 'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8',
  };
  if (cache.records) {
    if (cache.etag) headers['if-none-match'] = cache.etag;
    if (cache.lastModified) headers['if-modified-since'] = cache.lastModified;
  }
  let res: Response;
  try {
    res = await fetchFn(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (err) {
    throw new MetadataUnavailableError(`cannot fetch ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (res.status === 304 && cache.records) {
    await res.body?.cancel();
    return 'not-modified';
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new MetadataUnavailableError(`fetching ${url} answered HTTP ${res.status}`);
  }
  const result: Fetched = { bytes: await readLimited(res, url, opts.onProgress) };
  const etag = res.headers.get('etag');
  const lastModified = res.headers.get('last-modified');
  if (etag) result.etag = etag;
  if (lastModified) result.lastModified = lastModified;
  return result;
}

/** The body, refused as soon as it grows past the limit (decompressed size counts). */
async function readLimited(res: Response, url: string, onProgress: LoadOptions['onProgress']): Promise<Buffer> {
  const tooLarge = () => new InvalidMetadataError(`${url}: larger than ${MAX_METADATA_BYTES} bytes`);
  const length = Number(res.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? length : undefined;
  if ((total ?? 0) > MAX_METADATA_BYTES) {
    await res.body?.cancel();
    throw tooLarge();
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_METADATA_BYTES) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
      onProgress?.(size, total);
    }
  } catch (err) {
    if (err instanceof InvalidMetadataError) throw err;
    throw new MetadataUnavailableError(`reading ${url} failed: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(chunks, size);
}
