/**
 * The enveloped XML signature of one element of an upstream Response, checked on the DOM fedgate
 * already parsed. Hand-written around xml-crypto's exclusive canonicalisation because the library
 * path (node-saml → xml-crypto) parsed each message four times and resolved the reference with
 * XPath scans of every attribute of the document, most of a login's CPU time.
 *
 * What is accepted is deliberately narrow, the shape SAML requires (SAML core §5.4): exactly one
 * ds:Signature as a child of the signed element, exactly one Reference whose URI names that very
 * element (no other element may carry its ID), the enveloped-signature and exclusive c14n
 * transforms only, algorithms from crypto/xmldsig.ts, and keys from metadata only (KeyInfo is
 * never read). The caller must read only the verified element — then exactly the bytes the
 * signature covers — never the rest of the posted document (the rule behind CVE-2025-54369 and
 * CVE-2025-54419).
 */
import { createPublicKey, createHash, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { InvalidSignatureError } from '../../core/errors.js';
import { ENVELOPED_SIGNATURE, EXC_C14N, isAllowedDigest, isAllowedSignature } from '../../crypto/xmldsig.js';
import { NS, attr, children, type ParsedDocument, type ParsedElement } from './xml.js';

const DIGEST_HASH: Record<string, string> = {
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384': 'sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};
const SIGNATURE_HASH: Record<string, [hash: string, family: 'rsa' | 'ec']> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': ['sha256', 'rsa'],
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384': ['sha384', 'rsa'],
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': ['sha512', 'rsa'],
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256': ['sha256', 'ec'],
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384': ['sha384', 'ec'],
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512': ['sha512', 'ec'],
};
/** Attribute names a Reference URI may resolve by (xml-crypto's, so an ID under another of them still counts). */
const ID_ATTRIBUTES = ['ID', 'Id', 'id'];
const XMLNS = 'http://www.w3.org/2000/xmlns/';

/** Public keys of metadata certificates, parsed once; bounded, as metadata refreshes bring new ones. */
const keys = new Map<string, KeyObject>();
const MAX_KEYS = 10_000;

export function publicKeyOf(certPem: string): KeyObject {
  let key = keys.get(certPem);
  if (!key) {
    if (keys.size >= MAX_KEYS) keys.clear();
    key = createPublicKey(certPem);
    keys.set(certPem, key);
  }
  return key;
}

function fail(reason: string): never {
  throw new InvalidSignatureError(reason);
}

function only(parent: ParsedElement, local: string): ParsedElement {
  const found = children(parent, NS.ds, local);
  if (found.length !== 1) fail(`ds:${parent.localName} must hold exactly one ds:${local}, not ${found.length}`);
  return found[0]!;
}

/** Namespace declarations in scope above `element` (innermost first wins), for InclusiveNamespaces. */
function ancestorNamespaces(element: ParsedElement): { prefix: string; namespaceURI: string }[] {
  const seen = new Map<string, string>();
  for (let n = element.parentNode; n && n.nodeType === 1; n = n.parentNode) {
    for (const a of n.attributes) {
      if (a.namespaceURI === XMLNS && a.prefix === 'xmlns' && !seen.has(a.localName)) seen.set(a.localName, a.value);
    }
  }
  return [...seen].filter(([, uri]) => uri !== '').map(([prefix, namespaceURI]) => ({ prefix, namespaceURI }));
}

function prefixList(transformOrMethod: ParsedElement): string[] {
  for (const n of transformOrMethod.childNodes) {
    if (n.nodeType === 1 && n.localName === 'InclusiveNamespaces' && n.namespaceURI === EXC_C14N) {
      return (attr(n, 'PrefixList') ?? '').split(/\s+/).filter(Boolean);
    }
  }
  return [];
}

/**
 * Exclusive c14n (comments dropped) of `element` without `drop` (the enveloped signature), by
 * xml-crypto on the parsed tree. The signature is taken out of the tree for the moment of
 * canonicalisation rather than the element copied; with InclusiveNamespaces xml-crypto declares
 * the listed ancestor prefixes on the element, so its attributes are put back afterwards.
 */
function canonical(element: ParsedElement, inclusive: string[], drop?: ParsedElement): string {
  const options = { inclusiveNamespacesPrefixList: inclusive, ancestorNamespaces: ancestorNamespaces(element) };
  const attributes = element.attributes;
  element.attributes = attributes.slice();
  const next = drop?.nextSibling ?? null;
  if (drop) element.removeChild(drop);
  try {
    // xml-crypto's types name the DOM's Element; it reads only what ParsedElement carries (xml/tree.ts).
    return new ExclusiveCanonicalization().process(element as unknown as Element, options);
  } finally {
    if (drop) element.insertBefore(drop, next);
    element.attributes = attributes;
  }
}

function idOf(element: ParsedElement): string | undefined {
  for (const name of ID_ATTRIBUTES) {
    const id = attr(element, name);
    if (id !== undefined) return id;
  }
  return undefined;
}

