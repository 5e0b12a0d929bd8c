/**
 * The ACS of fedgate's SAML SP backend against a real upstream IdP (samlify) over loopback: what
 * it accepts, how the identity comes out, and each way an upstream Response must be refused —
 * every refusal a typed error with its HTTP status, nothing handed downstream, and the server
 * still answering afterwards.
 */
import t, { type Test } from 'tap';
import {
  ExpiredMessageError,
  InvalidSignatureError,
  MalformedResponseError,
  NoPassiveError,
  SAML_STATUS,
  UnknownIdentityProviderError,
  UnknownLoginError,
  UnsignedResponseError,
  UnsolicitedResponseError,
  UpstreamAuthnFailedError,
  WrongAudienceError,
  WrongDestinationError,
  WrongIssuerError,
  type FedgateError,
} from '../../../src/core/errors.js';
import { generateKeyPair } from '../../../src/crypto/keys.js';
import { parseMetadata } from '../../../src/metadata/parse.js';
import { DEFAULT_USER, startSamlIdpPeer, type ResponseOptions } from '../../helpers/saml-idp-peer.js';
import { startHarness } from './harness.js';

const ENTITLEMENT = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.7';
const EPTID = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.10';

const otherKey = await generateKeyPair('not in metadata');
const rolloverKey = await generateKeyPair('next signing key');
const encryptionOnlyKey = await generateKeyPair('published for encryption only');

const h = await startHarness({
  peer: {
    extraKeys: [
      { use: 'encryption', certPem: encryptionOnlyKey.certPem },
      { use: 'signing', certPem: rolloverKey.certPem },
    ],
  },
});
t.teardown(() => h.close());
t.beforeEach(() => {
  h.peer.user = DEFAULT_USER;
  h.peer.next = undefined;
});

/** Runs one login whose answer is built with `options`, posted like a browser; returns the ACS page. */
async function answer(options: ResponseOptions, inResponseTo?: (requestId: string) => string | null) {
  const { browser, requestId } = await h.startLogin();
  const { samlResponse } = await h.peer.buildResponse(inResponseTo ? inResponseTo(requestId) : requestId, options);
  return h.postToAcs(browser, samlResponse);
}

async function refused(
  t: Test,
  page: Awaited<ReturnType<typeof answer>>,
  errorClass: abstract new (...args: never[]) => FedgateError,
  status: number,
) {
  const answered = h.frontend.responses.length;
  t.equal(page.status, status, `HTTP ${status}`);
  const error = h.errors.at(-1);
  t.type(error, errorClass, `${errorClass.name}: ${error?.message}`);
  t.equal(h.frontend.responses.length, answered, 'nothing is handed downstream');
  const health = await fetch(`${h.baseUrl}/saml/sp/metadata`);
  t.equal(health.status, 200, 'the server still answers');
}

t.test('a signed response logs the user in with every attribute mapped to its internal name', async (t) => {
  h.peer.user = {
    ...DEFAULT_USER,
    attributes: {
      ...DEFAULT_USER.attributes,
      [ENTITLEMENT]: ['urn:mace:example.org:a', 'urn:mace:example.org:b', 'urn:mace:example.org:c'],
      'urn:oid:1.2.3.4.5.unknown': ['dropped'],
    },
    rawAttributes:
      `<saml:Attribute Name="${EPTID}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue>` +
      `<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">opaque-targeted-id</saml:NameID></saml:AttributeValue></saml:Attribute>`,
  };
  const { page, browser } = await h.login();
  t.equal(page.status, 200, page.body);
  const { identity, request } = h.frontend.responses.at(-1)!;
  t.equal(request.requester, 'https://sp.example.org/shibboleth');
  t.equal(identity.issuer, h.peer.entityId);
  t.equal(identity.protocol, 'saml');
  t.same(identity.subject, { id: DEFAULT_USER.nameId, format: DEFAULT_USER.nameIdFormat });
  t.same(identity.attributes, {
    eduPersonPrincipalName: ['alice@example.org'],
    mail: ['alice@example.org', 'a.liddell@example.org'],
    eduPersonScopedAffiliation: ['member@example.org', 'staff@example.org'],
    displayName: ['Alice Liddell'],
    eduPersonEntitlement: ['urn:mace:example.org:a', 'urn:mace:example.org:b', 'urn:mace:example.org:c'],
  });
  t.same(identity.authn.contextClassRefs, ['urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport']);
  t.ok(Date.parse(identity.authn.instant) <= Date.now(), 'AuthnInstant taken from the assertion');
  t.match(identity.authn.sessionIndex, /^_s/);
  t.ok(browser.cookies.get(new URL(h.baseUrl).host)?.get('fedgate_session'), 'an SSO session was started');
});

