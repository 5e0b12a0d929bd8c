/**
 * A signed metadata document → what it says, using only what its signature covers. Small
 * documents are verified in-process by xml-crypto (verifyMetadataSignature); large ones by xmlsec1
 * out of process, with the structural checks and the parse of exactly the verified bytes done in a
 * worker thread, so neither blocks the event loop.
 */
import { InvalidMetadataError } from '../core/errors.js';
import { inspectInWorker, parseInWorker } from './metadata-worker.js';
import { parseMetadata, type ParsedMetadata } from './parse.js';
import { checkSignatureShape } from './signature-shape.js';
import { certificateMatchingPin, verifyMetadataSignature, type TrustedSigner } from './verify.js';
import { verifyWithXmlsec, type XmlsecOptions } from './xmlsec.js';

/** Documents of at least this many bytes are verified by xmlsec1 (xml-crypto needs O(size) DOM memory many times over). */
export const LARGE_DOCUMENT_BYTES = 1024 * 1024;

export interface VerifiedParseOptions {
  now: Date;
  onSkip?: (reason: string, entityId?: string) => void;
  /** Threshold for the xmlsec1 path; default LARGE_DOCUMENT_BYTES. 0 sends every document through xmlsec1. */
  largeDocumentBytes?: number;
  xmlsec?: XmlsecOptions;
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

  const shape = await inspectInWorker(bytes);
  // Before xmlsec1 runs, so its --id-attr names an element we accept and the reference is the root.
  checkSignatureShape(shape);
  const certPem = trusted.certPem ?? (trusted.fingerprint ? certificateMatchingPin(shape.certificates, trusted.fingerprint) : undefined);
  if (!certPem) throw new InvalidMetadataError('metadata signature: no certificate in the signature’s KeyInfo matches the configured fingerprint');
  await verifyWithXmlsec(bytes, certPem, shape.rootName, opts.xmlsec);

  // The same buffer xmlsec1 verified; its root is the signed element, so every entity parsed is covered.
  const { parsed, skipped } = await parseInWorker(bytes, source, opts.now);
  if (parsed.rootSignatures !== 1) {
    throw new InvalidMetadataError(`metadata signature: the root element must carry exactly one ds:Signature as a direct child, found ${parsed.rootSignatures}`);
  }
  if (parsed.rootName !== shape.rootName) throw new InvalidMetadataError('metadata signature: the parsed root is not the verified one');
  for (const s of skipped) opts.onSkip?.(s.reason, s.entityId);
  return parsed;
}

export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidMetadataError(`${source}: metadata is not UTF-8`);
  }
}
