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
import { checkValidity, verifyMetadataSignature, type TrustedSigner } from './verify.js';

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
}

export const MAX_METADATA_BYTES = 100 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 30_000;

export function isUrlSource(src: MetadataSourceConfig): boolean {
  return /^https?:\/\//i.test(src.metadata);
}

export async function loadMetadataSource(src: MetadataSourceConfig, opts: LoadOptions): Promise<EntityRecord[]> {
  const cache = opts.cache ?? {};
  const now = opts.now ?? new Date();
  const fetched = isUrlSource(src) ? await fetchDocument(src.metadata, opts.fetch ?? fetch, cache) : await readDocument(src.metadata);
  if (fetched === 'not-modified') {
    opts.log.info({ source: src.metadata }, 'metadata not modified since the last load');
    return cache.records!;
  }

  const trusted = await trustedSigner(src);
  const xml = trusted ? verifyMetadataSignature(fetched.xml, trusted) : fetched.xml;
  const parsed = parseMetadata(xml, src.metadata, {
    now,
    onSkip: (reason, entityId) => opts.log.warn({ source: src.metadata, entityId }, `metadata entity left out: ${reason}`),
  });
  if (trusted) checkValidity(parsed.validUntil, src.maxValidityDays, now);

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

async function trustedSigner(src: MetadataSourceConfig): Promise<TrustedSigner | undefined> {
  if (src.signingCert) {
    try {
      return { certPem: await readFile(src.signingCert, 'utf8') };
    } catch (err) {
      throw new MetadataUnavailableError(`cannot read the signing certificate ${src.signingCert}: ${(err as Error).message}`, { cause: err });
    }
  }
  return src.fingerprint ? { fingerprint: src.fingerprint } : undefined;
}

interface Fetched {
  xml: string;
  etag?: string;
  lastModified?: string;
}

async function readDocument(path: string): Promise<Fetched> {
  try {
    if ((await stat(path)).size > MAX_METADATA_BYTES) {
      throw new InvalidMetadataError(`${path}: larger than ${MAX_METADATA_BYTES} bytes`);
    }
    return { xml: decode(await readFile(path), path) };
  } catch (err) {
    if (err instanceof InvalidMetadataError) throw err;
    throw new MetadataUnavailableError(`cannot read metadata file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function fetchDocument(url: string, fetchFn: typeof fetch, cache: SourceCache): Promise<Fetched | 'not-modified'> {
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
  const body = await readLimited(res, url);
  const result: Fetched = { xml: decode(body, url) };
  const etag = res.headers.get('etag');
  const lastModified = res.headers.get('last-modified');
  if (etag) result.etag = etag;
  if (lastModified) result.lastModified = lastModified;
  return result;
}

/** The body, refused as soon as it grows past the limit (decompressed size counts). */
async function readLimited(res: Response, url: string): Promise<Buffer> {
  const tooLarge = () => new InvalidMetadataError(`${url}: larger than ${MAX_METADATA_BYTES} bytes`);
  if (Number(res.headers.get('content-length') ?? 0) > MAX_METADATA_BYTES) {
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
    }
  } catch (err) {
    if (err instanceof InvalidMetadataError) throw err;
    throw new MetadataUnavailableError(`reading ${url} failed: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(chunks, size);
}

function decode(bytes: Buffer, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidMetadataError(`${source}: metadata is not UTF-8`);
  }
}
