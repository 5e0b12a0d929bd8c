/**
 * fedgate's SAML SP backend towards upstream IdPs, short of receiving answers (acs.test.ts): the
 * SP metadata it publishes, the upstreams it offers discovery, and the AuthnRequest it sends
 * (SAML2int SP02–SP07) together with its binding to the login.
 */
import { createVerify } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import Fastify from 'fastify';
import t from 'tap';
import { SamlSpBackend } from '../../../src/backends/saml-sp/backend.js';
import { SUBJECT_ID_REQ } from '../../../src/backends/saml-sp/metadata.js';
import { parseConfig } from '../../../src/config/load.js';
import type { ConfigInput } from '../../../src/config/schema.js';
import { FedgateError, NoUpstreamAvailableError, UnknownIdentityProviderError } from '../../../src/core/errors.js';
import type { LoginFlow, PendingLogin } from '../../../src/core/flow.js';
import type { AuthnRequest } from '../../../src/core/model.js';
import { generateKeyPair } from '../../../src/crypto/keys.js';
import { parseMetadata } from '../../../src/metadata/parse.js';
import { BINDINGS, ENTITY_CATEGORY, HIDE_FROM_DISCOVERY, type EntityRecord, type IdpRole } from '../../../src/metadata/types.js';
import { MemoryStore } from '../../../src/store/memory.js';

const BASE = 'https://proxy.example.org';
const SSO = 'https://idp.example.org/idp/profile/SAML2/Redirect/SSO';
const signing = await generateKeyPair('fedgate signing');
const encryption = await generateKeyPair('fedgate encryption');
const idpKey = await generateKeyPair('idp signing');

function idpRecord(entityId: string, idp: Partial<IdpRole> = {}, record: Partial<EntityRecord> = {}): EntityRecord {
  return {
    entityId,
    idp: {
      singleSignOnServices: [
        { binding: BINDINGS.post, location: `${SSO}/post` },
        { binding: BINDINGS.redirect, location: SSO },
      ],
      wantAuthnRequestsSigned: false,
      nameIdFormats: [],
      keys: [{ use: 'signing', certPem: idpKey.certPem }],
      scopes: [],
      ui: { displayName: {}, description: {}, logos: [], informationUrl: {}, privacyStatementUrl: {} },
      ...idp,
    },
    entityAttributes: {},
    organizationDisplayName: {},
    source: 'metadata/test.xml',
    ...record,
  };
}

function backendWith(records: EntityRecord[], config: ConfigInput = {}) {
  const byId = new Map(records.map((r) => [r.entityId, r]));
  const store = new MemoryStore();
  const backend = new SamlSpBackend({
    config: parseConfig({ server: { baseUrl: BASE }, logging: { level: 'silent' }, ...config }),
    signing,
    encryption,
    idps: { get: (id) => byId.get(id), idps: () => records.filter((r) => r.idp), generation: () => 1 },
    store,
  });
  return { backend, store };
}

const request = (over: Partial<AuthnRequest> = {}): AuthnRequest => ({
  frontend: 'test',
  requester: 'https://sp.example.org/shibboleth',
  forceAuthn: false,
  isPassive: false,
  idpHints: [],
  frontendState: {},
  ...over,
});

/** Calls startLogin inside a real request, returning the reply or the typed error it threw. */
async function start(backend: SamlSpBackend, upstreamId: string, login: PendingLogin) {
  const app = Fastify();
  let error: FedgateError | undefined;
  app.get('/go', async (_req, reply) => {
    try {
      await backend.startLogin(login, upstreamId, reply);
    } catch (err) {
      error = err as FedgateError;
      return reply.status(error.httpStatus).send(error.code);
    }
  });
  const res = await app.inject({ method: 'GET', url: '/go' });
  await app.close();
  return { res, error };
}

interface SentRequest {
  root: Element;
  query: URLSearchParams;
  rawQuery: string;
}

function sentRequest(location: string): SentRequest {
  const url = new URL(location);
  const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
  return { root: new DOMParser().parseFromString(xml, 'text/xml').documentElement, query: url.searchParams, rawQuery: url.search.slice(1) };
}

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

