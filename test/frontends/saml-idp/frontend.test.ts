/**
 * fedgate's SAML IdP frontend answering real @node-saml/node-saml SPs: both request bindings,
 * signed and encrypted answers, NameIDs, and the error statuses an SP must get.
 */
import t from 'tap';
import { Browser } from '../../helpers/browser.js';
import { OTHER_UPSTREAM, UPSTREAM, attributesOf, craftRequest, identity, postBindingRequest, postedForm, responseXml, startHarness, type TestSp } from './harness.js';

const EPE = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.7';
const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';

/** One login through the Redirect binding; returns the answer page fedgate rendered. */
async function login(browser: Browser, sp: TestSp | { saml: TestSp['saml'] }, relayState = '', extra = '') {
  const url = await sp.saml.getAuthorizeUrlAsync(relayState, undefined, {});
  return browser.fetchRaw(url + extra, { method: 'GET' });
}

async function validate(sp: TestSp, page: Awaited<ReturnType<typeof login>>) {
  const form = postedForm(page);
  if (!form) throw new Error(`no auto-POST form (status ${page.status}):\n${page.body.slice(0, 400)}`);
  return { form, result: await sp.saml.validatePostResponseAsync(form.fields) };
}

/** The status an SP was answered with, as node-saml reports it (it throws on any status but Success). */
async function statusReported(sp: { saml: TestSp['saml'] }, page: Awaited<ReturnType<typeof login>>): Promise<string> {
  const form = postedForm(page);
  if (!form) throw new Error(`no auto-POST form (status ${page.status})`);
  try {
    await sp.saml.validatePostResponseAsync(form.fields);
  } catch (err) {
    return `${(err as Error).message} ${(err as { xmlStatus?: string }).xmlStatus ?? ''}`;
  }
  throw new Error('node-saml accepted the answer');
}

t.test('Redirect binding: signed assertion and Response, attributes, RelayState', async (t) => {
  const h = await startHarness([{}]);
  t.teardown(h.close);
  const sp = h.sps[0]!;
  const page = await login(new Browser(), sp, 'state-123');
  t.equal(page.status, 200);
  t.match(page.headers.get('cache-control') ?? '', /no-store/);
  const { form, result } = await validate(sp, page);
  t.equal(form.action, sp.acsUrl, 'posted to the ACS from metadata');
  t.equal(form.fields.RelayState, 'state-123');
  const xml = responseXml(form.fields.SAMLResponse!);
  t.equal((xml.match(/<saml:Assertion /g) ?? []).length, 1, 'exactly one assertion');
  t.equal((xml.match(/<ds:Signature /g) ?? []).length, 2, 'assertion and Response signed');
  t.match(xml, /rsa-sha256/);
  t.match(xml, /xml-exc-c14n/);
  t.match(xml, /<saml:AuthenticatingAuthority>https:\/\/upstream\.example\.org\/idp<\/saml:AuthenticatingAuthority>/);
  const profile = result.profile!;
  t.equal(profile.issuer, h.frontend.entityId);
  t.equal(profile.nameIDFormat, TRANSIENT, 'transient by default (first configured format)');
  t.same(attributesOf(profile)[EPE], ['urn:mace:example.org:a', 'urn:mace:example.org:b', `odd <&"'> value`], 'multi-valued, escaped once');
  t.equal(attributesOf(profile)[EPPN], 'alice@example.org');
  t.notOk(JSON.stringify(profile).includes('never sent'), 'attributes without a definition are not sent');
  t.match(xml, /FriendlyName="eduPersonEntitlement"/);
  t.match(xml, /NameFormat="urn:oasis:names:tc:SAML:2\.0:attrname-format:uri"/);
  t.match(xml, /<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2\.0:ac:classes:PasswordProtectedTransport</);
});

