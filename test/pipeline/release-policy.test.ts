import t from 'tap';
import { testFilterServices } from '../helpers/pipeline.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import type { PipelineInput } from '../../src/core/flow.js';
import type { Attributes, Identity } from '../../src/core/model.js';
import type { ServiceRegistration } from '../../src/core/registration.js';
import { Pipeline } from '../../src/pipeline/runner.js';

const CATEGORY = {
  rands: 'http://refeds.org/category/research-and-scholarship',
  anonymous: 'https://refeds.org/category/anonymous',
  pseudonymous: 'https://refeds.org/category/pseudonymous',
  personalized: 'https://refeds.org/category/personalized',
  coco: 'https://refeds.org/category/code-of-conduct/v2',
};
const SP = 'https://wiki.example.org/shibboleth';

const services = testFilterServices(t);

/** Everything a proxy might hold for a user after the other filters ran. */
const ALICE: Attributes = {
  eduPersonPrincipalName: ['alice@example.org'],
  eduPersonUniqueId: ['7a1c0e9b3f5d4c2e@example.org'],
  voPersonID: ['1a2b3c4d@proxy.example.org'],
  'subject-id': ['5e6f7a8b@proxy.example.org'],
  'pairwise-id': ['9c0d1e2f@proxy.example.org'],
  mail: ['alice@example.org'],
  displayName: ['Alice Andersson'],
  givenName: ['Alice'],
  sn: ['Andersson'],
  uid: ['alice'],
  eduPersonScopedAffiliation: ['member@example.org', 'faculty@example.org'],
  schacHomeOrganization: ['example.org'],
  eduPersonAssurance: ['https://refeds.org/assurance', 'https://refeds.org/assurance/IAP/low'],
  eduPersonEntitlement: [
    'urn:geant:example.org:group:vo1#proxy.example.org',
    'urn:geant:example.org:group:vo1:sub#proxy.example.org',
    'urn:geant:example.org:group:vo10#proxy.example.org',
    'urn:geant:example.org:group:vo2#proxy.example.org',
  ],
  sshPublicKey: ['ssh-ed25519 AAAA'],
};

function service(overrides: Partial<ServiceRegistration> = {}): ServiceRegistration {
  return { id: SP, protocol: 'saml', name: {}, entityCategories: [], requestedAttributes: [], ...overrides };
}

const requesting = (...names: string[]) => names.map((name) => ({ name, required: false }));

async function release(options: Record<string, unknown>, registration: ServiceRegistration, frontendState: Record<string, unknown> = {}) {
  const pipeline = await Pipeline.create(parseConfig({ pipeline: [{ filter: 'release-policy', ...options }] }).pipeline, services, { explain: false });
  const identity: Identity = {
    issuer: 'https://idp.example.org/idp/shibboleth',
    protocol: 'saml',
    subject: { id: 'abc' },
    attributes: ALICE,
    authn: { instant: '2026-11-23T10:00:00Z', contextClassRefs: [] },
  };
  const input: PipelineInput = {
    request: { frontend: 'saml-idp', requester: registration.id, forceAuthn: false, isPassive: false, idpHints: [], frontendState },
    service: registration,
    upstream: undefined,
  };
  const { identity: out, trace } = await pipeline.explain(identity, input);
  const notes = trace.steps[0]?.notes ?? [];
  return { released: out.attributes, notes, note: (name: string) => notes.find((n) => n.startsWith(`${name}:`)) };
}

const names = (attributes: Attributes) => Object.keys(attributes).sort();

t.test('default deny: with no rule nothing leaves, and every drop has its reason', async (t) => {
  const { released, note } = await release({}, service());
  t.same(released, {});
  for (const name of Object.keys(ALICE)) t.equal(note(name), `${name}: no rule allows it for this service`);
});

t.test('an R&S service that requests nothing gets the whole R&S bundle, and nothing else', async (t) => {
  const { released, note, notes } = await release({}, service({ entityCategories: [CATEGORY.rands, CATEGORY.coco] }));
  t.same(names(released), [
    'displayName', 'eduPersonAssurance', 'eduPersonPrincipalName', 'eduPersonScopedAffiliation',
    'eduPersonUniqueId', 'givenName', 'mail', 'sn', 'subject-id', 'voPersonID',
  ]);
  t.same(released.eduPersonScopedAffiliation, ALICE.eduPersonScopedAffiliation, 'every value');
  t.equal(note('mail'), 'mail: released by R&S bundle');
  t.equal(note('eduPersonEntitlement'), 'eduPersonEntitlement: no rule allows it for this service');
  t.equal(note('pairwise-id'), 'pairwise-id: no rule allows it for this service');
  t.match(notes[0], /^policy: rule default; R&S bundle; the service requests no attributes/);
});

