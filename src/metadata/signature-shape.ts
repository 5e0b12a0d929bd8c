/**
 * What a document's signature claims to cover, read in one streaming pass (no DOM), for the
 * xmlsec1 path: xmlsec1 checks the cryptography, this checks that the signature it checked is the
 * enveloped signature of the whole root, with algorithms fedgate allows.
 */
import { SaxesParser } from 'saxes';
import { InvalidMetadataError } from '../core/errors.js';
import { ENVELOPED_SIGNATURE, EXC_C14N, isAllowedDigest, isAllowedSignature } from '../crypto/xmldsig.js';
import { NS } from './namespaces.js';

export interface SignatureShape {
  rootName: string;
  rootNs: string;
  rootId?: string;
  /** Depth (root = 1) of the first ds:Signature in document order, the one xmlsec1 verifies; 0 when none. */
  signatureDepth: number;
  c14n: string[];
  signatureMethods: string[];
  references: { uri?: string; transforms: string[]; digests: string[] }[];
  /** Base64 bodies of ds:KeyInfo/ds:X509Data/ds:X509Certificate of that signature. */
  certificates: string[];
}

/** Stops parsing once the first signature is read. */
class Done extends Error {}

/** `xml` is the document, or its text in consecutive pieces (read only up to the signature's end). */
export function inspectSignature(xml: string | Iterable<string>): SignatureShape {
  return scan(xml, true)!;
}

/**
 * The shape from the beginning of a document alone, or undefined when the first signature does
 * not end within `prefix` (then the whole document must be inspected).
 */
export function inspectSignatureInPrefix(prefix: string): SignatureShape | undefined {
  return scan(prefix, false);
}

function scan(xml: string | Iterable<string>, whole: boolean): SignatureShape | undefined {
  const shape: SignatureShape = { rootName: '', rootNs: '', signatureDepth: 0, c14n: [], signatureMethods: [], references: [], certificates: [] };
  const path: string[] = [];
  let inSignature = false;
  let certText: string | undefined;
  const parser = new SaxesParser({ xmlns: true });
  parser.on('doctype', () => {
    throw new InvalidMetadataError('metadata must not contain a DOCTYPE (DTDs are refused)');
  });
  parser.on('opentag', (tag) => {
    const name = tag.uri === NS.ds ? `ds:${tag.local}` : `{${tag.uri}}${tag.local}`;
    path.push(name);
    if (path.length === 1) {
      shape.rootName = tag.local;
      shape.rootNs = tag.uri;
      const id = tag.attributes.ID;
      if (id && id.uri === '') shape.rootId = id.value;
    }
    const algorithm = () => (tag.attributes.Algorithm?.uri === '' ? tag.attributes.Algorithm.value : '');
    if (!inSignature) {
      if (name === 'ds:Signature') {
        inSignature = true;
        shape.signatureDepth = path.length;
      }
      return;
    }
    const within = path.slice(shape.signatureDepth).join('/');
    if (within === 'ds:SignedInfo/ds:CanonicalizationMethod') shape.c14n.push(algorithm());
    else if (within === 'ds:SignedInfo/ds:SignatureMethod') shape.signatureMethods.push(algorithm());
    else if (within === 'ds:SignedInfo/ds:Reference') {
      const uri = tag.attributes.URI;
      shape.references.push({ ...(uri && uri.uri === '' ? { uri: uri.value } : {}), transforms: [], digests: [] });
    } else if (within === 'ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform') shape.references.at(-1)!.transforms.push(algorithm());
    else if (within === 'ds:SignedInfo/ds:Reference/ds:DigestMethod') shape.references.at(-1)!.digests.push(algorithm());
    else if (within === 'ds:KeyInfo/ds:X509Data/ds:X509Certificate') certText = '';
  });
  parser.on('text', (text) => {
    if (certText !== undefined) certText += text;
  });
  parser.on('closetag', () => {
    if (certText !== undefined) {
      shape.certificates.push(certText.replace(/\s+/g, ''));
      certText = undefined;
    }
    if (inSignature && path.length === shape.signatureDepth) throw new Done();
    path.pop();
  });
  // Only what the parser throws is about the XML; whatever feeds the pieces has its own errors.
  const run = (step: () => void) => {
    try {
      step();
      return true;
    } catch (err) {
      if (err instanceof Done) return false;
      if (err instanceof InvalidMetadataError) throw err;
      throw new InvalidMetadataError(`metadata is not well-formed XML: ${(err as Error).message}`, { cause: err });
    }
  };
  for (const piece of typeof xml === 'string' ? [xml] : xml) {
    if (!run(() => parser.write(piece))) return shape;
  }
  if (!whole) return undefined;
  run(() => parser.close());
  return shape;
}

/**
 * The first signature must be a direct child of an md:EntitiesDescriptor/EntityDescriptor root
 * with exactly one Reference to that root ("" or "#ID"), enveloped + exclusive c14n, and allowed
 * algorithms. The count of root signatures is checked by the parse of the same bytes.
 */
export function checkSignatureShape(shape: SignatureShape): void {
  const fail = (reason: string) => new InvalidMetadataError(`metadata signature: ${reason}`);
  if (shape.rootNs !== NS.md || (shape.rootName !== 'EntitiesDescriptor' && shape.rootName !== 'EntityDescriptor')) {
    throw fail('the root element is not md:EntitiesDescriptor or md:EntityDescriptor');
  }
  if (shape.signatureDepth !== 2) {
    throw fail(shape.signatureDepth === 0 ? 'the document is not signed' : 'the first ds:Signature is not a direct child of the root element');
  }
  if (shape.c14n.length !== 1 || shape.c14n[0] !== EXC_C14N) throw fail(`SignedInfo canonicalization ${shape.c14n.join(', ')} is not exclusive c14n`);
  const algorithm = shape.signatureMethods[0] ?? '';
  if (shape.signatureMethods.length !== 1 || !isAllowedSignature(algorithm)) {
    throw fail(`signature algorithm ${algorithm || '(none)'} is not accepted (SHA-256 or stronger required)`);
  }
  if (shape.references.length !== 1) throw fail(`the signature must have exactly one Reference, found ${shape.references.length}`);
  const reference = shape.references[0]!;
  const uri = reference.uri ?? '';
  if (reference.uri === undefined || (uri !== '' && !(shape.rootId && uri === `#${shape.rootId}`))) {
    throw fail(`the signature references ${uri || '(no URI)'}, not the root element`);
  }
  const t = reference.transforms;
  if (t.length !== 2 || t[0] !== ENVELOPED_SIGNATURE || t[1] !== EXC_C14N) {
    throw fail(`reference transforms must be enveloped-signature then exclusive c14n, found ${t.join(', ') || '(none)'}`);
  }
  const digest = reference.digests[0] ?? '';
  if (reference.digests.length !== 1 || !isAllowedDigest(digest)) {
    throw fail(`digest algorithm ${digest || '(none)'} is not accepted (SHA-256 or stronger required)`);
  }
}
