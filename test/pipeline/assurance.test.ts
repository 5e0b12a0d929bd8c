import t from 'tap';
import { filterOptionProblems, testFilterServices } from '../helpers/pipeline.js';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.js';
import type { PipelineInput } from '../../src/core/flow.js';
import type { Identity } from '../../src/core/model.js';
import type { UpstreamRegistration } from '../../src/core/registration.js';
import { AssuranceTooLowError } from '../../src/core/errors.js';
import { errorPage } from '../../src/http/errors.js';
import { Pipeline } from '../../src/pipeline/runner.js';

const R = 'https://refeds.org/assurance';
const MFA = 'https://refeds.org/profile/mfa';
const LOW = 'https://aai.egi.eu/LoA#Low';
const SUBSTANTIAL = 'https://aai.egi.eu/LoA#Substantial';
const HIGH = 'https://aai.egi.eu/LoA#High';
const IDP = 'https://idp.university.example/idp';
const SWAMID = 'http://www.swamid.se/';
const HOUR = 60 * 60 * 1000;

const logLines: { msg: string; dropped?: string[]; level: number }[] = [];
const services = testFilterServices(t, {
  log: pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(JSON.parse(chunk.toString()) as (typeof logLines)[number]);
        done();
      },
    }),
  ),
});

function upstream(overrides: Partial<UpstreamRegistration> = {}): UpstreamRegistration {
  return {
    id: IDP,
    backend: 'saml',
    protocol: 'saml',
    social: false,
    displayName: { en: 'Demo University' },
    hidden: false,
    scopes: [{ value: 'university.example', regexp: false }],
    entityAttributes: {},
    ...overrides,
  };
}

const GITHUB = upstream({ id: 'https://github.com', protocol: 'oauth2', social: true, displayName: { en: 'GitHub' }, scopes: [] });

function input(up: UpstreamRegistration | undefined = upstream(), service = 'https://wiki.example.org/sp'): PipelineInput {
  return {
    request: { frontend: 'saml-idp', requester: service, forceAuthn: false, isPassive: false, idpHints: [], frontendState: {} },
    service: { id: service, protocol: 'saml', name: { en: 'Research Wiki' }, entityCategories: [], requestedAttributes: [] },
    upstream: up,
  };
}

/** A home-IdP login 2 hours ago, with a community ID and an affiliation; `assurance` from the IdP. */
function identity(assurance: string[] = [], overrides: Partial<Identity> = {}, authn: Partial<Identity['authn']> = {}): Identity {
  return {
    issuer: IDP,
    protocol: 'saml',
    subject: { id: 'abc' },
    attributes: {
      voPersonID: ['f3a9c1@proxy.example.org'],
      eduPersonScopedAffiliation: ['member@university.example'],
      ...(assurance.length > 0 ? { eduPersonAssurance: assurance } : {}),
    },
    authn: {
      instant: new Date(Date.now() - 2 * HOUR).toISOString(),
      contextClassRefs: ['urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'],
      ...authn,
    },
    ...overrides,
  };
}

const pipelineOf = (options: Record<string, unknown> = {}) =>
  Pipeline.create(parseConfig({ pipeline: [{ filter: 'assurance', ...options }] }).pipeline, services, { explain: false });

async function run(options: Record<string, unknown>, id: Identity, pipelineInput = input()) {
  return (await pipelineOf(options)).run(id, pipelineInput);
}

const assuranceOf = (id: Identity) => id.attributes.eduPersonAssurance ?? [];
const trustIdp = (extra: Record<string, unknown> = {}) => ({ trust: [{ upstreams: [IDP], ...extra }] });
const IAP_HIGH_ASSERTED = [R, `${R}/IAP/high`, `${R}/IAP/medium`, `${R}/IAP/low`];

