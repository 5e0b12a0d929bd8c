/**
 * One configured metadata source (file or http(s) URL) → verified EntityRecords. A signature is
 * checked whenever the source names a signing certificate or fingerprint (always, for URLs), and
 * only the signed bytes are parsed.
 *
 * The bytes of every verified download of a URL source can be kept on disk as its backing copy
 * (as Shibboleth's backingFilePath does), so a start while the URL is down begins from the last
 * verified copy; that copy is verified again, with the pinned key and its validUntil, when read.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { METADATA_FETCH_TIMEOUT_SECONDS, type MetadataSourceConfig } from '../config/schema.js';
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
  /** Where a URL source's verified document is saved after each download (see backingFilePath). */
  backingFile?: string;
  /**
   * A refresh while logins are served: a large document is verified and parsed at low CPU
   * priority, so logins come first and the refresh takes what is left.
   */
  background?: boolean;
}

export const MAX_METADATA_BYTES = 100 * 1024 * 1024;
/** A download gives way to other work on the event loop at least this often. */
const PAUSE_EVERY_BYTES = 1024 * 1024;
/** A signed document expiring sooner than this is logged as a warning: its publisher may be stuck. */
const EXPIRY_WARNING_MS = 24 * 3600_000;

export function isUrlSource(src: Pick<MetadataSourceConfig, 'metadata'>): boolean {
  return /^https?:\/\//i.test(src.metadata);
}

export async function loadMetadataSource(src: MetadataSourceConfig, opts: LoadOptions): Promise<EntityRecord[]> {
  const cache = opts.cache ?? {};
  const fetched = await readSource(src, opts, cache);
  if (fetched === 'not-modified') {
    opts.log.info({ source: src.metadata }, 'metadata not modified since the last load');
    // The copy on disk is as current as the one in memory: its age is what /healthz and metrics report after a restart.
    if (opts.backingFile) await utimes(opts.backingFile, new Date(), new Date()).catch(() => undefined);
    return cache.records!;
  }

  const parsed = await verifyDocument(src, fetched.bytes, opts);
  cache.etag = fetched.etag;
  cache.lastModified = fetched.lastModified;
  cache.records = parsed.records;
  cache.cacheDurationMs = parsed.cacheDurationMs;
  if (opts.backingFile && isUrlSource(src)) await saveBackingCopy(opts.backingFile, fetched.bytes, src, opts.log);
  opts.log.info(
    { source: src.metadata, entities: parsed.records.length, validUntil: parsed.validUntil?.toISOString(), signed: parsed.signed },
    'metadata loaded',
  );
  return parsed.records;
}

/** The backing copy of a URL source in `dir`: one file per URL, named after its SHA-256. */
export function backingFilePath(dir: string, url: string): string {
  return join(dir, `${createHash('sha256').update(url).digest('hex')}.xml`);
}

export interface BackingCopy {
  records: EntityRecord[];
  /** When the copy was last known current (its download, or a later 304). */
  savedAt: Date;
  cacheDurationMs?: number;
}

