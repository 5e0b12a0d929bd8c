import { createHmac } from 'node:crypto';
import t from 'tap';
import { filterOptionProblems } from '../helpers/pipeline.js';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { NAMEID_FORMAT } from '../../src/config/schema.js';
import type { PipelineInput } from '../../src/core/flow.js';
import type { Identity } from '../../src/core/model.js';
import type { UpstreamRegistration } from '../../src/core/registration.js';
import { ConfigError, NoUsableIdentifierError } from '../../src/core/errors.js';
import { userKey } from '../../src/frontends/saml-idp/nameid.js';
import type { FilterServices } from '../../src/pipeline/filter.js';
import { Pipeline } from '../../src/pipeline/runner.js';
import { MemoryStore } from '../../src/store/memory.js';

const IDP = 'https://idp.example.org/idp/shibboleth';
const OTHER_IDP = 'https://idp.other.example/idp/shibboleth';
const SP = 'https://sp.example.com/shibboleth';
const RAF_EPPN_NO_REASSIGN = 'https://refeds.org/assurance/ID/eppn-unique-no-reassign';

// spec/attributes.md §3
const SUBJECT_ID_SYNTAX = /^[A-Za-z0-9][A-Za-z0-9=-]{0,126}@[A-Za-z0-9][A-Za-z0-9.-]{0,126}$/;
const UNIQUE_ID_SYNTAX = /^[A-Za-z0-9]{1,64}@.{1,256}$/;

const store = new MemoryStore();
t.teardown(() => store.close());
const servicesWith = (identifierSalt: string, baseUrl = 'https://proxy.example.net:8443/fedgate'): FilterServices => ({
  store,
  identifierSalt,
  baseUrl,
  log: pino({ level: 'silent' }),
  addRoutes: () => {},
});

const upstream: UpstreamRegistration = {
  id: IDP,
  backend: 'saml',
  displayName: {},
  hidden: false,
  protocol: 'saml',
  social: false,
  scopes: [{ value: 'example.org', regexp: false }],
  entityAttributes: {},
};

const inputFor = (service = SP): PipelineInput => ({
  request: { frontend: 'saml-idp', requester: service, forceAuthn: false, isPassive: false, idpHints: [], frontendState: {} },
  service: { id: service, protocol: 'saml', name: {}, entityCategories: [], requestedAttributes: [] },
  upstream,
});

const identityWith = (attributes: Record<string, string[]>, extra: Partial<Identity> = {}): Identity => ({
  issuer: IDP,
  protocol: 'saml',
  subject: { id: '_transient123', format: NAMEID_FORMAT.transient },
  attributes,
  authn: { instant: '2026-11-23T10:00:00Z', contextClassRefs: [] },
  ...extra,
});

const pipelineOf = (options: Record<string, unknown> = {}, salt = 'salt-one', baseUrl?: string) =>
  Pipeline.create(parseConfig({ pipeline: [{ filter: 'community-id', ...options }] }).pipeline, servicesWith(salt, baseUrl), { explain: false });

/** The community ID for `identity` through a fresh filter instance, as after a restart. */
const idOf = async (identity: Identity, options: Record<string, unknown> = {}, salt = 'salt-one', service = SP) => {
  const out = await (await pipelineOf(options, salt)).run(identity, inputFor(service));
  return out.attributes.voPersonID?.[0];
};

const alice = identityWith({ 'subject-id': ['alice7@example.org'] });

t.test('the ID is the salted HMAC of upstream, kind and value, scoped, and the same in every attribute', async (t) => {
  const out = await (await pipelineOf({ scope: 'community.example.net' })).run(alice, inputFor());
  const expected = `${createHmac('sha256', 'salt-one').update(`${IDP}!subject-id!alice7@example.org`).digest('hex')}@community.example.net`;
  t.same(out.attributes.voPersonID, [expected], 'the documented formula: changing it would change every user’s ID');
  t.equal(out.communityId, expected, 'kept on the identity for the frontends, whatever the release policy does');
  t.same(out.attributes.eduPersonUniqueId, [expected]);
  t.same(out.attributes['subject-id'], [expected]);
  t.match(expected, UNIQUE_ID_SYNTAX);
  t.match(expected, SUBJECT_ID_SYNTAX);
  t.match(expected, /^[0-9a-f]{64}@/);
});