t.test('an untrusted IdP asserting IAP/high: its values are dropped (logged), fedgate’s own remain', async (t) => {
  logLines.length = 0;
  const out = await run({}, identity(IAP_HIGH_ASSERTED));
  t.same(assuranceOf(out), [R, `${R}/ID/unique`, `${R}/IAP/low`, `${R}/ATP/ePA-1m`, `${R}/ATP/ePA-1d`]);
  const line = logLines.find((l) => l.msg === 'dropped upstream assurance values');
  t.equal(line?.level, 30, 'logged at info');
  t.same(line?.dropped, [R, `${R}/IAP/high`, `${R}/IAP/medium`, `${R}/IAP/low`]);
});

t.test('a trusted IdP (by entityID) passes IAP/high, expanded cumulatively, and cappuccino follows', async (t) => {
  const out = await run(trustIdp(), identity([R, `${R}/IAP/high`]));
  t.same(assuranceOf(out), [
    R,
    `${R}/ID/unique`,
    `${R}/IAP/low`,
    `${R}/IAP/medium`,
    `${R}/IAP/high`,
    `${R}/ATP/ePA-1m`,
    `${R}/ATP/ePA-1d`,
    `${R}/profile/cappuccino`,
  ]);
  t.notOk(assuranceOf(out).includes(`${R}/profile/espresso`), 'no espresso without MFA');
});

t.test('trust by registrationAuthority comes from the upstream’s verified registration', async (t) => {
  const options = { trust: [{ registrationAuthorities: [SWAMID] }] };
  const swamid = await run(options, identity(IAP_HIGH_ASSERTED), input(upstream({ registrationAuthority: SWAMID })));
  t.ok(assuranceOf(swamid).includes(`${R}/IAP/high`));
  const other = await run(options, identity(IAP_HIGH_ASSERTED), input(upstream({ registrationAuthority: 'https://incommon.org' })));
  t.notOk(assuranceOf(other).includes(`${R}/IAP/medium`));
});

t.test('requireSirtfi: only an upstream whose metadata carries Sirtfi is trusted', async (t) => {
  const options = trustIdp({ requireSirtfi: true });
  const plain = await run(options, identity(IAP_HIGH_ASSERTED));
  t.notOk(assuranceOf(plain).includes(`${R}/IAP/high`));
  const sirtfi = upstream({ entityAttributes: { 'urn:oasis:names:tc:SAML:attribute:assurance-certification': ['https://refeds.org/sirtfi'] } });
  const out = await run(options, identity(IAP_HIGH_ASSERTED), input(sirtfi));
  t.ok(assuranceOf(out).includes(`${R}/IAP/high`));
});

t.test('RAF values pass only when the IdP asserts conformance itself, unless that is not required', async (t) => {
  const withoutConformance = identity([`${R}/IAP/medium`]);
  t.notOk(assuranceOf(await run(trustIdp(), withoutConformance)).includes(`${R}/IAP/medium`));
  t.ok(assuranceOf(await run(trustIdp({ requireConformance: false }), withoutConformance)).includes(`${R}/IAP/medium`));
});

t.test('which values pass is limited per trust entry: IAP/high only from the named IdP', async (t) => {
  const options = {
    trust: [
      { registrationAuthorities: [SWAMID], raf: [R, `${R}/IAP/low`, `${R}/IAP/medium`] },
      { upstreams: ['https://idp.other.example'] },
    ],
  };
  const out = await run(options, identity(IAP_HIGH_ASSERTED), input(upstream({ registrationAuthority: SWAMID })));
  t.ok(assuranceOf(out).includes(`${R}/IAP/medium`));
  t.notOk(assuranceOf(out).includes(`${R}/IAP/high`));
});