t.test('accepted signature layouts', async (t) => {
  const layouts: [string, ResponseOptions][] = [
    ['encrypted assertion, signed assertion and Response', { encrypt: true }],
    ['encrypted assertion, only the Response signed', { encrypt: true, signAssertion: false }],
    ['encrypted assertion, only the assertion signed', { encrypt: true, signResponse: false }],
    ['only the Response signed', { signAssertion: false }],
    ['only the assertion signed', { signResponse: false }],
    ['signed with the second signing key of the metadata (rollover)', { signingKey: rolloverKey }],
  ];
  for (const [name, options] of layouts) {
    const before = h.frontend.responses.length;
    h.peer.next = options;
    const { page } = await h.login();
    t.equal(page.status, 200, `${name}: ${page.body}`);
    t.equal(h.frontend.responses.length, before + 1, `${name}: answered downstream`);
    t.same(h.frontend.responses.at(-1)?.identity.attributes.mail, ['alice@example.org', 'a.liddell@example.org'], `${name}: attributes read`);
  }
  t.ok(
    h.peer.requests.every((r) => r.signatureValid),
    'every AuthnRequest was signed with the key in fedgate’s metadata',
  );
});

t.test('an attribute value changed after signing', async (t) => {
  const tamper = (xml: string) => xml.replace('>staff@example.org<', '>faculty@example.org<');
  await refused(t, await answer({ tamper }), InvalidSignatureError, 403);
  await refused(t, await answer({ tamper, signResponse: false }), InvalidSignatureError, 403);
  await refused(t, await answer({ tamper, signAssertion: false }), InvalidSignatureError, 403);
});

t.test('a processing instruction splitting a signed value (its data still digests as text)', async (t) => {
  const tamper = (xml: string) => xml.replace(/>alice@example.org</g, '>alice<?x @example.org?><');
  await refused(t, await answer({ tamper }), InvalidSignatureError, 403);
  await refused(t, await answer({ tamper, signResponse: false }), InvalidSignatureError, 403);
  await refused(t, await answer({ tamper, signAssertion: false }), InvalidSignatureError, 403);
});

t.test('signed by a key the metadata does not publish', async (t) => {
  await refused(t, await answer({ signingKey: otherKey }), InvalidSignatureError, 403);
  await refused(t, await answer({ signingKey: otherKey, signResponse: false }), InvalidSignatureError, 403);
  await refused(t, await answer({ signingKey: otherKey, encrypt: true, signResponse: false }), InvalidSignatureError, 403);
});

t.test('signed by a key the metadata publishes for encryption only', async (t) => {
  await refused(t, await answer({ signingKey: encryptionOnlyKey }), InvalidSignatureError, 403);
});