t.test('the default scope is the host of server.baseUrl, without its port', async (t) => {
  t.match(await idOf(alice), /^[0-9a-f]{64}@proxy\.example\.net$/);
  await t.rejects(pipelineOf({}, 'salt-one', 'http://[::1]:8080'), ConfigError, 'a host that is no valid scope needs the option');
});

t.test('stable across restarts and instances sharing the salt; different per IdP and per salt', async (t) => {
  const first = await idOf(alice);
  t.equal(await idOf(alice), first, 'a second filter instance with the same salt');
  t.not(await idOf({ ...alice, issuer: OTHER_IDP }), first, 'the same value from another IdP is another person');
  t.not(await idOf(alice, {}, 'salt-two'), first, 'another deployment salt');
});

t.test('case-insensitive identifiers are normalised before hashing', async (t) => {
  t.equal(await idOf(identityWith({ 'subject-id': ['ALICE7@Example.ORG'] })), await idOf(alice));
  const eppn = { eppnNonReassignable: true };
  t.equal(await idOf(identityWith({ eduPersonPrincipalName: ['Alice@EXAMPLE.org'] }), eppn), await idOf(identityWith({ eduPersonPrincipalName: ['alice@example.org'] }), eppn));
});

t.test('the preference order picks the best identifier released, and is configurable', async (t) => {
  const all = identityWith(
    {
      'subject-id': ['alice7@example.org'],
      eduPersonUniqueId: ['u1234@example.org'],
      eduPersonPrincipalName: ['alice@example.org'],
      'pairwise-id': ['pw42@example.org'],
      eduPersonAssurance: [RAF_EPPN_NO_REASSIGN],
    },
    { subject: { id: 'persistent-1', format: NAMEID_FORMAT.persistent } },
  );
  const only = async (attributes: Record<string, string[]>, extra: Partial<Identity> = {}) => idOf(identityWith(attributes, extra));
  t.equal(await idOf(all), await only({ 'subject-id': ['alice7@example.org'] }), 'subject-id first');
  const rest = { ...all, attributes: { ...all.attributes, 'subject-id': [] } };
  t.equal(await idOf(rest), await only({ eduPersonUniqueId: ['u1234@example.org'] }), 'then eduPersonUniqueId');
  t.equal(
    await idOf(all, { preference: ['eduPersonPrincipalName', 'subject-id'] }),
    await only({ eduPersonPrincipalName: ['alice@example.org'], eduPersonAssurance: [RAF_EPPN_NO_REASSIGN] }),
    'configured order',
  );
  t.equal(
    await idOf(all, { preference: ['persistent-nameid', 'pairwise-id'] }),
    await only({}, { subject: { id: 'persistent-1', format: NAMEID_FORMAT.persistent } }),
    'persistent NameID',
  );
  t.equal(await idOf(all, { preference: ['pairwise-id'] }), await only({ 'pairwise-id': ['pw42@example.org'] }), 'upstream pairwise-id');
  t.not(await idOf(all, { preference: ['pairwise-id'] }), await idOf(all), 'different kinds give different IDs');
});

t.test('an identifier that breaks its syntax or is ambiguous is skipped', async (t) => {
  const fallback = await idOf(identityWith({ eduPersonUniqueId: ['u1234@example.org'] }));
  t.equal(await idOf(identityWith({ 'subject-id': ['_bad@example.org'], eduPersonUniqueId: ['u1234@example.org'] })), fallback);
  t.equal(await idOf(identityWith({ 'subject-id': ['a@example.org', 'b@example.org'], eduPersonUniqueId: ['u1234@example.org'] })), fallback);
  t.equal(await idOf(identityWith({ 'subject-id': ['a@example.org', 'A@EXAMPLE.ORG'] })), await idOf(identityWith({ 'subject-id': ['a@example.org'] })), 'equal ignoring case is one value');
});