/** The backing copy at `path`, verified as a download would be (pinned key, validUntil); throws when there is none usable. */
export async function loadBackingCopy(src: MetadataSourceConfig, path: string, opts: Omit<LoadOptions, 'cache' | 'backingFile'>): Promise<BackingCopy> {
  let bytes: Buffer;
  let savedAt: Date;
  try {
    [bytes, savedAt] = await Promise.all([readFile(path), stat(path).then((s) => s.mtime)]);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new MetadataUnavailableError(missing ? `no backing copy was saved yet (${path})` : `cannot read the backing copy ${path}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = await verifyDocument(src, bytes, opts);
  opts.log.info(
    { source: src.metadata, backingCopy: path, savedAt: savedAt.toISOString(), entities: parsed.records.length, validUntil: parsed.validUntil?.toISOString() },
    'metadata loaded from its backing copy',
  );
  return { records: parsed.records, savedAt, ...(parsed.cacheDurationMs === undefined ? {} : { cacheDurationMs: parsed.cacheDurationMs }) };
}

/** Written next to its final name and renamed, so a crash never leaves half a document behind. */
async function saveBackingCopy(path: string, bytes: Buffer, src: MetadataSourceConfig, log: MetadataLog): Promise<void> {
  const partial = `${path}.${process.pid}.partial`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(partial, bytes);
    await rename(partial, path);
  } catch (err) {
    // Serving goes on without it; only a later start while the URL is down would miss it.
    log.warn({ source: src.metadata, backingCopy: path, err }, 'cannot save the backing copy of metadata');
  }
}

/** Parses `bytes` of `src`, verifying signature and validity when the source names a signer. */
async function verifyDocument(src: MetadataSourceConfig, bytes: Buffer, opts: Pick<LoadOptions, 'log' | 'now' | 'largeDocumentBytes' | 'xmlsec' | 'background'>) {
  const now = opts.now ?? new Date();
  const trusted = await trustedSigner(src);
  const onSkip = (reason: string, entityId?: string) => opts.log.warn({ source: src.metadata, entityId }, `metadata entity left out: ${reason}`);
  const parsed = trusted
    ? await parseVerifiedDocument(bytes, trusted, src.metadata, {
        now,
        onSkip,
        ...(opts.largeDocumentBytes === undefined ? {} : { largeDocumentBytes: opts.largeDocumentBytes }),
        ...(opts.xmlsec ? { xmlsec: opts.xmlsec } : {}),
        ...(opts.background ? { background: true } : {}),
      })
    : parseMetadata(decodeUtf8(bytes, src.metadata), src.metadata, { now, onSkip });
  if (trusted) {
    checkValidity(parsed.validUntil, src.maxValidityDays, now);
    if (parsed.validUntil!.getTime() - now.getTime() < EXPIRY_WARNING_MS) {
      opts.log.warn({ source: src.metadata, validUntil: parsed.validUntil!.toISOString() }, 'metadata expires within 24 hours');
    }
  }
  return { ...parsed, signed: !!trusted };
}

/** The document of a file or URL source, as bytes; 'not-modified' when the cache's copy is still current. */
export async function readSource(
  src: Pick<MetadataSourceConfig, 'metadata'> & Partial<Pick<MetadataSourceConfig, 'timeoutSeconds'>>,
  opts: Pick<LoadOptions, 'fetch' | 'onProgress'>,
  cache: SourceCache = {},
): Promise<Fetched | 'not-modified'> {
  return isUrlSource(src) ? fetchDocument(src.metadata, src.timeoutSeconds ?? METADATA_FETCH_TIMEOUT_SECONDS, opts, cache) : readDocument(src.metadata);
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

async function fetchDocument(url: string, timeoutSeconds: number, opts: Pick<LoadOptions, 'fetch' | 'onProgress'>, cache: SourceCache): Promise<Fetched | 'not-modified'> {
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
    // The signal bounds the download as well as the answer's headers.
    res = await fetchFn(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(timeoutSeconds * 1000) });
  } catch (err) {
    throw new MetadataUnavailableError(`cannot fetch ${url}: ${fetchFailure(err, timeoutSeconds)}`, { cause: err });
  }
  if (res.status === 304 && cache.records) {
    await res.body?.cancel();
    return 'not-modified';
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new MetadataUnavailableError(`fetching ${url} answered HTTP ${res.status}`);
  }
  const result: Fetched = { bytes: await readLimited(res, url, MAX_METADATA_BYTES, timeoutSeconds, opts.onProgress) };
  const etag = res.headers.get('etag');
  const lastModified = res.headers.get('last-modified');
  if (etag) result.etag = etag;
  if (lastModified) result.lastModified = lastModified;
  return result;
}

/** Why a fetch failed, in words: a timeout says which bound it hit, a network error its code. */
export function fetchFailure(err: unknown, timeoutSeconds: number): string {
  if (err instanceof DOMException && err.name === 'TimeoutError') return `no complete answer within ${timeoutSeconds} s`;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  return String(cause?.code ?? cause?.message ?? (err as Error).message);
}

/**
 * The body of a fetch made with a timeout signal, refused as soon as it grows past `limit`
 * (decompressed size counts); a stalled or broken download is a MetadataUnavailableError.
 */
export async function readLimited(
  res: Response,
  url: string,
  limit: number,
  timeoutSeconds: number,
  onProgress?: LoadOptions['onProgress'],
): Promise<Buffer> {
  const tooLarge = () => new InvalidMetadataError(`${url}: larger than ${limit} bytes`);
  const length = Number(res.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? length : undefined;
  if ((total ?? 0) > limit) {
    await res.body?.cancel();
    throw tooLarge();
  }
  if (!res.body) return Buffer.alloc(0);
  // Given the length, each chunk is copied into place as it arrives: concatenating 80 MB at the
  // end would hold the event loop for a tenth of a second or more (and need the memory twice).
  // A body that turns out longer (a compressed transfer) is collected in pieces instead.
  let whole = total ? Buffer.allocUnsafe(total) : undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  let sincePause = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Chunks already received are read in one chain of promises, which over a fast link would
      // hold every other request up for a tenth of a second: let them in every megabyte.
      sincePause += value.byteLength;
      if (sincePause >= PAUSE_EVERY_BYTES) {
        sincePause = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const offset = size;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        throw tooLarge();
      }
      if (whole && size <= whole.length) {
        whole.set(value, offset);
      } else {
        if (whole) chunks.push(whole.subarray(0, offset));
        whole = undefined;
        chunks.push(value);
      }
      onProgress?.(size, total);
    }
  } catch (err) {
    if (err instanceof InvalidMetadataError) throw err;
    throw new MetadataUnavailableError(`reading ${url} failed: ${fetchFailure(err, timeoutSeconds)}`, { cause: err });
  }
  return whole ? whole.subarray(0, size) : Buffer.concat(chunks, size);
}
