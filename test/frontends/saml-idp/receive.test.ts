/** Which typed error each kind of bad AuthnRequest raises, and what a good one yields. */
import { deflateRawSync } from 'node:zlib';
import t from 'tap';
import {
  ExpiredRequestError,
  InvalidRequestSignatureError,
  MalformedRequestError,
  PayloadTooLargeError,
  RequestSignatureRequiredError,
  UnknownServiceProviderError,
  UnregisteredAcsUrlError,
} from '../../../src/core/errors.js';
import { parseRedirectQuery, parseIdpHint } from '../../../src/frontends/saml-idp/query.js';
import { receiveAuthnRequest, type ReceiveOptions } from '../../../src/frontends/saml-idp/receive.js';
import { BINDINGS, type EntityRecord } from '../../../src/metadata/types.js';

const SSO = 'https://proxy.example.org/saml/idp/sso';
const SP = 'https://sp.example.org/sp';
const ACS = 'https://sp.example.org/acs';

const sp: EntityRecord = {
  entityId: SP,
  entityAttributes: {},
  organizationDisplayName: {},
  source: 'test',
  sp: {
    assertionConsumerServices: [
      { binding: BINDINGS.post, location: 'https://sp.example.org/acs-low', index: 0 },
      { binding: BINDINGS.post, location: ACS, index: 3, isDefault: true },
    ],
    authnRequestsSigned: false,
    wantAssertionsSigned: true,
    nameIdFormats: [],
    keys: [],
    requestedAttributes: [],
    discoveryResponses: [],
    ui: { displayName: {}, description: {}, logos: [], informationUrl: {}, privacyStatementUrl: {} },
  },
};

const options: ReceiveOptions = {
  findSp: (id) => (id === SP ? sp : undefined),
  requireSignature: () => false,
  ssoUrl: SSO,
  clockSkewSeconds: 180,
  maxMessageBytes: 256 * 1024,
};

function xml(o: { attrs?: string; inner?: string; issuer?: string } = {}): string {
  return (
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${SSO}"${o.attrs ?? ''}>` +
    `<saml:Issuer>${o.issuer ?? SP}</saml:Issuer>${o.inner ?? ''}</samlp:AuthnRequest>`
  );
}

const redirect = (doc: string | Buffer, tail = '') => {
  const deflated = deflateRawSync(typeof doc === 'string' ? Buffer.from(doc) : doc);
  return { binding: 'redirect' as const, query: parseRedirectQuery(`/sso?SAMLRequest=${encodeURIComponent(deflated.toString('base64'))}${tail}`) };
};
const post = (doc: string) => ({ binding: 'post' as const, SAMLRequest: Buffer.from(doc).toString('base64') });

t.test('a complete request', async (t) => {
  const inner =
    '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" AllowCreate="true"/>' +
    '<samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>urn:a</saml:AuthnContextClassRef><saml:AuthnContextClassRef>urn:b</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>' +
    '<samlp:Scoping><samlp:IDPList><samlp:IDPEntry ProviderID="https://idp1.example.org"/><samlp:IDPEntry ProviderID="https://idp2.example.org"/></samlp:IDPList></samlp:Scoping>';
  const r = receiveAuthnRequest(redirect(xml({ attrs: ' ForceAuthn="true" IsPassive="1"', inner }), '&RelayState=abc%20def'), options);
  t.equal(r.acsUrl, ACS, 'isDefault wins over the lower index');
  t.equal(r.relayState, 'abc def');
  t.equal(r.signed, false);
  t.match(r.fields, {
    id: '_r1',
    issuer: SP,
    forceAuthn: true,
    isPassive: true,
    nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    requestedAuthnContext: { comparison: 'minimum', classRefs: ['urn:a', 'urn:b'] },
    idpEntries: ['https://idp1.example.org', 'https://idp2.example.org'],
  });
  t.equal(receiveAuthnRequest(post(xml()), options).acsUrl, ACS, 'POST binding');
});

t.test('typed errors', async (t) => {
  const cases: [string, () => unknown, new (...a: never[]) => Error, RegExp][] = [
    ['DTD', () => receiveAuthnRequest(redirect(`<!DOCTYPE x>${xml()}`), options), MalformedRequestError, /DTD/],
    ['entity', () => receiveAuthnRequest(post(xml({ issuer: '&x;' })), options), MalformedRequestError, /well-formed/],
    ['bomb', () => receiveAuthnRequest(redirect(Buffer.alloc(1024 * 1024, 32)), options), PayloadTooLargeError, /inflates to more than 262144 bytes/],
    ['POST too large', () => receiveAuthnRequest(post(xml({ inner: ' '.repeat(256 * 1024) })), options), PayloadTooLargeError, /larger than 262144 bytes/],
    ['unknown SP', () => receiveAuthnRequest(post(xml({ issuer: 'https://nobody.example.org' })), options), UnknownServiceProviderError, /no SP/],
    ['old', () => receiveAuthnRequest(post(xml()), { ...options, now: new Date(Date.now() + 20 * 60_000) }), ExpiredRequestError, /window/],
    ['future', () => receiveAuthnRequest(post(xml()), { ...options, now: new Date(Date.now() - 4 * 60_000) }), ExpiredRequestError, /window/],
    ['unlisted ACS', () => receiveAuthnRequest(post(xml({ attrs: ' AssertionConsumerServiceURL="https://sp.example.org/ACS"' })), options), UnregisteredAcsUrlError, /no HTTP-POST ACS/],
    ['signature required', () => receiveAuthnRequest(post(xml()), { ...options, requireSignature: () => true }), RequestSignatureRequiredError, /unsigned POST/],
    [
      'SHA-1 Redirect signature',
      () => receiveAuthnRequest(redirect(xml(), `&SigAlg=${encodeURIComponent('http://www.w3.org/2000/09/xmldsig#rsa-sha1')}&Signature=AAAA`), options),
      InvalidRequestSignatureError,
      /SHA-256 or better/,
    ],
    ['bad boolean', () => receiveAuthnRequest(post(xml({ attrs: ' ForceAuthn="yes"' })), options), MalformedRequestError, /boolean/],
    ['bad comparison', () => receiveAuthnRequest(post(xml({ inner: '<samlp:RequestedAuthnContext Comparison="most"/>' })), options), MalformedRequestError, /Comparison/],
  ];
  for (const [name, run, type, reason] of cases) {
    t.throws(run, type, name);
    t.throws(run, { message: reason }, `${name}: reason`);
  }
});

t.test('idphint items are URL-encoded once more (AARC-G061)', async (t) => {
  const q = parseRedirectQuery(`/sso?idphint=${encodeURIComponent(`${encodeURIComponent('https://a.example.org/idp?x=1,2')},https://b.example.org,%E0%A4%A,`)}`);
  t.same(parseIdpHint(q.idphint), ['https://a.example.org/idp?x=1,2', 'https://b.example.org']);
  t.same(parseIdpHint(undefined), []);
});

t.test('the Redirect signature covers the parameters as received', async (t) => {
  const q = parseRedirectQuery('/sso?foo=1&SAMLRequest=a%2Bb&RelayState=r+s&SigAlg=x%3Ay&Signature=zz');
  t.equal(q.signedOctets, 'SAMLRequest=a%2Bb&RelayState=r+s&SigAlg=x%3Ay');
  t.equal(q.RelayState, 'r s');
  t.equal(q.SigAlg, 'x:y');
  t.equal(parseRedirectQuery('/sso?SAMLRequest=a&Signature=zz').signedOctets, undefined);
});