t.test('ePPN counts only when known never to be reassigned', async (t) => {
  const eppnOnly = identityWith({ eduPersonPrincipalName: ['alice@example.org'] });
  await t.rejects(idOf(eppnOnly), NoUsableIdentifierError, 'by default only with the RAF value');
  t.ok(await idOf(identityWith({ eduPersonPrincipalName: ['alice@example.org'], eduPersonAssurance: [RAF_EPPN_NO_REASSIGN] })));
  t.ok(await idOf(eppnOnly, { eppnNonReassignable: [IDP] }), 'the IdP is listed');
  await t.rejects(idOf(eppnOnly, { eppnNonReassignable: [OTHER_IDP] }), NoUsableIdentifierError, 'another IdP is listed');
  await t.rejects(
    idOf(identityWith({ eduPersonPrincipalName: ['alice@example.org'], eduPersonAssurance: [RAF_EPPN_NO_REASSIGN] }), { eppnNonReassignable: false }),
    NoUsableIdentifierError,
    'false refuses ePPN even with the RAF value',
  );
});

t.test('a transient NameID is never used; no usable identifier refuses the login with a clear message', async (t) => {
  const transientOnly = identityWith({ mail: ['alice@example.org'] });
  const error = await (await pipelineOf()).run(transientOnly, inputFor()).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, NoUsableIdentifierError);
  const denied = error as NoUsableIdentifierError;
  t.equal(denied.httpStatus, 403);
  t.equal(denied.samlStatus, undefined, 'shown as fedgate page, which tells the user what to ask for; the SP gets no status');
  t.match(denied.userMessage, /organisation did not release a persistent identifier/);
  t.match(denied.message, /NameID is urn:oasis:names:tc:SAML:2\.0:nameid-format:transient, not persistent/);
  t.ok(await idOf(identityWith({}, { subject: { id: 'persistent-1', format: NAMEID_FORMAT.persistent } })), 'a persistent one is used');
});

t.test('OIDC upstreams: iss + sub, case-sensitive', async (t) => {
  const google = identityWith({}, { issuer: 'https://accounts.google.com', protocol: 'oidc', subject: { id: '110169484474386276334' } });
  const id = await idOf(google);
  t.match(id, /^[0-9a-f]{64}@proxy\.example\.net$/);
  t.not(await idOf({ ...google, issuer: 'https://orcid.org' }), id, 'the same sub at another issuer');
  const github = identityWith({}, { issuer: 'https://github.com', protocol: 'oauth2', subject: { id: 'AbC' } });
  t.not(await idOf(github), await idOf({ ...github, subject: { id: 'abc' } }));
  t.ok(await idOf(github));
});

t.test('pairwise-id: per service, stable, in subject-id syntax; upstream targeted identifiers never leave', async (t) => {
  const upstreamTargeted = identityWith({
    'subject-id': ['alice7@example.org'],
    'pairwise-id': ['upstreampw@example.org'],
    eduPersonTargetedID: [`${IDP}!https://proxy.example.net!xyz`],
  });
  const pipeline = await pipelineOf();
  const forSp = await pipeline.run(upstreamTargeted, inputFor());
  const forOther = await pipeline.run(upstreamTargeted, inputFor('https://other-sp.example.com'));
  const pairwise = forSp.attributes['pairwise-id']?.[0] ?? '';
  t.match(pairwise, SUBJECT_ID_SYNTAX);
  t.match(pairwise, /^[0-9a-f]{64}@proxy\.example\.net$/);
  t.not(forOther.attributes['pairwise-id']?.[0], pairwise, 'another service, another pairwise-id');
  t.not(pairwise, forSp.attributes.voPersonID?.[0]);
  const communityId = forSp.attributes.voPersonID?.[0] ?? '';
  t.equal(pairwise, `${createHmac('sha256', 'salt-one').update(`${communityId}!${SP}`).digest('hex')}@proxy.example.net`);
  const again = await (await pipelineOf()).run(upstreamTargeted, inputFor());
  t.same(again.attributes['pairwise-id'], [pairwise], 'stable');
  t.equal(forSp.attributes.eduPersonTargetedID, undefined, 'ePTID removed');
  t.notOk(JSON.stringify(forSp.attributes).includes('upstreampw'), 'upstream pairwise-id replaced');
});