t.test('cappuccino exactly when all its components are present', async (t) => {
  const trusted = trustIdp();
  const cappuccino = `${R}/profile/cappuccino`;
  t.ok(assuranceOf(await run(trusted, identity([R, `${R}/IAP/medium`]))).includes(cappuccino), 'all present');
  const cases: [string, Identity, Record<string, unknown>][] = [
    ['no IAP/medium (untrusted upstream)', identity([R, `${R}/IAP/medium`]), {}],
    ['no ID/unique (no community ID)', identity([R, `${R}/IAP/medium`], { attributes: { eduPersonScopedAffiliation: ['member@university.example'], eduPersonAssurance: [R, `${R}/IAP/medium`] } }), trusted],
    ['no ATP/ePA-1m (no affiliation)', identity([R, `${R}/IAP/medium`], { attributes: { voPersonID: ['x@proxy'], eduPersonAssurance: [R, `${R}/IAP/medium`] } }), trusted],
    ['no ATP/ePA-1m (login 40 days old)', identity([R, `${R}/IAP/medium`], {}, { instant: new Date(Date.now() - 40 * 24 * HOUR).toISOString() }), trusted],
  ];
  for (const [what, id, options] of cases) {
    t.notOk(assuranceOf(await run(options, id)).includes(cappuccino), what);
  }
});

t.test('espresso needs REFEDS MFA from an upstream trusted for it; the acr follows', async (t) => {
  const espresso = `${R}/profile/espresso`;
  const mfaLogin = identity([R, `${R}/IAP/high`], {}, { contextClassRefs: [MFA] });
  const trusted = await run(trustIdp({ authnContexts: [MFA] }), mfaLogin);
  t.ok(assuranceOf(trusted).includes(espresso));
  t.same(trusted.authn.contextClassRefs, [MFA]);
  const notForMfa = await run(trustIdp(), mfaLogin);
  t.notOk(assuranceOf(notForMfa).includes(espresso), 'the MFA claim of an IdP not trusted for it does not count');
  t.ok(assuranceOf(notForMfa).includes(`${R}/profile/cappuccino`));
  t.same(notForMfa.authn.contextClassRefs, [SUBSTANTIAL]);
  const noMfa = await run(trustIdp({ authnContexts: [MFA] }), identity([R, `${R}/IAP/high`]));
  t.notOk(assuranceOf(noMfa).includes(espresso), 'no MFA in this login');
});

t.test('an upstream profile value is never passed on without its components', async (t) => {
  const out = await run(trustIdp(), identity([R, `${R}/profile/cappuccino`, `${R}/profile/espresso`]));
  t.notOk(assuranceOf(out).includes(`${R}/profile/cappuccino`));
  t.notOk(assuranceOf(out).includes(`${R}/profile/espresso`));
  const untrusted = await run({}, identity([R, `${R}/IAP/medium`, `${R}/profile/cappuccino`]));
  t.notOk(assuranceOf(untrusted).includes(`${R}/profile/cappuccino`));
});

t.test('misspelled values are read as the RAF values they mean and never emitted', async (t) => {
  const wrong = [R, `${R}/ID/no-eppn-reassign`, `${R}/ID/eppn-reassign-1y`];
  const mapped = assuranceOf(await run(trustIdp(), identity(wrong)));
  t.ok(mapped.includes(`${R}/ID/eppn-unique-no-reassign`));
  t.ok(mapped.includes(`${R}/ID/eppn-unique-reassign-1y`));
  t.notOk(mapped.includes(`${R}/ID/no-eppn-reassign`));
  const unmapped = assuranceOf(await run({ ...trustIdp(), mapWrongSpellings: false }, identity(wrong)));
  t.notOk(unmapped.some((v) => v.includes('eppn')), 'dropped, not emitted');
});

t.test('non-RAF values pass only from upstreams trusted for their prefix', async (t) => {
  const igtf = 'https://igtf.net/ap/authn-assurance/cedar';
  const egi = 'https://aai.egi.eu/LoA#Substantial';
  const options = trustIdp({ otherPrefixes: ['https://igtf.net/ap/authn-assurance/'] });
  const out = assuranceOf(await run(options, identity([R, igtf, egi])));
  t.ok(out.includes(igtf));
  t.notOk(out.includes(egi));
  t.equal(out.at(-1), igtf, 'RAF values first, others after');
  t.notOk(assuranceOf(await run({}, identity([igtf]))).includes(igtf));
});

