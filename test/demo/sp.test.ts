/**
 * The demo service at /demo: its landing page, the signed AuthnRequest it sends to the configured
 * SSO URL, and what it shows after a login — against a samlify IdP standing in for fedgate's own
 * IdP frontend, over loopback.
 */
import { createVerify } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import t from 'tap';
import { SAML_STATUS } from '../../src/core/errors.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { DemoSp } from '../../src/demo/sp.js';
import { registerErrorHandling } from '../../src/http/errors.js';
import { parseMetadata } from '../../src/metadata/parse.js';
import { Browser } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { DEFAULT_USER, startSamlIdpPeer } from '../helpers/saml-idp-peer.js';

const idp = await startSamlIdpPeer({ name: 'fedgate-idp', response: { encrypt: true } });
t.teardown(() => idp.close());
const port = await freePort();
const baseUrl = `http://127.0.0.1:${port}`;
const keys = await generateKeyPair('demo service');
const demo = new DemoSp({
  baseUrl,
  keys,
  idpEntityId: idp.entityId,
  idpSsoUrl: idp.ssoUrl,
  idpCertPem: idp.signing.certPem,
  clockSkewMs: 60_000,
});
idp.trustServiceProvider(demo.metadataXml());

const app = Fastify({ logger: false });
await app.register(cookie);
await app.register(formbody);
registerErrorHandling(app);
demo.register(app);
await app.listen({ port, host: '127.0.0.1' });
t.teardown(() => app.close());

t.test('the landing page explains the demo and offers a SAML login', async (t) => {
  const res = await fetch(`${baseUrl}/demo`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/html/);
  const body = await res.text();
  t.match(body, /fedgate demo service/);
  t.match(body, /service provider/);
  t.match(body, /identity provider/);
  t.match(body, /<a class="button" href="\/demo\/login\/saml">Log in with SAML<\/a>/);
});

t.test('its metadata names the ACS, its keys and its name', async (t) => {
  const res = await fetch(`${baseUrl}/demo/metadata`);
  t.match(res.headers.get('content-type'), /^application\/samlmetadata\+xml/);
  const [record] = parseMetadata(await res.text(), 'demo').records;
  t.equal(record?.entityId, 'urn:fedgate:demo:service');
  t.equal(record?.sp?.assertionConsumerServices[0]?.location, `${baseUrl}/demo/acs`);
  t.same(record?.sp?.keys.map((k) => k.use), ['signing', 'encryption']);
  t.same(record?.sp?.ui.displayName, { en: 'fedgate demo service' });
  t.equal(record?.sp?.authnRequestsSigned, true);
});

t.test('logging in redirects to the configured SSO URL with a signed AuthnRequest', async (t) => {
  const res = await fetch(`${baseUrl}/demo/login/saml`, { redirect: 'manual' });
  t.equal(res.status, 302);
  const location = new URL(res.headers.get('location') ?? '');
  t.equal(`${location.origin}${location.pathname}`, idp.ssoUrl);
  const xml = inflateRawSync(Buffer.from(location.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
  t.match(xml, /<samlp:AuthnRequest /);
  t.match(xml, `AssertionConsumerServiceURL="${baseUrl}/demo/acs"`);
  t.match(xml, `Destination="${idp.ssoUrl}"`);
  t.match(xml, '>urn:fedgate:demo:service</saml:Issuer>');
  t.notMatch(xml, /NameIDPolicy[^>]*Format=/);
  t.equal(location.searchParams.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
  const raw = location.search.slice(1).split('&');
  const signed = raw.filter((p) => !p.startsWith('Signature=')).join('&');
  t.ok(createVerify('sha256').update(signed).verify(keys.certPem, Buffer.from(location.searchParams.get('Signature') ?? '', 'base64')));
});

t.test('after a login it shows the NameID, the issuer, the authentication context and every attribute', async (t) => {
  const browser = new Browser();
  const page = await browser.get(`${baseUrl}/demo/login/saml`);
  t.equal(page.status, 200, page.body.slice(0, 300));
  t.equal(page.url, `${baseUrl}/demo/acs`);
  t.ok(idp.requests.at(-1)?.signatureValid, 'the IdP verified the AuthnRequest with the demo metadata key');
  t.match(page.body, /You are logged in/);
  t.match(page.body, `<code>${DEFAULT_USER.nameId}</code>`);
  t.match(page.body, DEFAULT_USER.nameIdFormat!);
  t.match(page.body, `<code>${idp.entityId}</code>`);
  t.match(page.body, 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport');
  t.match(page.body, /<tr><td>eduPersonPrincipalName<\/td><td><code>urn:oid:1.3.6.1.4.1.5923.1.1.1.6<\/code><\/td><td>alice@example.org<\/td><\/tr>/);
  t.match(page.body, /<td>mail<\/td><td><code>urn:oid:0.9.2342.19200300.100.1.3<\/code><\/td><td>alice@example.org<br>a.liddell@example.org<\/td>/);
  t.match(page.body, /href="\/demo\/login\/saml"/);
});

t.test('an error status from fedgate is shown as such', async (t) => {
  idp.next = { status: { top: SAML_STATUS.responder, second: SAML_STATUS.noPassive, message: 'no session' } };
  const page = await new Browser().get(`${baseUrl}/demo/login/saml`);
  t.equal(page.status, 200);
  t.match(page.body, /fedgate answered with an error/);
  t.match(page.body, /<code>Responder<\/code>/);
  t.match(page.body, /<code>NoPassive<\/code>/);
  t.match(page.body, /no session/);
});

t.test('a Response is used once, and one it did not ask for is refused', async (t) => {
  const browser = new Browser();
  await browser.get(`${baseUrl}/demo/login/saml`);
  const posted = browser.history.find((p) => p.url.startsWith(idp.ssoUrl));
  const samlResponse = /name="SAMLResponse" value="([^"]+)"/.exec(posted?.body ?? '')?.[1] ?? '';
  const again = await browser.post(`${baseUrl}/demo/acs`, { SAMLResponse: samlResponse });
  t.equal(again.status, 400, 'a replay is an unknown login');
  t.match(again.body, /This login is unknown or has expired/);

  const unsolicited = await idp.buildResponse(null);
  const refused = await browser.post(`${baseUrl}/demo/acs`, { SAMLResponse: unsolicited.samlResponse });
  t.equal(refused.status, 403);
  t.match(refused.body, /did not ask for/);
});

t.test('the demo checks Recipient like fedgate does', async (t) => {
  idp.next = { values: { Recipient: 'https://elsewhere.example.org/acs' } };
  const page = await new Browser().get(`${baseUrl}/demo/login/saml`);
  t.equal(page.status, 403);
  t.match(page.body, /addressed to another endpoint/);
});
