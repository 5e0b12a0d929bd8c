/**
 * What can be read from an upstream Response before any signature is checked: who claims to have
 * sent it (to find the keys to check it with), what it answers, its status, and whether it is
 * shaped so that a signature can be trusted at all. Nothing here is trusted for what it asserts;
 * it is only used to pick keys and to refuse early.
 */
import { isAllowedDigest, isAllowedSignature } from '../../crypto/xmldsig.js';
import { InvalidSignatureError, MalformedResponseError, SAML_STATUS } from '../../core/errors.js';
import { NS, allElements, attr, child, children, descendants, parseSamlXml, textOf, type ParsedDocument, type ParsedElement } from './xml.js';

export interface ResponseStatus {
  top: string;
  second?: string;
  message?: string;
}

export interface ResponseEnvelope {
  /** The Response's Issuer, or the plaintext Assertion's when the Response names none. Unverified. */
  issuer: string;
  inResponseTo?: string;
  destination?: string;
  status: ResponseStatus;
  /** The Response element carries its own signature (which must then verify). */
  signed: boolean;
  /** The plaintext Assertion carries its own signature; false for an encrypted one (unknowable here). */
  assertionSigned: boolean;
  encrypted: boolean;
}

/** SAML2int SDP-ALG01: AES-GCM with RSA-OAEP only; CBC and PKCS#1 v1.5 invite padding-oracle attacks. */
const ENCRYPTION_ALGORITHMS = new Set([
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
]);

/** Attribute names xml-crypto resolves signature references by. */
const ID_ATTRIBUTES = ['ID', 'Id', 'id'];

/**
 * The SAMLResponse field of an HTTP-POST binding form (its size bounded by the server's bodyLimit):
 * the base64 as posted, whitespace removed, its one parse, and the envelope read from it.
 */
export function readPostedResponse(body: unknown): { base64: string; envelope: ResponseEnvelope; doc: ParsedDocument } {
  const value = (body as { SAMLResponse?: unknown } | undefined)?.SAMLResponse;
  if (typeof value !== 'string' || value === '') throw new MalformedResponseError('POST without a SAMLResponse field');
  const base64 = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new MalformedResponseError('SAMLResponse is not base64');
  const doc = parseSamlXml(Buffer.from(base64, 'base64').toString('utf8'));
  return { base64, envelope: readEnvelope(doc), doc };
}

export function readEnvelope(doc: ParsedDocument): ResponseEnvelope {
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.samlp || root.localName !== 'Response') {
    throw new MalformedResponseError(`expected a SAML 2.0 Response, got ${root.localName} in ${root.namespaceURI ?? 'no namespace'}`);
  }
  if (attr(root, 'Version') !== '2.0') throw new MalformedResponseError(`Response Version ${attr(root, 'Version')} is not 2.0`);
  // Every element below the root, walked once for the checks that look at the whole message.
  const below = allElements(root);
  refuseDuplicateIds(root, below);
  refuseWeakAlgorithms(below);

  // One assertion anywhere in the document, as a child of the Response: anything else is how
  // signature-wrapping attacks hide a second assertion next to the signed one.
  const all = below.filter((el) => el.namespaceURI === NS.saml && (el.localName === 'Assertion' || el.localName === 'EncryptedAssertion'));
  if (all.length > 1) throw new MalformedResponseError(`Response holds ${all.length} assertions; exactly one is accepted`);
  const assertion = child(root, NS.saml, 'Assertion');
  const encrypted = child(root, NS.saml, 'EncryptedAssertion');
  if (all.length === 1 && !assertion && !encrypted) throw new MalformedResponseError('the Assertion is not a child of the Response');

  const issuer = textOf(child(root, NS.saml, 'Issuer')) ?? (assertion && textOf(child(assertion, NS.saml, 'Issuer')));
  if (!issuer) throw new MalformedResponseError('Response names no Issuer');

  return {
    issuer,
    inResponseTo: attr(root, 'InResponseTo') || undefined,
    destination: attr(root, 'Destination'),
    status: readStatus(root),
    signed: children(root, NS.ds, 'Signature').length > 0,
    assertionSigned: assertion ? children(assertion, NS.ds, 'Signature').length > 0 : false,
    encrypted: encrypted !== undefined,
  };
}

export function isSuccess(status: ResponseStatus): boolean {
  return status.top === SAML_STATUS.success;
}

function readStatus(root: ParsedElement): ResponseStatus {
  const status = child(root, NS.samlp, 'Status');
  const code = status && child(status, NS.samlp, 'StatusCode');
  const top = attr(code, 'Value');
  if (!status || !code || !top) throw new MalformedResponseError('Response has no Status/StatusCode');
  const second = attr(code && child(code, NS.samlp, 'StatusCode'), 'Value');
  const message = textOf(child(status, NS.samlp, 'StatusMessage'));
  return { top, ...(second ? { second } : {}), ...(message ? { message } : {}) };
}

function refuseDuplicateIds(root: ParsedElement, below: ParsedElement[]): void {
  const seen = new Set<string>();
  for (const el of [root, ...below]) {
    for (const name of ID_ATTRIBUTES) {
      const id = attr(el, name);
      if (id === undefined) continue;
      if (seen.has(id)) throw new MalformedResponseError(`ID ${id} occurs more than once`);
      seen.add(id);
    }
  }
}

function refuseWeakAlgorithms(below: ParsedElement[]): void {
  const named = (ns: string, local: string) => below.filter((el) => el.namespaceURI === ns && el.localName === local);
  for (const signature of named(NS.ds, 'Signature')) {
    for (const method of descendants(signature, NS.ds, 'SignatureMethod')) {
      const alg = attr(method, 'Algorithm') ?? '';
      if (!isAllowedSignature(alg)) throw new InvalidSignatureError(`signature algorithm ${alg} is not accepted (SHA-256 or stronger required)`);
    }
    for (const reference of descendants(signature, NS.ds, 'Reference')) {
      for (const method of children(reference, NS.ds, 'DigestMethod')) {
        const alg = attr(method, 'Algorithm') ?? '';
        if (!isAllowedDigest(alg)) throw new InvalidSignatureError(`digest algorithm ${alg} is not accepted (SHA-256 or stronger required)`);
      }
    }
  }
  for (const encrypted of named(NS.saml, 'EncryptedAssertion')) {
    for (const method of descendants(encrypted, NS.xenc, 'EncryptionMethod')) {
      const alg = attr(method, 'Algorithm') ?? '';
      if (!ENCRYPTION_ALGORITHMS.has(alg)) throw new MalformedResponseError(`encryption algorithm ${alg} is not accepted (AES-GCM with RSA-OAEP required)`);
    }
  }
}