t.test('SP metadata (SAML2int SDP-SP15, SP39)', async (t) => {
  const { backend } = backendWith([], {
    backends: { saml: { displayName: { en: 'Example proxy', de: 'Beispiel-Proxy' }, technicalContact: 'ops@example.org' } },
  });
  const app = Fastify();
  backend.register(app, {} as LoginFlow);
  const res = await app.inject({ method: 'GET', url: '/saml/sp/metadata' });
  await app.close();
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/samlmetadata\+xml/);

  const [record] = parseMetadata(res.body, 'served').records;
  t.equal(record?.entityId, `${BASE}/saml/sp/metadata`, 'default entityID');
  t.equal(backend.entityId, record?.entityId);
  const sp = record?.sp;
  t.ok(sp, 'an SPSSODescriptor');
  t.same(sp?.assertionConsumerServices, [{ binding: BINDINGS.post, location: `${BASE}/saml/sp/acs`, index: 0, isDefault: true }]);
  t.equal(sp?.authnRequestsSigned, true);
  t.equal(sp?.wantAssertionsSigned, true);
  t.same(
    sp?.keys.map((k) => [k.use, k.certPem.replace(/\s+/g, '')]),
    [
      ['signing', signing.certPem.replace(/\s+/g, '')],
      ['encryption', encryption.certPem.replace(/\s+/g, '')],
    ],
  );
  t.same(sp?.ui.displayName, { en: 'Example proxy', de: 'Beispiel-Proxy' });
  t.same(record?.entityAttributes[SUBJECT_ID_REQ], ['any']);
  t.match(res.body, '<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>');
  t.match(res.body, '<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/>');
  t.notMatch(res.body, /cbc|rsa-1_5/, 'no weak algorithm offered');
  t.match(res.body, /<md:ContactPerson contactType="technical"><md:EmailAddress>mailto:ops@example.org<\/md:EmailAddress>/);
  t.notMatch(res.body, /<!DOCTYPE/);

  const custom = backendWith([], { backends: { saml: { entityId: 'https://proxy.example.org/sp', signAuthnRequests: false } } }).backend;
  const [customRecord] = parseMetadata(custom.metadataXml(), 'custom').records;
  t.equal(customRecord?.entityId, 'https://proxy.example.org/sp', 'configured entityID');
  t.equal(customRecord?.sp?.authnRequestsSigned, false);
  t.notMatch(custom.metadataXml(), /ContactPerson/, 'no contact unless configured');
});

t.test('upstreams: every IdP in metadata, named and hidden as metadata and configuration say', async (t) => {
  const ui = (displayName: Record<string, string>, logos: string[] = []) => ({
    displayName,
    description: {},
    logos: logos.map((url) => ({ url })),
    informationUrl: {},
    privacyStatementUrl: {},
  });
  const records = [
    idpRecord('https://a.example.org/idp', { ui: ui({ en: 'University A' }, ['http://a.example.org/logo.png', 'https://a.example.org/logo.png']) }),
    idpRecord('https://b.example.org/idp', {}, { organizationDisplayName: { en: 'B Org' } }),
    idpRecord('https://c.example.org/idp', { ui: ui({}, ['data:image/png;base64,AAAA']) }),
    idpRecord('https://d.example.org/idp', {}, { entityAttributes: { [ENTITY_CATEGORY]: [HIDE_FROM_DISCOVERY] } }),
    idpRecord('https://e.example.org/idp', {}, { source: 'https://mds.example.org/hidden.xml' }),
    { ...idpRecord('https://sp.example.org/sp'), idp: undefined },
  ];
  const { backend } = backendWith(records, {
    backends: { saml: { idps: [{ metadata: 'https://mds.example.org/hidden.xml', fingerprint: 'ab'.repeat(32), hidden: true }] } },
  });
  const saml = { backend: 'saml', protocol: 'saml', social: false, scopes: [], entityAttributes: {} };
  t.same(backend.upstreams(), [
    { ...saml, id: 'https://a.example.org/idp', displayName: { en: 'University A' }, logo: 'https://a.example.org/logo.png', hidden: false },
    { ...saml, id: 'https://b.example.org/idp', displayName: { en: 'B Org' }, hidden: false },
    { ...saml, id: 'https://c.example.org/idp', displayName: { '': 'https://c.example.org/idp' }, logo: 'data:image/png;base64,AAAA', hidden: false },
    { ...saml, id: 'https://d.example.org/idp', displayName: { '': 'https://d.example.org/idp' }, hidden: true, entityAttributes: { [ENTITY_CATEGORY]: [HIDE_FROM_DISCOVERY] } },
    { ...saml, id: 'https://e.example.org/idp', displayName: { '': 'https://e.example.org/idp' }, hidden: true },
  ]);
  t.equal(backend.upstreams(), backend.upstreams(), 'the same list while the metadata generation is unchanged');
});