t.test('a social login: Low, no IAP/medium or ATP even when trusted, ID/unique for the community ID', async (t) => {
  const social = identity([R, `${R}/IAP/medium`], { issuer: GITHUB.id, protocol: 'oauth2' }, { contextClassRefs: [] });
  const out = await run({ trust: [{ upstreams: [GITHUB.id] }] }, social, input(GITHUB));
  t.same(assuranceOf(out), [R, `${R}/ID/unique`, `${R}/IAP/low`]);
  t.same(out.authn.contextClassRefs, [LOW]);
});

t.test('acr mapping: home IdP → Substantial, configurable rules, nothing without a matching rule', async (t) => {
  t.same((await run({}, identity())).authn.contextClassRefs, [SUBSTANTIAL]);
  const forged = await run({}, identity([], {}, { contextClassRefs: [MFA] }));
  t.same(forged.authn.contextClassRefs, [SUBSTANTIAL], 'an untrusted MFA claim is not honoured');
  const custom = { acr: [{ when: { protocol: 'oidc' }, acr: 'https://refeds.org/profile/sfa' }] };
  t.same((await run(custom, identity())).authn.contextClassRefs, [], 'no rule matched: unspecified downstream');
  const removed = { ...input(), upstream: undefined };
  t.same((await run({}, identity(), removed)).authn.contextClassRefs, [], 'an upstream no longer configured matches no social rule');
});

t.test('eppn-unique-no-reassign only when configured and an ePPN is released', async (t) => {
  const withEppn = identity([], { attributes: { eduPersonPrincipalName: ['alice@proxy.example.org'] } });
  t.notOk(assuranceOf(await run({}, withEppn)).includes(`${R}/ID/eppn-unique-no-reassign`));
  t.ok(assuranceOf(await run({ eppnNeverReassigned: true }, withEppn)).includes(`${R}/ID/eppn-unique-no-reassign`));
  t.notOk(assuranceOf(await run({ eppnNeverReassigned: true }, identity())).includes(`${R}/ID/eppn-unique-no-reassign`));
});

t.test('ATP/ePA freshness follows the upstream authentication instant', async (t) => {
  const at = (ms: number) => identity([], {}, { instant: new Date(Date.now() - ms).toISOString() });
  const atp = async (id: Identity, options = {}) => assuranceOf(await run(options, id)).filter((v) => v.includes('/ATP/'));
  t.same(await atp(at(2 * HOUR)), [`${R}/ATP/ePA-1m`, `${R}/ATP/ePA-1d`]);
  t.same(await atp(at(10 * 24 * HOUR)), [`${R}/ATP/ePA-1m`]);
  t.same(await atp(at(40 * 24 * HOUR)), []);
  t.same(await atp(identity([], { attributes: { voPersonID: ['x@proxy'] } })), [], 'no affiliation released');
  t.same(await atp(at(HOUR), { affiliationFreshness: false }), []);
});

t.test('a service minimum level denies a social login with a typed error that says why and what to do', async (t) => {
  const social = identity([], { issuer: GITHUB.id, protocol: 'oauth2' }, { contextClassRefs: [] });
  const options = { minimum: { 'https://wiki.example.org/sp': { level: SUBSTANTIAL } } };
  const error = await (await pipelineOf(options)).run(social, input(GITHUB)).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, AssuranceTooLowError);
  const denied = error as AssuranceTooLowError;
  t.equal(denied.httpStatus, 403);
  t.equal(denied.samlStatus, undefined, 'shown as fedgate page with the advice; the service gets no status');
  t.equal(
    denied.userMessage,
    'Research Wiki requires a login at level “Substantial”, and your login through GitHub has level “Low”. ' +
      'To continue, log in with the account of your home organisation (university or research institute) instead of a social account.',
  );
  t.match(denied.message, /requires level https:\/\/aai\.egi\.eu\/LoA#Substantial \(login has https:\/\/aai\.egi\.eu\/LoA#Low\)/);
  const page = errorPage(denied, 'REF123');
  t.match(page, /your login through GitHub has level “Low”/);
  t.notMatch(page, /<script/);

  t.ok(await (await pipelineOf(options)).run(identity(), input()), 'a home IdP login passes');
  t.ok(await (await pipelineOf(options)).run(social, input(GITHUB, 'https://other.example.org')), 'other services have no minimum');
});

