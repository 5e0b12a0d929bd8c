/**
 * Signatures on AuthnRequests, checked only against the SP's signing keys from verified metadata
 * (every one in turn, for key rollover; IIP-MD07) and only with SHA-256-or-better algorithms.
 * Any key or certificate inside the message is ignored.
 */
import { SignedXml } from 'xml-crypto';
import { InvalidRequestSignatureError } from '../../core/errors.js';
import { DIGEST_ALGORITHMS, SIGNATURE_ALGORITHMS, isAllowedSignature } from '../../crypto/xmldsig.js';
import { SAML_NS } from '../../xml/untrusted.js';
import { attr, child, parseXml, type ParsedElement } from './xml.js';

/** HTTP-Redirect: a detached signature over the query parameters as received. */
export function verifyRedirectSignature(octets: string, sigAlg: string, signature: string, certs: string[]): void {
  if (!isAllowedSignature(sigAlg)) throw new InvalidRequestSignatureError(`SigAlg ${sigAlg} is not accepted (SHA-256 or better required)`);
  const Algorithm = SIGNATURE_ALGORITHMS[sigAlg];
  const value = signature.replace(/\s+/g, '');
  if (!Algorithm || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw new InvalidRequestSignatureError('Signature is not base64');
  for (const cert of certs) {
    try {
      if (new Algorithm().verifySignature(octets, cert, value)) return;
    } catch {
      // a key of another type than the algorithm: try the next one
    }
  }
  throw new InvalidRequestSignatureError(`Redirect signature does not verify with any of ${certs.length} signing key(s) in metadata`);
}

/**
 * HTTP-POST: an enveloped ds:Signature, child of the root, whose single reference is the root.
 * Returns the root element re-read from exactly the bytes the signature covers.
 */
export function verifyEnvelopedSignature(xml: string, root: Element, certs: string[]): ParsedElement {
  const signature = child(root, SAML_NS.ds, 'Signature');
  if (!signature) throw new InvalidRequestSignatureError('AuthnRequest has no enveloped signature');
  const id = attr(root, 'ID');
  let lastProblem = 'no signing key in metadata';
  for (const cert of certs) {
    const sig = new SignedXml({ publicCert: cert, getCertFromKeyInfo: () => null });
    sig.SignatureAlgorithms = SIGNATURE_ALGORITHMS;
    sig.HashAlgorithms = DIGEST_ALGORITHMS;
    try {
      sig.loadSignature(signature);
      const references = sig.getReferences();
      if (references.length !== 1 || references[0]?.uri !== `#${id}`) {
        throw new InvalidRequestSignatureError('the signature must reference the AuthnRequest element and nothing else');
      }
      if (!sig.checkSignature(xml)) {
        lastProblem = 'signature value does not verify';
        continue;
      }
      const signed = sig.getSignedReferences()[0];
      if (!signed) throw new InvalidRequestSignatureError('signature verified no reference');
      return parseXml(signed).documentElement;
    } catch (err) {
      if (err instanceof InvalidRequestSignatureError) throw err;
      lastProblem = (err as Error).message;
    }
  }
  throw new InvalidRequestSignatureError(`POST signature does not verify with any of ${certs.length} signing key(s) in metadata: ${lastProblem}`);
}
