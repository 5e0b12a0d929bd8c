/**
 * Signs a message sent by the HTTP-Redirect binding (SAML bindings §3.4.4.1): RSA-SHA256 over
 * `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as those parameters are encoded in the URL, with
 * a key parsed once (node-saml would parse the PEM key again for every request).
 */
import { sign, type KeyObject } from 'node:crypto';

export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SIGNED_PARAMS = ['SAMLRequest', 'RelayState', 'SigAlg'] as const;

/** Adds SigAlg and Signature to `url`, which carries SAMLRequest (and RelayState, if any). */
export function signRedirectUrl(url: URL, key: KeyObject): void {
  url.searchParams.set('SigAlg', RSA_SHA256);
  // Each pair encoded the way URLSearchParams writes it into url.search, so the signed bytes are the sent bytes.
  const signed = SIGNED_PARAMS.flatMap((name) => {
    const value = url.searchParams.get(name);
    return value === null ? [] : [new URLSearchParams([[name, value]]).toString()];
  }).join('&');
  url.searchParams.set('Signature', sign('sha256', Buffer.from(signed, 'utf8'), key).toString('base64'));
}
