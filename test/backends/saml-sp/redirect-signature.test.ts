/**
 * The HTTP-Redirect signature covers SAMLRequest, RelayState and SigAlg exactly as they are
 * encoded in the URL, and nothing else the IdP's SSO location carries.
 */
import { createPrivateKey, createVerify } from 'node:crypto';
import t from 'tap';
import { RSA_SHA256, signRedirectUrl } from '../../../src/backends/saml-sp/redirect-signature.js';
import { generateKeyPair } from '../../../src/crypto/keys.js';

t.test('an IdP verifying over the raw query accepts it', async (t) => {
  const keys = await generateKeyPair('sp');
  const url = new URL('https://idp.example.org/sso?tenant=a+b&x=%2F');
  url.searchParams.set('SAMLRequest', 'fZJBb4MwDIX/Cso9+/ZlRj=');
  url.searchParams.set('RelayState', 'state with spaces & ünïcode/?');
  signRedirectUrl(url, createPrivateKey(keys.keyPem));

  const raw = new Map(url.search.slice(1).split('&').map((pair) => pair.split('=') as [string, string]));
  t.equal(decodeURIComponent(raw.get('SigAlg') ?? ''), RSA_SHA256);
  const signed = ['SAMLRequest', 'RelayState', 'SigAlg'].map((name) => `${name}=${raw.get(name)}`).join('&');
  const signature = Buffer.from(decodeURIComponent(raw.get('Signature') ?? ''), 'base64');
  t.ok(createVerify('sha256').update(signed).verify(keys.certPem, signature), 'signature over the three parameters as sent');
  t.equal(url.searchParams.get('tenant'), 'a b', 'the location’s own parameters stay, unsigned');
  t.equal(url.searchParams.get('RelayState'), 'state with spaces & ünïcode/?');
});