t.test('an R&S service that requests attributes gets requested ∩ bundle', async (t) => {
  const { released, note } = await release({}, service({ entityCategories: [CATEGORY.rands], requestedAttributes: requesting('mail', 'displayName', 'uid') }));
  t.same(names(released), ['displayName', 'mail']);
  t.equal(note('eduPersonPrincipalName'), "eduPersonPrincipalName: allowed by R&S bundle, but not among the RequestedAttributes in the service's metadata");
  t.equal(note('uid'), 'uid: requested by the service, but no rule allows it');
});

t.test('a non-R&S service with RequestedAttributes gets only what is both requested and allowed', async (t) => {
  const options = { default: { allow: ['mail', 'uid', 'eduPersonScopedAffiliation'] } };
  const { released, note } = await release(options, service({ requestedAttributes: requesting('mail', 'uid', 'displayName') }));
  t.same(released, { mail: ALICE.mail, uid: ALICE.uid });
  t.equal(note('displayName'), 'displayName: requested by the service, but no rule allows it');
  t.equal(note('eduPersonScopedAffiliation'), "eduPersonScopedAffiliation: allowed by default.allow, but not among the RequestedAttributes in the service's metadata");
  t.equal(note('sn'), 'sn: not requested by the service and no rule allows it');

  const ignoring = await release({ ...options, honourRequestedAttributes: false }, service({ requestedAttributes: requesting('mail') }));
  t.same(names(ignoring.released), ['eduPersonScopedAffiliation', 'mail', 'uid'], 'honourRequestedAttributes: false');
  t.match(ignoring.notes[0], /RequestedAttribute ignored/);
});

t.test("the service's subject-id:req counts as a request for that identifier", async (t) => {
  const registration = service({ entityCategories: [CATEGORY.rands], requestedAttributes: requesting('mail'), subjectIdRequirement: 'subject-id' });
  t.same(names((await release({}, registration)).released), ['mail', 'subject-id']);
});

t.test('Anonymous beats Personalized, and RequestedAttribute does not narrow access-category bundles', async (t) => {
  const { released, notes } = await release({}, service({ entityCategories: [CATEGORY.personalized, CATEGORY.anonymous], requestedAttributes: requesting('mail') }));
  t.same(released, { eduPersonScopedAffiliation: ALICE.eduPersonScopedAffiliation, schacHomeOrganization: ALICE.schacHomeOrganization });
  t.ok(notes.includes('Anonymous Access wins over Personalized Access: the most privacy-preserving category applies'));
});

t.test('Pseudonymous beats R&S; Personalized and R&S add up', async (t) => {
  const pseudonymous = await release({}, service({ entityCategories: [CATEGORY.rands, CATEGORY.pseudonymous] }));
  t.same(names(pseudonymous.released), ['eduPersonAssurance', 'eduPersonScopedAffiliation', 'pairwise-id', 'schacHomeOrganization']);
  t.ok(pseudonymous.notes.includes('Pseudonymous Access wins over R&S: the most privacy-preserving category applies'));

  const personalized = await release({}, service({ entityCategories: [CATEGORY.personalized, CATEGORY.rands] }));
  t.ok(personalized.released['subject-id'] && personalized.released.eduPersonPrincipalName, 'subject-id from Personalized, ePPN from R&S');
  t.equal(personalized.note('mail'), 'mail: released by Personalized Access bundle, R&S bundle');
});