t.test('the AuthnRequest (SAML2int SP02–SP07) and its binding to the login', async (t) => {
  const entityId = 'https://idp.example.org/idp';
  const { backend, store } = backendWith([idpRecord(entityId)]);
  const { res } = await start(backend, entityId, { id: 'login-1', request: request() });
  t.equal(res.statusCode, 302, 'redirect binding: the browser goes there itself');
  const location = res.headers.location as string;
  t.ok(location.startsWith(`${SSO}?SAMLRequest=`), 'to the HTTP-Redirect SSO endpoint from metadata');

  const { root, query, rawQuery } = sentRequest(location);
  t.equal(root.localName, 'AuthnRequest');
  t.equal(root.getAttribute('Destination'), SSO);
  t.equal(root.getAttribute('AssertionConsumerServiceURL'), `${BASE}/saml/sp/acs`, 'SP05: ACS URL exactly as in metadata');
  t.notOk(root.hasAttribute('AssertionConsumerServiceIndex'), 'SP06: never an index');
  t.equal(root.getAttribute('ProtocolBinding'), BINDINGS.post);
  t.equal(root.getElementsByTagNameNS(SAML, 'Issuer')[0]?.textContent, backend.entityId);
  const policy = root.getElementsByTagNameNS(SAMLP, 'NameIDPolicy')[0];
  t.notOk(policy?.hasAttribute('Format'), 'SP04: no NameIDPolicy Format');
  t.equal(root.getElementsByTagNameNS(SAMLP, 'RequestedAuthnContext').length, 0, 'SP07: no RequestedAuthnContext unless asked');
  t.notOk(root.hasAttribute('ForceAuthn'));
  t.notOk(root.hasAttribute('IsPassive'));

  t.equal(query.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
  const signedPart = rawQuery.split('&').filter((p) => !p.startsWith('Signature=')).join('&');
  t.ok(
    createVerify('sha256').update(signedPart).verify(signing.certPem, Buffer.from(query.get('Signature') ?? '', 'base64')),
    'signed with fedgate’s signing key',
  );

  const id = root.getAttribute('ID') ?? '';
  t.match(id, /^_[0-9a-f]{40}$/);
  t.same(JSON.parse((await store.get(`saml-sp:req:${id}`)) ?? 'null'), { loginId: 'login-1', idp: entityId });
  await store.close();
});

t.test('ForceAuthn, IsPassive and RequestedAuthnContext are passed upstream (exact)', async (t) => {
  const entityId = 'https://idp.example.org/idp';
  const { backend, store } = backendWith([idpRecord(entityId)]);
  const refeds = ['https://refeds.org/profile/mfa', 'https://refeds.org/profile/sfa'];
  const { res } = await start(backend, entityId, {
    id: 'login-2',
    request: request({ forceAuthn: true, isPassive: true, requestedAuthnContext: { comparison: 'minimum', classRefs: refeds } }),
  });
  const { root } = sentRequest(res.headers.location as string);
  t.equal(root.getAttribute('ForceAuthn'), 'true');
  t.equal(root.getAttribute('IsPassive'), 'true');
  const rac = root.getElementsByTagNameNS(SAMLP, 'RequestedAuthnContext')[0];
  t.equal(rac?.getAttribute('Comparison'), 'exact');
  t.same(
    Array.from(rac?.getElementsByTagNameNS(SAML, 'AuthnContextClassRef') ?? []).map((e) => e.textContent),
    refeds,
  );
  await store.close();
});

t.test('signing: by configuration, and always for IdPs that want it', async (t) => {
  const plain = 'https://plain.example.org/idp';
  const wants = 'https://wants.example.org/idp';
  const { backend, store } = backendWith([idpRecord(plain), idpRecord(wants, { wantAuthnRequestsSigned: true })], {
    backends: { saml: { signAuthnRequests: false } },
  });
  const unsigned = sentRequest((await start(backend, plain, { id: 'l3', request: request() })).res.headers.location as string);
  t.notOk(unsigned.query.has('Signature'), 'unsigned when neither side asks');
  const signed = sentRequest((await start(backend, wants, { id: 'l4', request: request() })).res.headers.location as string);
  t.ok(signed.query.has('Signature'), 'signed for an IdP whose metadata sets WantAuthnRequestsSigned');
  await store.close();
});

t.test('an IdP fedgate cannot send a user to', async (t) => {
  const postOnly = 'https://post-only.example.org/idp';
  const { backend, store } = backendWith([
    idpRecord(postOnly, { singleSignOnServices: [{ binding: BINDINGS.post, location: SSO }] }),
    { ...idpRecord('https://sp.example.org/sp'), idp: undefined },
  ]);
  const unknown = await start(backend, 'https://nowhere.example.org/idp', { id: 'l5', request: request() });
  t.type(unknown.error, UnknownIdentityProviderError);
  t.equal(unknown.res.statusCode, 403);
  const notAnIdp = await start(backend, 'https://sp.example.org/sp', { id: 'l6', request: request() });
  t.type(notAnIdp.error, UnknownIdentityProviderError);
  const noRedirect = await start(backend, postOnly, { id: 'l7', request: request() });
  t.type(noRedirect.error, NoUpstreamAvailableError);
  t.match(noRedirect.error?.message, /no HTTP-Redirect SingleSignOnService/);
  await store.close();
});
