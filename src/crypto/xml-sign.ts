/**
 * Enveloped XML signatures over XML that fedgate writes itself (xml/writer.ts): RSA-SHA256 over
 * an exclusive-c14n SignedInfo with one SHA-256 Reference to the signed element's ID, the shape
 * SAML requires (SAML core §5.4) and SAML2int asks for (SDP-ALG01). The digest and the SignedInfo
 * are canonicalised from the tree, so signing parses nothing; the key is parsed once by the caller.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import { canonicalize, el, type NamespaceScope, type XmlElement } from '../xml/writer.js';
import { ENVELOPED_SIGNATURE, EXC_C14N } from './xmldsig.js';

export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

export interface XmlSigner {
  /** RSA private key. */
  key: KeyObject;
  /** Base64 DER of the certificate published for the key, sent in ds:KeyInfo. */
  certBody: string;
}

/**
 * Signs `element` by its `ID` attribute and inserts the ds:Signature as its child number
 * `position` (SAML: right after the Issuer). `inScope` holds the namespaces declared by the
 * element's ancestors in the document. The element must not change afterwards.
 */
export function signEnveloped(element: XmlElement, position: number, signer: XmlSigner, inScope: NamespaceScope = {}): void {
  const id = element.attrs?.find(([name]) => name === 'ID')?.[1];
  if (!id) throw new Error(`XML signer: ${element.name} has no ID to refer to`);
  // The enveloped-signature transform removes the Signature: before it is inserted, the element is exactly that.
  const digest = createHash('sha256').update(canonicalize(element, inScope), 'utf8').digest('base64');
  const signedInfo = el('ds:SignedInfo', [], [
    el('ds:CanonicalizationMethod', [['Algorithm', EXC_C14N]]),
    el('ds:SignatureMethod', [['Algorithm', RSA_SHA256]]),
    el('ds:Reference', [['URI', `#${id}`]], [
      el('ds:Transforms', [], [el('ds:Transform', [['Algorithm', ENVELOPED_SIGNATURE]]), el('ds:Transform', [['Algorithm', EXC_C14N]])]),
      el('ds:DigestMethod', [['Algorithm', SHA256]]),
      el('ds:DigestValue', [], [digest]),
    ]),
  ]);
  const value = sign('sha256', Buffer.from(canonicalize(signedInfo, { ds: DSIG_NS }), 'utf8'), signer.key).toString('base64');
  const signature = el(
    'ds:Signature',
    [],
    [signedInfo, el('ds:SignatureValue', [], [value]), el('ds:KeyInfo', [], [el('ds:X509Data', [], [el('ds:X509Certificate', [], [signer.certBody])])])],
    { ds: DSIG_NS },
  );
  const children = element.children ?? [];
  element.children = [...children.slice(0, position), signature, ...children.slice(position)];
}