/**
 * How many elements carry `id`, by one walk of the tree. Refuses processing instructions inside
 * elements on the way (the tree keeps no others):
 * xml-crypto's canonicalisation renders their data as text while DOM readers skip them, so a
 * signed "alice@evil.org" could be re-posted as "alice<?x @evil.org?>" and read as "alice".
 */
function countWithId(doc: ParsedDocument, id: string): number {
  let count = 0;
  const walk = (node: ParsedDocument | ParsedElement) => {
    for (const n of node.childNodes) {
      if (n.nodeType === 7) fail('the message holds a processing instruction');
      if (n.nodeType !== 1) continue;
      for (const name of ID_ATTRIBUTES) if (n.getAttribute(name) === id) count++;
      walk(n);
    }
  };
  walk(doc);
  return count;
}

function base64Bytes(text: string | null | undefined, what: string): Buffer {
  const compact = (text ?? '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) fail(`${what} is not base64`);
  return Buffer.from(compact, 'base64');
}

/**
 * Whether `element` carries a signature (false when it has none), and if so checks it; a signature
 * that does not verify with any of `certs` is an InvalidSignatureError. A verified signature is
 * then taken out of the tree, so that the element's subtree is exactly what was signed: its
 * canonical form is the digested bytes, and what it holds besides elements, attributes and text
 * (comments) is invisible to textContent as it is to exclusive c14n. The caller may read the
 * element then, and nothing outside it.
 */
export function verifySignature(element: ParsedElement, certs: string[]): boolean {
  const signatures = children(element, NS.ds, 'Signature');
  if (signatures.length === 0) return false;
  if (signatures.length > 1) fail(`${element.localName} carries ${signatures.length} signatures`);
  const signature = signatures[0]!;
  const signedInfo = only(signature, 'SignedInfo');

  const c14n = only(signedInfo, 'CanonicalizationMethod');
  if (attr(c14n, 'Algorithm') !== EXC_C14N) fail(`SignedInfo canonicalization ${attr(c14n, 'Algorithm')} is not exclusive c14n`);
  const method = attr(only(signedInfo, 'SignatureMethod'), 'Algorithm') ?? '';
  if (!isAllowedSignature(method)) fail(`signature algorithm ${method} is not accepted (SHA-256 or stronger required)`);

  const reference = only(signedInfo, 'Reference');
  const uri = attr(reference, 'URI') ?? '';
  const id = idOf(element);
  if (!id || uri !== `#${id}`) fail(`the signature of ${element.localName} references ${uri || '(nothing)'}, not the element that carries it`);
  const doc = element.ownerDocument;
  if (countWithId(doc, id) !== 1) fail(`ID ${id} does not name exactly one element`);

  const transforms = children(reference, NS.ds, 'Transforms');
  if (transforms.length > 1) fail('more than one ds:Transforms');
  const steps = transforms[0] ? children(transforms[0], NS.ds, 'Transform') : [];
  const algorithms = steps.map((s) => attr(s, 'Algorithm'));
  if (steps.length > 2 || !algorithms.includes(ENVELOPED_SIGNATURE) || algorithms.some((a) => a !== ENVELOPED_SIGNATURE && a !== EXC_C14N)) {
    fail(`reference transforms ${algorithms.join(', ') || '(none)'}: only enveloped-signature and exclusive c14n are accepted`);
  }
  const c14nStep = steps.find((s) => attr(s, 'Algorithm') === EXC_C14N);
  const digestMethod = attr(only(reference, 'DigestMethod'), 'Algorithm') ?? '';
  if (!isAllowedDigest(digestMethod)) fail(`digest algorithm ${digestMethod} is not accepted (SHA-256 or stronger required)`);

  const signedXml = canonical(element, c14nStep ? prefixList(c14nStep) : [], signature);
  const digest = createHash(DIGEST_HASH[digestMethod]!).update(signedXml, 'utf8').digest();
  const claimed = base64Bytes(only(reference, 'DigestValue').textContent, 'DigestValue');
  if (claimed.length !== digest.length || !timingSafeEqual(claimed, digest)) fail(`the digest of ${element.localName} ${id} does not match: it was altered after signing`);

  const signedInfoXml = Buffer.from(canonical(signedInfo, prefixList(c14n)), 'utf8');
  const value = base64Bytes(only(signature, 'SignatureValue').textContent, 'SignatureValue');
  const [hash, family] = SIGNATURE_HASH[method]!;
  const valid = certs.some((cert) => {
    const key = publicKeyOf(cert);
    return (key.asymmetricKeyType === 'rsa' ? 'rsa' : key.asymmetricKeyType === 'ec' ? 'ec' : undefined) === family && verify(hash, signedInfoXml, { key, dsaEncoding: 'ieee-p1363' }, value);
  });
  if (!valid) fail(`the signature of ${element.localName} ${id} does not verify with a signing key from the IdP's metadata`);
  element.removeChild(signature);
  return true;
}
