import t from 'tap';
import { filterOptionProblems, testFilterServices } from '../helpers/pipeline.js';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import type { PipelineInput } from '../../src/core/flow.js';
import type { Identity } from '../../src/core/model.js';
import type { UpstreamRegistration } from '../../src/core/registration.js';
import type { Scope } from '../../src/metadata/types.js';
import { Pipeline } from '../../src/pipeline/runner.js';

const IDP = 'https://idp.example.org/idp/shibboleth';

const logLines: Record<string, unknown>[] = [];
const services = testFilterServices(t, {
  baseUrl: 'https://proxy.example.net',
  log: pino({ level: 'warn' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) }),
});
t.beforeEach(() => void (logLines.length = 0));

const samlUpstream = (scopes: Scope[]): UpstreamRegistration => ({
  id: IDP,
  backend: 'saml',
  displayName: {},
  hidden: false,
  protocol: 'saml',
  social: false,
  scopes,
  entityAttributes: {},
});

const oidcUpstream: UpstreamRegistration = {
  id: 'https://accounts.google.com',
  backend: 'oidc',
  displayName: {},
  hidden: false,
  protocol: 'oidc',
  social: true,
  scopes: [],
  entityAttributes: {},
};

const inputFor = (upstream: UpstreamRegistration | undefined): PipelineInput => ({
  request: { frontend: 'saml-idp', requester: 'https://sp.example.com', forceAuthn: false, isPassive: false, idpHints: [], frontendState: {} },
  service: { id: 'https://sp.example.com', protocol: 'saml', name: {}, entityCategories: [], requestedAttributes: [] },
  upstream,
});

const identityWith = (attributes: Record<string, string[]>, issuer = IDP): Identity => ({
  issuer,
  protocol: issuer === IDP ? 'saml' : 'oidc',
  subject: { id: 'abc' },
  attributes,
  authn: { instant: '2026-11-23T10:00:00Z', contextClassRefs: [] },
});

const pipelineOf = (options: Record<string, unknown> = {}, explain = false) =>
  Pipeline.create(parseConfig({ pipeline: [{ filter: 'scope-check', ...options }] }).pipeline, services, { explain });

const literal = (value: string): Scope => ({ value, regexp: false });
const regexp = (value: string): Scope => ({ value, regexp: true });

t.test('keeps values in the IdP’s scopes, drops the others and logs them with the IdP', async (t) => {
  const pipeline = await pipelineOf();
  const out = await pipeline.run(
    identityWith({
      eduPersonPrincipalName: ['alice@evil.org'],
      eduPersonScopedAffiliation: ['member@example.org', 'staff@evil.org'],
      'subject-id': ['1234@example.org'],
      mail: ['alice@evil.org'],
    }),
    inputFor(samlUpstream([literal('example.org')])),
  );
  t.same(out.attributes, {
    eduPersonScopedAffiliation: ['member@example.org'],
    'subject-id': ['1234@example.org'],
    mail: ['alice@evil.org'],
  }, 'mail is not scoped and passes');
  const warnings = logLines.filter((l) => l.msg === 'dropped scoped values the upstream may not assert');
  t.same(
    warnings.map((w) => [w.upstream, w.attribute, w.scopes]),
    [
      [IDP, 'eduPersonPrincipalName', ['evil.org']],
      [IDP, 'eduPersonScopedAffiliation', ['evil.org']],
    ],
  );
  t.equal(warnings[0]?.filter, 'scope-check', 'the log line names the filter');
});

t.test('scopes compare case-insensitively', async (t) => {
  const pipeline = await pipelineOf();
  const out = await pipeline.run(
    identityWith({ eduPersonPrincipalName: ['Alice@EXAMPLE.ORG'], eduPersonUniqueId: ['abc123@Example.Org'] }),
    inputFor(samlUpstream([literal('Example.org')])),
  );
  t.same(out.attributes, { eduPersonPrincipalName: ['Alice@EXAMPLE.ORG'], eduPersonUniqueId: ['abc123@Example.Org'] });
});

t.test('a scoped affiliation splits at its first @, so a second @ cannot smuggle in another scope', async (t) => {
  const pipeline = await pipelineOf();
  const out = await pipeline.run(
    identityWith({
      eduPersonScopedAffiliation: ['staff@evil.org@example.org', 'member@example.org'],
      voPersonExternalAffiliation: ['faculty@evil.org@example.org'],
      eduPersonPrincipalName: ['alice@evil.org@example.org'],
    }),
    inputFor(samlUpstream([literal('example.org')])),
  );
  t.same(out.attributes, { eduPersonScopedAffiliation: ['member@example.org'] });
});

t.test('values without a scope, or with an absurdly long one, are dropped', async (t) => {
  const pipeline = await pipelineOf();
  const long = `${'a'.repeat(300)}.example.org`;
  const out = await pipeline.run(
    identityWith({ eduPersonPrincipalName: ['alice'], 'pairwise-id': ['@example.org'], eduPersonScopedAffiliation: [`member@${long}`] }),
    inputFor(samlUpstream([literal('example.org'), regexp('^.*\\.example\\.org$')])),
  );
  t.same(out.attributes, {});
});

t.test('schacHomeOrganization is itself the domain that must be a scope', async (t) => {
  const pipeline = await pipelineOf();
  const upstream = inputFor(samlUpstream([literal('example.org')]));
  t.same((await pipeline.run(identityWith({ schacHomeOrganization: ['EXAMPLE.org'] }), upstream)).attributes, { schacHomeOrganization: ['EXAMPLE.org'] });
  t.same((await pipeline.run(identityWith({ schacHomeOrganization: ['evil.org'] }), upstream)).attributes, {});
});

