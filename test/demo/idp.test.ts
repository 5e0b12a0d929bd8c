/**
 * A demo IdP serving a node-saml SP that stands in for fedgate's SP backend (signed requests,
 * its own encryption key): login form, wrong and right passwords, and the encrypted answer.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import { SAML } from '@node-saml/node-saml';
import Fastify from 'fastify';
import t, { type Test } from 'tap';
import { parseConfig } from '../../src/config/load.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { DemoIdp } from '../../src/demo/idp.js';
import { registerErrorHandling } from '../../src/http/errors.js';
import { parseMetadata } from '../../src/metadata/parse.js';
import { Browser, parseForms, type Page } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { signingCertFromMetadata } from '../helpers/saml-sp-peer.js';

const SP_ID = 'https://proxy.example.org/saml/sp/metadata';
const SP_ACS = 'https://proxy.example.org/saml/sp/acs';
const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';
const EPE = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.7';

async function start(t: Test) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = parseConfig({
    server: { baseUrl: url, port },
    logging: { level: 'silent' },
    demo: {
      enabled: true,
      idps: [
        {
          id: 'uni',
          displayName: { en: 'Demo University' },
          scope: 'uni.example.org',
          users: [
            {
              username: 'alice',
              password: 'wonder<land>',
              attributes: {
                eduPersonPrincipalName: 'alice@uni.example.org',
                displayName: 'Alice Liddell',
                eduPersonEntitlement: ['urn:mace:uni.example.org:staff', 'urn:mace:uni.example.org:lab&co'],
              },
            },
            { username: 'bob', password: 'builder', attributes: { eduPersonPrincipalName: 'bob@uni.example.org' } },
          ],
        },
      ],
    },
  });
  const spKeys = await generateKeyPair('fedgate-sp');
  const idpKeys = await generateKeyPair('demo-idp');

  // node-saml plays fedgate's SP backend: it signs its requests and decrypts with its own key.
  const spOptions = {
    issuer: SP_ID,
    callbackUrl: SP_ACS,
    idpCert: 'replaced below',
    privateKey: spKeys.keyPem,
    decryptionPvk: spKeys.keyPem,
    signatureAlgorithm: 'sha256' as const,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    validateInResponseTo: 'always' as never,
    acceptedClockSkewMs: 5000,
    identifierFormat: null,
    disableRequestedAuthnContext: true,
  };
  const spMetadata = new SAML(spOptions).generateServiceProviderMetadata(spKeys.certPem, spKeys.certPem);
  const spRecord = parseMetadata(spMetadata, 'fedgate-sp').records[0]!;

  const demo = new DemoIdp({ config, idp: config.demo.idps[0]!, keys: idpKeys, sp: spRecord });
  const app = Fastify({ logger: false });
  await app.register(cookie);
  await app.register(formbody);
  registerErrorHandling(app);
  demo.register(app);
  await app.listen({ host: '127.0.0.1', port });
  t.teardown(() => app.close());

  const metadata = await (await fetch(`${url}/demo/idp/uni/metadata`)).text();
  const sp = (overrides: Partial<typeof spOptions> & { passive?: boolean } = {}) =>
    new SAML({
      ...spOptions,
      entryPoint: `${url}/demo/idp/uni/sso`,
      idpCert: signingCertFromMetadata(metadata),
      idpIssuer: demo.entityId,
      audience: SP_ID,
      ...overrides,
    });
  return { url, demo, metadata, sp, spKeys };
}

const formOf = (page: Page, id: string) => parseForms(page).find((f) => (f as { id?: string }).id === id);

/** Submits the login form without following the answer's auto-POST (its ACS is not served here). */
function submitLogin(browser: Browser, page: Page, overrides: Record<string, string>): Promise<Page> {
  const form = formOf(page, 'login');
  if (!form) throw new Error(`no login form:\n${page.body.slice(0, 300)}`);
  return browser.fetchRaw(form.action, {
    method: 'POST',
    body: new URLSearchParams({ ...form.fields, ...overrides }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

t.test('metadata', async (t) => {
  const { url, metadata, demo } = await start(t);
  t.equal(demo.entityId, 'urn:fedgate:demo:idp:uni');
  const record = parseMetadata(metadata, 'demo').records[0]!;
  t.equal(record.entityId, demo.entityId);
  t.same(record.idp?.scopes, [{ value: 'uni.example.org', regexp: false }]);
  t.same(record.idp?.ui.displayName, { en: 'Demo University' });
  t.same(record.idp?.singleSignOnServices, [{ binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', location: `${url}/demo/idp/uni/sso` }]);
  t.same(record.idp?.keys.map((k) => k.use), ['signing', 'encryption']);
  t.equal(metadata, demo.metadataXml());
});

t.test('login form, wrong password, right password, encrypted signed answer', async (t) => {
  const { sp } = await start(t);
  const peer = sp();
  const browser = new Browser();
  const loginUrl = await peer.getAuthorizeUrlAsync('relay-1', undefined, {});
  t.match(loginUrl, /Signature=/, 'the SP signs like fedgate does');

  const form = await browser.get(loginUrl);
  t.equal(form.status, 200);
  t.match(form.body, /<label for="username">Username<\/label>/);
  t.match(form.body, /<label for="password">Password<\/label>/);
  t.match(form.body, /id="username"[^>]*autofocus/);
  t.match(form.body, /<code>alice<\/code><\/td><td><code>wonder&#60;land&#62;<\/code>/, 'demo accounts shown, escaped');
  const login = formOf(form, 'login')!;
  t.ok(login.fields.SAMLRequest && login.fields.form, 'request carried in hidden fields');
  t.equal(login.fields.RelayState, 'relay-1');

  const wrong = await submitLogin(browser, form, { username: 'alice', password: 'nope' });
  t.equal(wrong.status, 401);
  t.match(wrong.body, /role="alert"[^>]*><strong>Wrong username or password\.<\/strong>/);
  t.match(wrong.body, /value="alice"/, 'username kept');
  t.notOk(formOf(wrong, 'auto-post'));
  t.equal((await submitLogin(browser, form, { username: 'mallory', password: 'builder' })).status, 401, 'unknown user');
  t.equal((await submitLogin(browser, form, { username: 'bob', password: 'wonder<land>' })).status, 401, 'another user’s password');

  const answer = await submitLogin(browser, wrong, { username: 'alice', password: 'wonder<land>' });
  const post = formOf(answer, 'auto-post')!;
  t.equal(post.action, SP_ACS, 'posted to the ACS from the SP metadata');
  t.equal(post.fields.RelayState, 'relay-1');
  const xml = Buffer.from(post.fields.SAMLResponse!, 'base64').toString();
  t.match(xml, /<saml:EncryptedAssertion/);
  t.notMatch(xml, /<saml:Assertion /);
  t.match(xml, /^<samlp:Response[^>]*><saml:Issuer>[^<]+<\/saml:Issuer><ds:Signature/, 'Response signed');

  const { profile } = await peer.validatePostResponseAsync(post.fields);
  t.equal(profile?.nameIDFormat, 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent');
  t.match(profile?.nameID, /^[0-9a-f]{64}$/);
  const attributes = profile?.attributes as Record<string, unknown>;
  t.equal(attributes[EPPN], 'alice@uni.example.org');
  t.same(attributes[EPE], ['urn:mace:uni.example.org:staff', 'urn:mace:uni.example.org:lab&co']);
  const assertion = profile?.getAssertionXml?.() ?? '';
  t.match(assertion, /<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2\.0:ac:classes:PasswordProtectedTransport</);
  t.match(assertion, /<ds:Signature/, 'assertion signed');

  // The same user again gets the same persistent NameID.
  const again = await browser.get(await peer.getAuthorizeUrlAsync('', undefined, {}));
  const second = await submitLogin(browser, again, { username: 'alice', password: 'wonder<land>' });
  t.equal((await peer.validatePostResponseAsync(formOf(second, 'auto-post')!.fields)).profile?.nameID, profile?.nameID);
});

t.test('refusals', async (t) => {
  const { sp, url } = await start(t);
  const browser = new Browser();

  const form = await browser.get(await sp().getAuthorizeUrlAsync('r', undefined, {}));
  const altered = await submitLogin(browser, form, { username: 'alice', password: 'wonder<land>', RelayState: 'other' });
  t.equal(altered.status, 400, 'hidden fields bound to the verified request');

  const other = sp({ issuer: 'https://other-sp.example.org' });
  t.equal((await browser.get(await other.getAuthorizeUrlAsync('', undefined, {}))).status, 403, 'another SP');

  const elsewhere = sp({ callbackUrl: 'https://evil.example.net/acs' });
  t.equal((await browser.get(await elsewhere.getAuthorizeUrlAsync('', undefined, {}))).status, 403, 'ACS not in the SP metadata');

  const unsigned = sp({ privateKey: undefined });
  t.equal((await browser.get(await unsigned.getAuthorizeUrlAsync('', undefined, {}))).status, 403, 'unsigned although the SP metadata says AuthnRequestsSigned');

  const passive = sp({ passive: true });
  const page = await browser.fetchRaw(await passive.getAuthorizeUrlAsync('', undefined, {}), { method: 'GET' });
  const answer = formOf(page, 'auto-post')!;
  t.equal(answer.action, SP_ACS);
  t.equal((await passive.validatePostResponseAsync(answer.fields)).profile, null, 'NoPassive, signed');

  t.equal((await fetch(`${url}/demo/idp/uni/login`, { method: 'POST' })).status, 400, 'login without a form');
});