t.test('POST binding, unsigned and signed', async (t) => {
  const h = await startHarness([{ binding: 'post' }, { binding: 'post', sign: true, requireSigned: true }]);
  t.teardown(h.close);
  for (const sp of h.sps) {
    const req = await postBindingRequest(sp.saml, 'rs');
    t.equal(req.action, h.frontend.ssoUrl);
    t.equal(/Signature/.test(Buffer.from(req.fields.SAMLRequest!, 'base64').toString()), sp === h.sps[1], 'node-saml signs only when asked');
    const page = await new Browser().fetchRaw(req.action, {
      method: 'POST',
      body: new URLSearchParams(req.fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const { form, result } = await validate(sp, page);
    t.equal(form.fields.RelayState, 'rs');
    t.equal(result.profile?.issuer, h.frontend.entityId);
  }
  const sha1 = await postBindingRequest(h.sps[1]!.variant({ digestAlgorithm: 'sha1' }));
  t.match(Buffer.from(sha1.fields.SAMLRequest!, 'base64').toString(), /xmldsig#sha1/);
  t.equal((await new Browser().post(h.frontend.ssoUrl, sha1.fields)).status, 403, 'SHA-1 digest refused');
});

t.test('POST binding: a signed request altered after signing is refused', async (t) => {
  const h = await startHarness([{ binding: 'post', sign: true, requireSigned: true }]);
  t.teardown(h.close);
  const req = await postBindingRequest(h.sps[0]!.saml);
  const xml = Buffer.from(req.fields.SAMLRequest!, 'base64').toString().replace('AllowCreate="true"', 'AllowCreate="false"');
  t.not(xml, Buffer.from(req.fields.SAMLRequest!, 'base64').toString(), 'request altered');
  const page = await new Browser().post(h.frontend.ssoUrl, { ...req.fields, SAMLRequest: Buffer.from(xml).toString('base64') });
  t.equal(page.status, 403);
  t.notOk(postedForm(page));
});

t.test('signed Redirect requests: accepted, tampered refused, SHA-1 refused', async (t) => {
  const h = await startHarness([{ sign: true, requireSigned: true }]);
  t.teardown(h.close);
  const sp = h.sps[0]!;
  const good = await sp.saml.getAuthorizeUrlAsync('keep-me', undefined, {});
  t.match(good, /SigAlg=.*Signature=/);
  const { result } = await validate(sp, await new Browser().fetchRaw(good, { method: 'GET' }));
  t.ok(result.profile);

  const u = new URL(await sp.saml.getAuthorizeUrlAsync('keep-me', undefined, {}));
  u.searchParams.set('RelayState', 'changed');
  const tampered = await new Browser().fetchRaw(u.toString(), { method: 'GET' });
  t.equal(tampered.status, 403, 'RelayState changed after signing');
  t.match(tampered.body, /signature/i);

  const v = new URL(await sp.saml.getAuthorizeUrlAsync('', undefined, {}));
  const sig = v.searchParams.get('Signature')!;
  v.searchParams.set('Signature', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
  t.equal((await new Browser().fetchRaw(v.toString(), { method: 'GET' })).status, 403, 'signature value changed');

  const sha1 = await h.sps[0]!.variant({ signatureAlgorithm: 'sha1' }).getAuthorizeUrlAsync('', undefined, {});
  t.match(sha1, /rsa-sha1/);
  t.equal((await new Browser().fetchRaw(sha1, { method: 'GET' })).status, 403, 'SHA-1 signature refused');
});

t.test('unsigned request from an SP whose metadata says AuthnRequestsSigned is refused', async (t) => {
  const h = await startHarness([{ requireSigned: true }, { source: { requireSignedRequests: true } }]);
  t.teardown(h.close);
  for (const sp of h.sps) {
    const page = await login(new Browser(), sp);
    t.equal(page.status, 403);
    t.match(page.body, /must sign its login requests/);
    t.notOk(postedForm(page));
  }
});

t.test('unknown SP gets a 403 page', async (t) => {
  const h = await startHarness([{ unregistered: true }]);
  t.teardown(h.close);
  const page = await login(new Browser(), h.sps[0]!);
  t.equal(page.status, 403);
  t.match(page.body, /not registered/);
  t.notOk(postedForm(page));
});

t.test('ACS URL: only from metadata; index and default', async (t) => {
  const other = 'https://sp0.example.org/other-acs';
  const h = await startHarness([
    {
      extraAcs: [
        { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', location: other, index: 7 },
        { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact', location: 'https://sp0.example.org/artifact', index: 8 },
      ],
    },
  ]);
  t.teardown(h.close);
  const sp = h.sps[0]!;

  const evil = await login(new Browser(), { saml: sp.variant({ callbackUrl: 'https://evil.example.net/acs' }) });
  t.equal(evil.status, 403);
  t.notOk(evil.body.includes('evil.example.net'), 'the page never names, let alone posts to, the unregistered URL');

  const caseChanged = await login(new Browser(), { saml: sp.variant({ callbackUrl: sp.acsUrl.replace('POST', 'post') }) });
  t.equal(caseChanged.status, 403, 'compared case-sensitively');

  const second = await login(new Browser(), { saml: sp.variant({ callbackUrl: other }) });
  t.equal(postedForm(second)?.action, other, 'another registered HTTP-POST ACS');

  // node-saml always names its callbackUrl; an ACS index or no ACS at all needs a request of our own.
  const byIndex = await new Browser().fetchRaw(craftRequest(h, sp, { acsIndex: 7 }), { method: 'GET' });
  t.equal(postedForm(byIndex)?.action, other, 'AssertionConsumerServiceIndex');
  const artifact = await new Browser().fetchRaw(craftRequest(h, sp, { acsIndex: 8 }), { method: 'GET' });
  t.equal(artifact.status, 403, 'an index naming a non-POST endpoint');
  const missing = await new Browser().fetchRaw(craftRequest(h, sp, { acsIndex: 9 }), { method: 'GET' });
  t.equal(missing.status, 403, 'an index not in metadata');
  const byDefault = await new Browser().fetchRaw(craftRequest(h, sp, {}), { method: 'GET' });
  t.equal(postedForm(byDefault)?.action, sp.acsUrl, 'the default ACS when none is named');
});

t.test('encrypted assertion, decrypted by node-saml', async (t) => {
  const h = await startHarness([
    { source: { encryptAssertion: true } },
    // This SP does not want the Response signed: the assertion's signature must then suffice.
    { source: { encryptAssertion: true, signResponse: false }, saml: { wantAuthnResponseSigned: false } },
  ]);
  t.teardown(h.close);
  for (const sp of h.sps) {
    const { form, result } = await validate(sp, await login(new Browser(), sp));
    const xml = responseXml(form.fields.SAMLResponse!);
    t.match(xml, /<saml:EncryptedAssertion/);
    t.notMatch(xml, /<saml:Assertion /, 'no plaintext assertion');
    t.match(xml, /aes256-gcm/);
    t.match(xml, /rsa-oaep-mgf1p/);
    t.equal(/<ds:Signature/.test(xml.slice(0, xml.indexOf('<saml:EncryptedAssertion'))), sp === h.sps[0], 'Response signed only when configured');
    t.same(attributesOf(result.profile)[EPE], ['urn:mace:example.org:a', 'urn:mace:example.org:b', `odd <&"'> value`]);
  }
});

t.test('signAssertion: false signs only the Response, unless the SP wants signed assertions or the Response is unsigned', async (t) => {
  const h = await startHarness([
    { source: { signAssertion: false }, saml: { wantAssertionsSigned: false } },
    // node-saml publishes WantAssertionsSigned="true" for this one.
    { source: { signAssertion: false } },
    { source: { signAssertion: false, signResponse: false }, saml: { wantAssertionsSigned: false, wantAuthnResponseSigned: false } },
  ]);
  t.teardown(h.close);
  const [lean, wanting, unsignedResponse] = h.sps as [TestSp, TestSp, TestSp];
  const signatures = async (sp: TestSp) => {
    const { form } = await validate(sp, await login(new Browser(), sp));
    const xml = responseXml(form.fields.SAMLResponse!);
    const at = xml.indexOf('<saml:Assertion');
    return { response: /<ds:Signature/.test(xml.slice(0, at)), assertion: /<ds:Signature/.test(xml.slice(at)) };
  };
  t.same(await signatures(lean), { response: true, assertion: false }, 'one signature: the Response');
  t.same(await signatures(wanting), { response: true, assertion: true }, 'WantAssertionsSigned in its metadata');
  t.same(await signatures(unsignedResponse), { response: false, assertion: true }, 'never nothing signed');
});

t.test('NameIDs: persistent stable per SP and user, different per SP; transient random', async (t) => {
  const persistent = { saml: { identifierFormat: PERSISTENT } };
  const h = await startHarness([persistent, persistent, {}]);
  t.teardown(h.close);
  const [a, b, c] = h.sps as [TestSp, TestSp, TestSp];
  const ids = async (sp: TestSp) => (await validate(sp, await login(new Browser(), sp))).result.profile!;

  const a1 = await ids(a);
  const a2 = await ids(a);
  t.equal(a1.nameIDFormat, PERSISTENT);
  t.equal(a1.nameID, a2.nameID, 'same user, same SP, new session: same persistent id');
  t.match(a1.nameID, /^[0-9a-f]{64}$/);
  t.equal(a1.nameQualifier, h.frontend.entityId);
  t.equal(a1.spNameQualifier, a.entityId);
  t.not((await ids(b)).nameID, a1.nameID, 'another SP gets another id');

  h.backend.identity = identity({ attributes: { ...identity().attributes, eduPersonPrincipalName: ['bob@example.org'] } });
  t.not((await ids(a)).nameID, a1.nameID, 'another user gets another id');

  const c1 = await ids(c);
  const c2 = await ids(c);
  t.equal(c1.nameIDFormat, TRANSIENT);
  t.not(c1.nameID, c2.nameID, 'transient ids differ per response');
});

t.test('a NameID format the SP may not have is answered with InvalidNameIDPolicy', async (t) => {
  const h = await startHarness([{ saml: { identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' } }, { source: { nameIdFormats: ['transient'] }, saml: { identifierFormat: PERSISTENT } }]);
  t.teardown(h.close);
  for (const sp of h.sps) {
    const page = await login(new Browser(), sp);
    t.equal(postedForm(page)?.action, sp.acsUrl);
    t.match(await statusReported(sp, page), /status:Requester.*status:InvalidNameIDPolicy/s);
  }
  t.same(h.backend.chosen, [], 'never went upstream');
});

t.test('IsPassive without a session: NoPassive status; with a session: answered', async (t) => {
  const h = await startHarness([{}, { saml: { passive: true } }]);
  t.teardown(h.close);
  const [active, passive] = h.sps as [TestSp, TestSp];
  const browser = new Browser();
  const page = await login(browser, passive);
  // node-saml reports NoPassive as "no profile", and only after verifying the Response's signature.
  t.equal((await passive.saml.validatePostResponseAsync(postedForm(page)!.fields)).profile, null);
  t.match(responseXml(postedForm(page)!.fields.SAMLResponse!), /status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:NoPassive"/);
  t.same(h.backend.chosen, []);

  await validate(active, await login(browser, active));
  const again = await validate(passive, await login(browser, passive));
  t.ok(again.result.profile, 'SSO session answers the passive request');
  t.equal(h.backend.chosen.length, 1, 'only one upstream login');
});

t.test('RequestedAuthnContext exact: met or NoAuthnContext', async (t) => {
  const MFA = 'https://refeds.org/profile/mfa';
  const h = await startHarness([{ saml: { authnContext: [MFA], racComparison: 'exact', disableRequestedAuthnContext: false } }]);
  t.teardown(h.close);
  const sp = h.sps[0]!;
  const page = await login(new Browser(), sp);
  t.match(await statusReported(sp, page), /Responder error: Your login does not meet.*status:NoAuthnContext/s);

  h.backend.identity = identity({ authn: { instant: new Date().toISOString(), contextClassRefs: ['urn:other', MFA] } });
  const { form } = await validate(sp, await login(new Browser(), sp));
  t.match(responseXml(form.fields.SAMLResponse!), new RegExp(`<saml:AuthnContextClassRef>${MFA}<`), 'asserts the requested one');
});

t.test('ForceAuthn goes upstream again despite a session', async (t) => {
  const h = await startHarness([{}, { saml: { forceAuthn: true } }]);
  t.teardown(h.close);
  const browser = new Browser();
  await validate(h.sps[0]!, await login(browser, h.sps[0]!));
  await validate(h.sps[0]!, await login(browser, h.sps[0]!));
  t.equal(h.backend.chosen.length, 1, 'second login from the session');
  await validate(h.sps[1]!, await login(browser, h.sps[1]!));
  t.equal(h.backend.chosen.length, 2, 'ForceAuthn logged in upstream again');
});

t.test('IdP hints from idphint (AARC-G061) and Scoping/IDPList', async (t) => {
  const h = await startHarness([{}, { saml: { scoping: { idpList: [{ entries: [{ providerId: OTHER_UPSTREAM }] }] } } }]);
  t.teardown(h.close);
  h.backend.upstreamIds = [UPSTREAM, OTHER_UPSTREAM];

  const noHint = await login(new Browser(), h.sps[0]!);
  t.equal(noHint.status, 302, 'two upstreams, no hint: discovery');
  t.match(noHint.headers.get('location') ?? '', /^\/discovery\?login=/);

  const hint = encodeURIComponent(`https://unknown.example.org,${encodeURIComponent(OTHER_UPSTREAM)}`);
  await validate(h.sps[0]!, await login(new Browser(), h.sps[0]!, '', `&idphint=${hint}`));
  t.same(h.backend.chosen, [OTHER_UPSTREAM], 'idphint picked the known upstream');

  await validate(h.sps[1]!, await login(new Browser(), h.sps[1]!));
  t.same(h.backend.chosen, [OTHER_UPSTREAM, OTHER_UPSTREAM], 'IDPList picked the upstream');
});

t.test('metadata is served and readable', async (t) => {
  const h = await startHarness([{}]);
  t.teardown(h.close);
  const res = await fetch(`${h.url}/saml/idp/metadata`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type') ?? '', /^application\/samlmetadata\+xml/);
  const xml = await res.text();
  const { parseMetadata } = await import('../../../src/metadata/parse.js');
  const record = parseMetadata(xml, 'fedgate').records[0]!;
  t.equal(record.entityId, `${h.url}/saml/idp/metadata`);
  t.same(
    record.idp?.singleSignOnServices.map((s) => [s.binding.replace(/.*:/, ''), s.location]),
    [
      ['HTTP-Redirect', `${h.url}/saml/idp/sso`],
      ['HTTP-POST', `${h.url}/saml/idp/sso`],
    ],
  );
  t.same(record.idp?.nameIdFormats, [PERSISTENT, TRANSIENT]);
  t.same(record.idp?.keys.map((k) => k.use), ['signing']);
  t.same(record.idp?.ui.displayName, { en: 'fedgate test IdP' });
  t.same(record.idp?.scopes, [{ value: '127.0.0.1', regexp: false }], 'the scope of the values fedgate asserts: by default the baseUrl host');
  t.match(xml, /<md:ContactPerson contactType="technical"><md:EmailAddress>mailto:ops@example\.org<\/md:EmailAddress>/);
  t.notMatch(xml, /<!DOCTYPE/);

  // An SP configured from nothing but this metadata's certificate validates fedgate's answers.
  const { signingCertFromMetadata } = await import('../../helpers/saml-sp-peer.js');
  const sp = h.sps[0]!;
  const fromMetadata = sp.variant({ idpCert: signingCertFromMetadata(xml) });
  const page = await login(new Browser(), { saml: fromMetadata });
  t.ok((await fromMetadata.validatePostResponseAsync(postedForm(page)!.fields)).profile);
});
