/**
 * A signed metadata document → what it says, using only what its signature covers. Small
 * documents are verified in-process by xml-crypto (verifyMetadataSignature); large ones by xmlsec1
 * out of process, with the structural checks and the parse of exactly the verified bytes done in a
 * worker thread, so neither blocks the event loop.
 */
import { InvalidMetadataError } from '../core/errors.js';
import { parseInWorker } from './metadata-worker.js';
import { parseMetadata, type ParsedMetadata } from './parse.js';
import { checkSignatureShape, inspectSignatureInPrefix, type SignatureShape } from './signature-shape.js';
import { certificateMatchingPin, verifyMetadataSignature, type TrustedSigner } from './verify.js';
import { verifyWithXmlsec, type XmlsecOptions } from './xmlsec.js';

/** Documents of at least this many bytes are verified by xmlsec1 (xml-crypto needs O(size) DOM memory many times over). */
export const LARGE_DOCUMENT_BYTES = 1024 * 1024;
/** How much of a large document's beginning is read here for its signature (a few kilobytes in practice). */
const SIGNATURE_PREFIX_BYTES = 64 * 1024;

export interface VerifiedParseOptions {
  now: Date;
  onSkip?: (reason: string, entityId?: string) => void;
  /** Threshold for the xmlsec1 path; default LARGE_DOCUMENT_BYTES. 0 sends every document through xmlsec1. */
  largeDocumentBytes?: number;
  xmlsec?: XmlsecOptions;
  /** xmlsec1 and the parse at low CPU priority (a refresh while logins are served). */
  background?: boolean;
}

export async function parseVerifiedDocument(
  bytes: Buffer,
  trusted: TrustedSigner,
  source: string,
  opts: VerifiedParseOptions,
): Promise<ParsedMetadata> {
  const parseOptions = { now: opts.now, ...(opts.onSkip ? { onSkip: opts.onSkip } : {}) };
  if (bytes.length < (opts.largeDocumentBytes ?? LARGE_DOCUMENT_BYTES)) {
    return parseMetadata(verifyMetadataSignature(decodeUtf8(bytes, source), trusted), source, parseOptions);
  }

  // Federations put the signature first in the root: then its shape is read here from the first
  // kilobytes and xmlsec1 starts at once; otherwise the worker reads it before it parses.
  const early = inspectSignatureInPrefix(decodeUtf8(bytes.subarray(0, SIGNATURE_PREFIX_BYTES), source, { truncated: true }));
  if (early) checkSignatureShape(early);
  // The worker parses the same bytes xmlsec1 verifies, meanwhile (two cores instead of one after
  // the other); nothing it finds is used unless the signature holds.
  const job = parseInWorker(bytes, source, opts.now, { inspect: !early, ...(opts.background ? { lowPriority: true } : {}) });
  let shape: SignatureShape;
  try {
    // Checked before xmlsec1 runs, so its --id-attr names an element we accept and the reference is the root.
    shape = early ?? (await job.shape);
    const certPem = trusted.certPem ?? (trusted.fingerprint ? certificateMatchingPin(shape.certificates, trusted.fingerprint) : undefined);
    if (!certPem) throw new InvalidMetadataError('metadata signature: no certificate in the signature’s KeyInfo matches the configured fingerprint');
    await verifyWithXmlsec(bytes, certPem, shape.rootName, { ...opts.xmlsec, ...(opts.background ? { lowPriority: true } : {}) });
  } catch (err) {
    job.cancel();
    throw err;
  }

  // Its root is the signed element, so every entity parsed is covered.
  const { parsed, skipped } = await job.parsed;
  if (parsed.rootSignatures !== 1) {
    throw new InvalidMetadataError(`metadata signature: the root element must carry exactly one ds:Signature as a direct child, found ${parsed.rootSignatures}`);
  }
  if (parsed.rootName !== shape.rootName) throw new InvalidMetadataError('metadata signature: the parsed root is not the verified one');
  for (const s of skipped) opts.onSkip?.(s.reason, s.entityId);
  return parsed;
}

/** `truncated`: the bytes may end inside a character (the start of a document), which is then left out. */
export function decodeUtf8(bytes: Uint8Array, source: string, options: { truncated?: boolean } = {}): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: options.truncated ?? false });
  } catch {
    throw new InvalidMetadataError(`${source}: metadata is not UTF-8`);
  }
}
