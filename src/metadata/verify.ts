/**
 * Signature and validity checks of a metadata document before anything in it is used
 * (SAML2int SDP-MD02/03). Only the root may be signed, only by the configured key, and only the
 * bytes that signature covers are handed on.
 *
 * xml-crypto holds the whole document as a DOM, which is fine for single entities and small
 * aggregates; large documents go through xmlsec1 instead (verified-document.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { InvalidMetadataError } from '../core/errors.js';
import { sha256Fingerprint } from '../crypto/keys.js';
import { pemFromBase64 } from '../crypto/pem.js';
import {
  DIGEST_ALGORITHMS,
  ENVELOPED_SIGNATURE,
  EXC_C14N,
  SIGNATURE_ALGORITHMS,
  isAllowedDigest,
  isAllowedSignature,
} from '../crypto/xmldsig.js';
import { NS } from './namespaces.js';
import { VALIDITY_SKEW_MS, isExpired } from './validity.js';

export interface TrustedSigner {
  /** PEM certificate whose key must have made the signature. */
  certPem?: string;
  /** SHA-256 of the signing certificate (lowercase hex): the document's own KeyInfo certificate is used only if it matches. */
  fingerprint?: string;
}

const DAY_MS = 24 * 3600_000;

/**
 * Verifies the enveloped signature on the root element and returns the XML it covers (the
 * canonical form of the root, without the signature). Parse the returned string, never `xml`:
 * that is what makes wrapped or appended content harmless.
 */
export function verifyMetadataSignature(xml: string, trusted: TrustedSigner): string {
  const fail = (reason: string, cause?: unknown) =>
    new InvalidMetadataError(`metadata signature: ${reason}`, cause === undefined ? undefined : { cause });
  rejectDoctype(xml);
  const root = parseDom(xml).documentElement;
  if (!root || root.namespaceURI !== NS.md || (root.localName !== 'EntitiesDescriptor' && root.localName !== 'EntityDescriptor')) {
    throw fail('the root element is not md:EntitiesDescriptor or md:EntityDescriptor');
  }

  const signatures = elementChildren(root, NS.ds, 'Signature');
  if (signatures.length !== 1) {
    throw fail(`the root element must carry exactly one ds:Signature as a direct child, found ${signatures.length}`);
  }
  const signature = signatures[0]!;
  const signedInfo = single(signature, 'SignedInfo', fail);
  const c14n = single(signedInfo, 'CanonicalizationMethod', fail).getAttribute('Algorithm');
  if (c14n !== EXC_C14N) throw fail(`SignedInfo canonicalization ${c14n} is not exclusive c14n`);
  const algorithm = single(signedInfo, 'SignatureMethod', fail).getAttribute('Algorithm') ?? '';
  if (!isAllowedSignature(algorithm)) throw fail(`signature algorithm ${algorithm || '(none)'} is not accepted (SHA-256 or stronger required)`);

  const reference = single(signedInfo, 'Reference', fail);
  const uri = reference.getAttribute('URI') ?? '';
  const rootId = root.getAttribute('ID');
  if (uri !== '' && !(rootId && uri === `#${rootId}`)) {
    throw fail(`the signature references ${uri}, not the root element`);
  }
  const transforms = elementChildren(single(reference, 'Transforms', fail), NS.ds, 'Transform').map((t) => t.getAttribute('Algorithm'));
  if (transforms.length !== 2 || transforms[0] !== ENVELOPED_SIGNATURE || transforms[1] !== EXC_C14N) {
    throw fail(`reference transforms must be enveloped-signature then exclusive c14n, found ${transforms.join(', ') || '(none)'}`);
  }
  const digest = single(reference, 'DigestMethod', fail).getAttribute('Algorithm') ?? '';
  if (!isAllowedDigest(digest)) throw fail(`digest algorithm ${digest || '(none)'} is not accepted (SHA-256 or stronger required)`);

  const verifier = new SignedXml({ publicCert: signingCert(signature, trusted, fail) });
  // Only the algorithms checked above; never the KeyInfo (getCertFromKeyInfo stays xml-crypto's no-op).
  verifier.SignatureAlgorithms = SIGNATURE_ALGORITHMS;
  verifier.HashAlgorithms = DIGEST_ALGORITHMS;
  const transformsAvailable = verifier.CanonicalizationAlgorithms;
  verifier.CanonicalizationAlgorithms = {
    [EXC_C14N]: transformsAvailable[EXC_C14N]!,
    [ENVELOPED_SIGNATURE]: transformsAvailable[ENVELOPED_SIGNATURE]!,
  };
  let valid: boolean;
  try {
    verifier.loadSignature(signature);
    valid = verifier.checkSignature(xml);
  } catch (err) {
    throw fail((err as Error).message, err);
  }
  const signed = verifier.getSignedReferences();
  if (!valid || signed.length !== 1) throw fail('the digest of the signed content does not match (content changed after signing)');
  return signed[0]!;
}