t.test('emit limits what is set; targeted identifiers are removed anyway', async (t) => {
  const identity = identityWith({ 'subject-id': ['alice7@example.org'], 'pairwise-id': ['upstreampw@example.org'] });
  const out = await (await pipelineOf({ emit: ['voPersonID'] })).run(identity, inputFor());
  t.same(Object.keys(out.attributes).sort(), ['subject-id', 'voPersonID']);
  t.same(out.attributes['subject-id'], ['alice7@example.org'], 'the upstream subject-id is not replaced when not emitted');
});

t.test('the SAML frontend keys persistent NameIDs on the community ID', async (t) => {
  const out = await (await pipelineOf()).run(identityWith({ eduPersonUniqueId: ['u1234@example.org'], eduPersonPrincipalName: ['alice@example.org'] }), inputFor());
  t.equal(userKey(out), out.attributes.voPersonID?.[0]);
});

t.test('scope-check before community-id: an identifier with a foreign scope does not count', async (t) => {
  const pipeline = await Pipeline.create(
    parseConfig({ pipeline: [{ filter: 'scope-check' }, { filter: 'community-id' }] }).pipeline,
    servicesWith('salt-one'),
    { explain: false },
  );
  const spoofed = identityWith({ 'subject-id': ['victim@other.example'], eduPersonUniqueId: ['u1234@example.org'] });
  const out = await pipeline.run(spoofed, inputFor());
  t.same(out.attributes.voPersonID, [await idOf(identityWith({ eduPersonUniqueId: ['u1234@example.org'] }))]);
  await t.rejects(pipeline.run(identityWith({ 'subject-id': ['victim@other.example'] }), inputFor()), NoUsableIdentifierError);
});

t.test('explain names the kind used and the ones skipped', async (t) => {
  const pipeline = await Pipeline.create(parseConfig({ pipeline: [{ filter: 'community-id' }] }).pipeline, servicesWith('salt-one'), { explain: true });
  const { trace } = await pipeline.explain(identityWith({ eduPersonPrincipalName: ['alice@example.org'], eduPersonUniqueId: ['u1234@example.org'] }), inputFor());
  t.same(trace.steps[0]?.notes, [`community ID derived from the eduPersonUniqueId released by ${IDP}`]);
  const refused = await pipeline.explain(identityWith({ eduPersonPrincipalName: ['alice@example.org'] }), inputFor());
  t.type(refused.error, NoUsableIdentifierError);
  t.match(refused.trace.steps[0]?.notes, [/^not derived from eduPersonPrincipalName: .*reassigned/, /^not derived from persistent-nameid: the NameID is .*transient/, /^denied: /]);
});

t.test('bad options are refused with their path in the pipeline', async (t) => {
  const problems = (options: Record<string, unknown>) => filterOptionProblems('community-id', options);
  t.match(problems({ preference: ['subject-id', 'email'] }), [/^pipeline\[0\]\.preference\[1\]: /]);
  t.match(problems({ preference: ['subject-id', 'subject-id'] }), [/^pipeline\[0\]\.preference: .*at most once/]);
  t.match(problems({ scope: 'bad_scope.example' }), [/^pipeline\[0\]\.scope: /]);
  t.match(problems({ emit: ['mail'] }), [/^pipeline\[0\]\.emit\[0\]: /]);
  t.match(problems({ eppnNonReassignable: 'yes' }), [/^pipeline\[0\]\.eppnNonReassignable/]);
  t.same(problems({ scope: 'Community.Example.net', preference: ['oidc-sub'], eppnNonReassignable: [IDP], emit: [] }), []);
});