t.test('a minimum that needs MFA tells the user to use it, or why their MFA does not count', async (t) => {
  const message = async (options: Record<string, unknown>, id: Identity) =>
    (await pipelineOf({ ...options, minimum: { default: { level: HIGH } } })).run(id, input()).then(
      () => '',
      (e: AssuranceTooLowError) => e.userMessage,
    );
  const mfaTrusted = trustIdp({ authnContexts: [MFA] });
  const mfaLogin = identity([], {}, { contextClassRefs: [MFA] });
  t.equal(
    await message(mfaTrusted, identity()),
    'Research Wiki requires a login at level “High”, and your login through Demo University has level “Substantial”. ' +
      'To continue, log in with multi-factor authentication (for example an authenticator app or a security key); if Demo University does not offer it, ask its helpdesk.',
  );
  t.equal(await message(mfaTrusted, mfaLogin), '', 'trusted MFA meets High through levelOf');
  t.match(await message(trustIdp(), mfaLogin), /To continue, tell the service’s support that this login service does not accept multi-factor authentication from Demo University, although Demo University reported it\.$/);
  t.match(await message({}, identity()), /To continue, log in through another identity provider if you can \(this login service does not accept multi-factor authentication from Demo University\), or tell the service’s support\.$/);
});

t.test('a minimum assurance (cappuccino) names what is missing; `{}` exempts a service from the default', async (t) => {
  const options = {
    minimum: { default: { assurance: [`${R}/profile/cappuccino`] }, 'https://open.example.org': {} },
  };
  const error = await (await pipelineOf(options)).run(identity(), input()).catch((e: unknown) => e);
  t.type(error, AssuranceTooLowError);
  t.equal(
    (error as AssuranceTooLowError).userMessage,
    'Research Wiki requires REFEDS Cappuccino assurance; your login through Demo University lacks an identity your organisation has verified at the medium level. ' +
      'To continue, ask the helpdesk of Demo University how to have your identity verified at that level.',
  );
  t.ok(await (await pipelineOf(options)).run(identity(), input(upstream(), 'https://open.example.org')));
  t.ok(await (await pipelineOf({ ...options, ...trustIdp() })).run(identity([R, `${R}/IAP/medium`]), input()), 'trusted medium meets it');
});

t.test('explain says why values were dropped and added', async (t) => {
  const pipeline = await Pipeline.create(parseConfig({ pipeline: [{ filter: 'assurance' }] }).pipeline, services, { explain: false });
  const { trace } = await pipeline.explain(identity([R, `${R}/IAP/high`], {}, { contextClassRefs: [MFA] }), input());
  const notes = trace.steps[0]?.notes ?? [];
  t.ok(notes.includes(`dropped upstream value ${R}/IAP/high: the upstream is not trusted to assert it`));
  t.ok(notes.some((n) => n.startsWith(`upstream authentication context ${MFA} not honoured`)));
  t.same(trace.steps[0]?.authnContext, { before: [MFA], after: [SUBSTANTIAL] });
});

t.test('bad options are refused with their pipeline path', async (t) => {
  const problems = (options: Record<string, unknown>) => filterOptionProblems('assurance', options);
  t.same(problems({ minimum: { default: { level: 'https://example.org/gold' } } }), [
    'pipeline[0].minimum.default.level: "https://example.org/gold" is not one of levels or levelOf',
  ]);
  t.match(problems({ trust: [{ requireSirtfi: true }] }), ['pipeline[0].trust[0]: name at least one of upstreams or registrationAuthorities']);
  t.match(problems({ minimum: { default: { assurance: [`${R}/ID/no-eppn-reassign`] } } }), [/pipeline\[0\]\.minimum\.default\.assurance\[0\]: .*did you mean/]);
  t.match(problems({ trust: [{ upstreams: [IDP], raf: [`${R}/profile/cappuccino`] }] }), [/^pipeline\[0\]\.trust\[0\]\.raf\[0\]: /]);
});