/**
 * A signed document must say how long it is valid: its root validUntil must exist, not have
 * passed, and lie at most `maxValidityDays` ahead (SAML2int SDP-MD03).
 */
export function checkValidity(validUntil: Date | undefined, maxValidityDays: number, now: Date = new Date()): void {
  if (!validUntil) throw new InvalidMetadataError('metadata: the signed root element has no validUntil');
  if (isExpired(validUntil, now)) {
    throw new InvalidMetadataError(`metadata: validUntil ${validUntil.toISOString()} has passed`);
  }
  if (validUntil.getTime() - now.getTime() > maxValidityDays * DAY_MS + VALIDITY_SKEW_MS) {
    throw new InvalidMetadataError(
      `metadata: validUntil ${validUntil.toISOString()} lies more than ${maxValidityDays} days ahead`,
    );
  }
}

/** DTDs enable entity expansion (billion laughs) and external entities (XXE): refused outright (SDP-G03). */
function rejectDoctype(xml: string): void {
  if (/<!DOCTYPE/i.test(xml)) throw new InvalidMetadataError('metadata must not contain a DOCTYPE (DTDs are refused)');
}

function parseDom(xml: string): Document {
  const problems: string[] = [];
  const doc = new DOMParser({
    errorHandler: (level: string, msg: unknown) => {
      problems.push(`${level}: ${String(msg)}`);
    },
  }).parseFromString(xml, 'text/xml');
  if (problems.length > 0) throw new InvalidMetadataError(`metadata is not well-formed XML: ${problems.join('; ')}`);
  return doc;
}

function elementChildren(parent: Element, ns: string, localName: string): Element[] {
  const result: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    const e = n as Element;
    if (n.nodeType === 1 && e.namespaceURI === ns && e.localName === localName) result.push(e);
  }
  return result;
}

function single(parent: Element, localName: string, fail: (reason: string) => Error): Element {
  const found = elementChildren(parent, NS.ds, localName);
  if (found.length !== 1) throw fail(`expected exactly one ds:${localName} in ds:${parent.localName}, found ${found.length}`);
  return found[0]!;
}

/**
 * The configured certificate; with only a fingerprint, the document's KeyInfo certificate whose
 * SHA-256 equals the pin.
 */
function signingCert(signature: Element, trusted: TrustedSigner, fail: (reason: string) => Error): string {
  if (trusted.certPem) return trusted.certPem;
  if (!trusted.fingerprint) throw fail('no trusted certificate or fingerprint configured');
  const keyInfo = elementChildren(signature, NS.ds, 'KeyInfo');
  const bodies = keyInfo
    .flatMap((k) => elementChildren(k, NS.ds, 'X509Data'))
    .flatMap((data) => elementChildren(data, NS.ds, 'X509Certificate'))
    .map((cert) => cert.textContent ?? '');
  const pem = certificateMatchingPin(bodies, trusted.fingerprint);
  if (!pem) throw fail('no certificate in the signature’s KeyInfo matches the configured fingerprint');
  return pem;
}

/** The first of these base64 certificates whose SHA-256 equals the pin (lowercase hex), as PEM. */
export function certificateMatchingPin(base64Certificates: string[], fingerprint: string): string | undefined {
  const pin = Buffer.from(fingerprint, 'hex');
  for (const body of base64Certificates) {
    const pem = pemFromBase64(body);
    let actual: Buffer;
    try {
      actual = Buffer.from(sha256Fingerprint(pem), 'hex');
    } catch {
      continue;
    }
    if (actual.length === pin.length && timingSafeEqual(actual, pin)) return pem;
  }
  return undefined;
}