t.test('regexp scopes are honoured as anchored, case-insensitive full-string matches', async (t) => {
  const pipeline = await pipelineOf();
  const input = inputFor(samlUpstream([regexp('^.*\\.example\\.org$'), regexp('dept\\.example\\.com')]));
  const out = await pipeline.run(
    identityWith({
      eduPersonScopedAffiliation: [
        'member@dept.example.org',
        'member@Sub.Dept.EXAMPLE.org',
        'member@example.org',
        'member@example.org.evil.com',
        'member@dept.example.com',
        'member@dept.example.com.evil.com',
        'member@xdept.example.com',
      ],
    }),
    input,
  );
  t.same(out.attributes.eduPersonScopedAffiliation, ['member@dept.example.org', 'member@Sub.Dept.EXAMPLE.org', 'member@dept.example.com']);
});

t.test('honourRegexp: false ignores regexp scopes (SAML2int SDP-SP17 allows it)', async (t) => {
  const pipeline = await pipelineOf({ honourRegexp: false });
  const out = await pipeline.run(
    identityWith({ eduPersonScopedAffiliation: ['member@dept.example.org', 'member@example.org'] }),
    inputFor(samlUpstream([regexp('^.*\\.example\\.org$'), literal('example.org')])),
  );
  t.same(out.attributes.eduPersonScopedAffiliation, ['member@example.org']);
});

t.test('a catastrophic or malformed regexp scope is disabled instead of hanging or widening', async (t) => {
  const pipeline = await pipelineOf();
  const input = inputFor(samlUpstream([regexp('(a+)+'), regexp('x)|(.*'), literal('example.org')]));
  const started = Date.now();
  const out = await pipeline.run(
    identityWith({ eduPersonScopedAffiliation: [`member@${'a'.repeat(40)}!`, 'member@evil.org', 'member@example.org'] }),
    input,
  );
  t.ok(Date.now() - started < 2000, 'bounded time');
  t.same(out.attributes.eduPersonScopedAffiliation, ['member@example.org'], '"x)|(.*" did not escape the anchors');
  const disabled = logLines.filter((l) => l.msg === 'regexp scope from metadata disabled').map((l) => l.pattern);
  t.same(disabled.sort(), ['(a+)+', 'x)|(.*']);
  // Disabled once: the next login does not pay the time budget again.
  logLines.length = 0;
  await pipeline.run(identityWith({ eduPersonScopedAffiliation: [`member@${'a'.repeat(40)}!`] }), input);
  t.same(logLines.filter((l) => l.msg === 'regexp scope from metadata disabled'), []);
});

t.test('an OIDC upstream’s scoped attributes are dropped unless configuration trusts the scope', async (t) => {
  const identity = identityWith(
    { eduPersonScopedAffiliation: ['member@example.org', 'staff@other.org'], eduPersonPrincipalName: ['alice@example.org'], mail: ['alice@gmail.com'] },
    oidcUpstream.id,
  );
  const untrusted = await pipelineOf();
  t.same((await untrusted.run(identity, inputFor(oidcUpstream))).attributes, { mail: ['alice@gmail.com'] });

  const trusted = await pipelineOf({ trustedScopes: { [oidcUpstream.id]: ['EXAMPLE.org'], 'https://other.example': ['other.org'] } });
  t.same((await trusted.run(identity, inputFor(oidcUpstream))).attributes, {
    eduPersonScopedAffiliation: ['member@example.org'],
    eduPersonPrincipalName: ['alice@example.org'],
    mail: ['alice@gmail.com'],
  });

  const anyScope = await pipelineOf({ trustedScopes: { [oidcUpstream.id]: ['*'] } });
  t.same((await anyScope.run(identity, inputFor(oidcUpstream))).attributes, identity.attributes);
});

t.test('without a registered upstream every scoped value is dropped', async (t) => {
  const pipeline = await pipelineOf();
  const out = await pipeline.run(identityWith({ eduPersonPrincipalName: ['alice@example.org'], displayName: ['Alice'] }), inputFor(undefined));
  t.same(out.attributes, { displayName: ['Alice'] });
});

t.test('the attributes option limits the check', async (t) => {
  const pipeline = await pipelineOf({ attributes: ['eduPersonPrincipalName'] });
  const out = await pipeline.run(
    identityWith({ eduPersonPrincipalName: ['alice@evil.org'], eduPersonScopedAffiliation: ['member@evil.org'] }),
    inputFor(samlUpstream([literal('example.org')])),
  );
  t.same(out.attributes, { eduPersonScopedAffiliation: ['member@evil.org'] });
});

t.test('explain says what was dropped and why', async (t) => {
  const pipeline = await pipelineOf({}, true);
  const { trace } = await pipeline.explain(
    identityWith({ eduPersonPrincipalName: ['alice@evil.org'] }),
    inputFor(samlUpstream([literal('example.org')])),
  );
  t.same(trace.steps[0]?.removed, { eduPersonPrincipalName: ['alice@evil.org'] });
  t.same(trace.steps[0]?.notes, [`eduPersonPrincipalName: dropped 1 value(s) with scope evil.org: not allowed by the shibmd:Scope of ${IDP}`]);
});

t.test('bad options are refused with their path in the pipeline', async (t) => {
  const problems = (options: Record<string, unknown>) => filterOptionProblems('scope-check', options);
  t.match(problems({ honourRegexp: 'yes' }), [/^pipeline\[0\]\.honourRegexp: /]);
  t.match(problems({ attributes: ['eduPersonPrincipalName', 'nope'] }), [/^pipeline\[0\]\.attributes\[1\]: .*not an attribute/]);
  t.match(problems({ trustedScopes: { 'https://op.example': [] } }), [/^pipeline\[0\]\.trustedScopes/]);
  t.match(problems({ scopes: [] }), [/^pipeline\[0\]/]);
});