t.test('value filters let only matching values out', async (t) => {
  const options = {
    services: {
      [SP]: {
        allow: [
          { attribute: 'eduPersonEntitlement', matches: 'urn:geant:example\\.org:group:vo1([:#].*)?' },
          { attribute: 'eduPersonScopedAffiliation', startsWith: 'member@' },
        ],
      },
    },
  };
  const { released, note } = await release(options, service());
  t.same(released.eduPersonEntitlement, ['urn:geant:example.org:group:vo1#proxy.example.org', 'urn:geant:example.org:group:vo1:sub#proxy.example.org'], 'vo1 and its subgroups, not vo10');
  t.same(released.eduPersonScopedAffiliation, ['member@example.org']);
  t.equal(note('eduPersonEntitlement'), `eduPersonEntitlement: 2 of 4 values match no value filter of services[${SP}].allow`);

  const plainPrefix = await release({ default: { allow: [{ attribute: 'eduPersonEntitlement', startsWith: 'urn:geant:example.org:group:vo1' }] } }, service());
  t.equal(plainPrefix.released.eduPersonEntitlement?.length, 3, 'a bare prefix also matches vo10: anchor with ":" or use matches');
});

t.test('a service entry replaces the default, and can give an OIDC client a category', async (t) => {
  const options = { default: { allow: ['mail'] }, services: { 'client-1': { entityCategories: [CATEGORY.rands], allow: ['uid'] } } };
  const client = await release(options, service({ id: 'client-1', protocol: 'oidc' }));
  t.ok(client.released.eduPersonPrincipalName && client.released.uid, 'R&S bundle and its own allow list');
  t.match(client.notes[0], /^policy: rule services\[client-1\]; R&S bundle$/);
  t.same(names((await release(options, service())).released), ['mail'], 'other services get the default');
});

t.test('"*" lets out everything but identifiers, which must be named', async (t) => {
  const { released, note } = await release({ default: { allow: ['*', 'voPersonID'] } }, service());
  t.ok(released.mail && released.eduPersonEntitlement && released.sshPublicKey);
  t.same(released.voPersonID, ALICE.voPersonID, 'named identifier');
  for (const id of ['eduPersonPrincipalName', 'eduPersonUniqueId', 'subject-id', 'pairwise-id']) {
    t.notOk(released[id], `${id} stays`);
    t.match(note(id), /an identifier: "\*" does not cover identifiers/);
  }
});

t.test('OIDC scopes of the request let their attributes out', async (t) => {
  const client = service({ id: 'client-1', protocol: 'oidc' });
  const profile = await release({}, client, { scopes: ['openid', 'profile', 'no-such-scope'] });
  t.same(names(profile.released), ['displayName', 'givenName', 'pairwise-id', 'sn', 'subject-id', 'uid']);
  t.equal(profile.note('mail'), 'mail: no rule allows it for this service');
  t.ok(profile.notes.includes('scope no-such-scope lets no attribute out (not in the scopes table)'));
  t.match(profile.notes[0], /scopes: openid profile no-such-scope$/);

  const aarc = await release({}, client, { scopes: ['openid', 'aarc', 'eduperson_entitlement'] });
  t.ok(aarc.released.voPersonID && aarc.released.mail && aarc.released.eduPersonEntitlement);
  t.equal(aarc.note('voPersonID'), 'voPersonID: released by scope aarc');

  const configured = await release({ scopes: { email: [], vo: ['eduPersonEntitlement'] } }, client, { scopes: ['email', 'vo'] });
  t.same(names(configured.released), ['eduPersonEntitlement'], 'email disabled, custom scope added');
  t.same((await release({}, client, { scopes: 'openid' })).released, {}, 'scopes must be a string array');
});

t.test('configuration mistakes are reported with their path', async (t) => {
  let problems: string[] = [];
  try {
    parseConfig({
      pipeline: [
        {
          filter: 'release-policy',
          default: { allow: ['mial', { attribute: 'eduPersonEntitlement' }, { attribute: 'eduPersonEntitlement', matches: '(' }] },
          scopes: { profile: ['displayname'] },
        },
      ],
    });
  } catch (err) {
    problems = (err as ConfigError).problems;
  }
  t.match(problems, [
    /^pipeline\[0\]\.default\.allow\[0\]: unknown attribute "mial" \(known: eduPersonPrincipalName, /,
    /^pipeline\[0\]\.default\.allow\[1\]: give startsWith or matches/,
    /^pipeline\[0\]\.default\.allow\[2\]\.matches: not a regular expression: \(/,
    /^pipeline\[0\]\.scopes\.profile\[0\]: unknown attribute "displayname"/,
  ]);
});