t.test('signed with RSA-SHA1', async (t) => {
  await refused(t, await answer({ signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1' }), InvalidSignatureError, 403);
  t.match(h.errors.at(-1)?.message, /rsa-sha1 is not accepted/);
});

t.test('neither the Response nor the assertion signed', async (t) => {
  await refused(t, await answer({ signResponse: false, signAssertion: false }), UnsignedResponseError, 403);
});

t.test('an encrypted assertion with no signature anywhere', async (t) => {
  await refused(t, await answer({ encrypt: true, signResponse: false, signAssertion: false }), InvalidSignatureError, 403);
});

t.test('a Response signature that fails, next to a valid assertion signature', async (t) => {
  // Changes the Response's IssueInstant (the first one in the document), which only its own signature covers.
  const page = await answer({ tamper: (xml) => xml.replace(/IssueInstant="[^"]+"/, 'IssueInstant="2001-01-01T00:00:00Z"') });
  await refused(t, page, InvalidSignatureError, 403);
});

t.test('expired and not yet valid assertions', async (t) => {
  const past = new Date(Date.now() - 10 * 60_000).toISOString();
  await refused(t, await answer({ values: { NotOnOrAfter: past, SubjectNotOnOrAfter: past } }), ExpiredMessageError, 403);
  await refused(t, await answer({ values: { SubjectNotOnOrAfter: past } }), ExpiredMessageError, 403);
  const future = new Date(Date.now() + 10 * 60_000).toISOString();
  await refused(t, await answer({ values: { NotBefore: future } }), ExpiredMessageError, 403);
});

t.test('within the configured clock skew an assertion is still accepted', async (t) => {
  const justPast = new Date(Date.now() - 20_000).toISOString();
  h.peer.next = { values: { NotOnOrAfter: justPast, SubjectNotOnOrAfter: justPast } };
  const { page } = await h.login();
  t.equal(page.status, 200, page.body);
});

t.test('an assertion for another audience', async (t) => {
  await refused(t, await answer({ values: { Audience: 'https://other-sp.example.org/shibboleth' } }), WrongAudienceError, 403);
});

t.test('a Response addressed to another Destination, or a signed one without any', async (t) => {
  await refused(t, await answer({ values: { Destination: 'https://other-sp.example.org/acs' } }), WrongDestinationError, 403);
  await refused(t, await answer({ values: { Destination: null } }), WrongDestinationError, 403);
});

t.test('a bearer confirmation for another Recipient, or none', async (t) => {
  await refused(t, await answer({ values: { Recipient: 'https://other-sp.example.org/acs' } }), WrongDestinationError, 403);
  await refused(t, await answer({ values: { Recipient: null } }), WrongDestinationError, 403);
});

t.test('a bearer confirmation that answers another request', async (t) => {
  await refused(t, await answer({ values: { SubjectInResponseTo: '_another-request' } }), MalformedResponseError, 400);
});

t.test('an unsolicited Response (no InResponseTo)', async (t) => {
  await refused(t, await answer({}, () => null), UnsolicitedResponseError, 403);
});

t.test('a Response to a request fedgate never sent', async (t) => {
  await refused(t, await answer({}, () => '_never-sent'), UnknownLoginError, 400);
});

t.test('a Response from an IdP fedgate does not know', async (t) => {
  await refused(t, await answer({ values: { Issuer: 'https://unknown-idp.example.org/idp' } }), UnknownIdentityProviderError, 403);
});

t.test('a Response whose assertion names another issuer than the Response', async (t) => {
  await refused(t, await answer({ values: { AssertionIssuer: 'https://unknown-idp.example.org/idp' } }), WrongIssuerError, 403);
});

t.test('a Response from a known IdP other than the one the request was sent to', async (t) => {
  const other = await startSamlIdpPeer({ name: 'other-idp' });
  t.teardown(() => other.close());
  h.index.addRecords(other.metadataUrl, parseMetadata(other.metadataXml, other.metadataUrl).records);
  t.teardown(() => h.index.addRecords(other.metadataUrl, []));
  other.trustServiceProvider(h.backend.metadataXml());
  const { browser, requestId } = await h.startLogin();
  const { samlResponse } = await other.buildResponse(requestId);
  await refused(t, await h.postToAcs(browser, samlResponse), WrongIssuerError, 403);
});

t.test('a Response with two assertions (signature wrapping)', async (t) => {
  const page = await answer({
    tamper: (xml) => {
      const assertion = /<saml:Assertion\b[\s\S]*<\/saml:Assertion>/.exec(xml)?.[0] ?? '';
      const copy = assertion.replace(/ID="[^"]+"/, 'ID="_evil"').replace('alice@example.org', 'mallory@example.org');
      return xml.replace('</samlp:Response>', `${copy}</samlp:Response>`);
    },
  });
  await refused(t, page, MalformedResponseError, 400);
});

t.test('an assertion encrypted with AES-CBC', async (t) => {
  const page = await answer({ encrypt: true, dataEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc' });
  await refused(t, page, MalformedResponseError, 400);
});

t.test('XML that is not well-formed, not base64, or missing', async (t) => {
  const { browser } = await h.startLogin();
  const base64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  await refused(t, await h.postToAcs(browser, base64('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><unclosed>')), MalformedResponseError, 400);
  await refused(t, await h.postToAcs(browser, base64('not xml at all')), MalformedResponseError, 400);
  await refused(t, await h.postToAcs(browser, '%%% not base64 %%%'), MalformedResponseError, 400);
  await refused(t, await h.postToAcs(browser, base64('<foo xmlns="urn:x"/>')), MalformedResponseError, 400);
  const empty = await browser.fetchRaw(h.backend.acsUrl, {
    method: 'POST',
    body: 'RelayState=x',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  await refused(t, empty, MalformedResponseError, 400);
});

t.test('a DOCTYPE with an entity declaration', async (t) => {
  const page = await answer({
    tamper: (xml) =>
      `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "alice@example.org">]>${xml.replace(/^<\?xml[^>]*\?>/, '').replace('>alice@example.org<', '>&x;<')}`,
  });
  await refused(t, page, MalformedResponseError, 400);
});

t.test('a body beyond the server limit', async (t) => {
  const { browser } = await h.startLogin();
  const page = await h.postToAcs(browser, 'A'.repeat(h.config.server.bodyLimitBytes + 10));
  t.equal(page.status, 413);
  t.equal((await fetch(`${h.baseUrl}/saml/sp/metadata`)).status, 200, 'the server still answers');
});

t.test('a non-success status ends the login and the service gets an error answer', async (t) => {
  const errors = h.frontend.errors.length;
  const page = await answer({
    status: { top: SAML_STATUS.responder, second: SAML_STATUS.authnFailed, message: 'wrong password, thrice' },
  });
  t.equal(page.status, 200, page.body);
  const aborted = h.frontend.errors.at(-1);
  t.equal(h.frontend.errors.length, errors + 1, 'flow.abort handed the error to the frontend');
  t.type(aborted?.error, UpstreamAuthnFailedError);
  t.match(aborted?.error.message, /AuthnFailed: wrong password, thrice/);
  t.same(JSON.parse(page.body), { samlStatus: { top: SAML_STATUS.responder, second: SAML_STATUS.authnFailed }, code: 'upstream_failed' });

  await answer({ status: { top: SAML_STATUS.responder, second: SAML_STATUS.noPassive } });
  t.type(h.frontend.errors.at(-1)?.error, NoPassiveError, 'NoPassive stays NoPassive downstream');
});

t.test('a status answer is accepted only once and only from the IdP asked', async (t) => {
  const { browser, requestId } = await h.startLogin();
  const { samlResponse } = await h.peer.buildResponse(requestId, { status: { top: SAML_STATUS.responder } });
  t.equal((await h.postToAcs(browser, samlResponse)).status, 200);
  await refused(t, await h.postToAcs(browser, samlResponse), UnknownLoginError, 400);
  await refused(t, await answer({ status: { top: SAML_STATUS.responder } }, () => null), UnsolicitedResponseError, 403);
  await refused(
    t,
    await answer({ status: { top: SAML_STATUS.responder }, values: { Destination: 'https://other-sp.example.org/acs' } }),
    WrongDestinationError,
    403,
  );
});

t.test('no NameID: the subject identifier stands in', async (t) => {
  h.peer.user = {
    nameId: null,
    attributes: { ...DEFAULT_USER.attributes, 'urn:oasis:names:tc:SAML:attribute:pairwise-id': ['x7f2@example.org'] },
  };
  const { browser, requestId } = await h.startLogin();
  const { samlResponse } = await h.peer.buildResponse(requestId);
  const page = await h.postToAcs(browser, samlResponse);
  t.equal(page.status, 200, page.body);
  t.same(h.frontend.responses.at(-1)?.identity.subject, { id: 'x7f2@example.org' });
});
