/**
 * The `entitlements` filter in a real pipeline: memberships from the YAML source spelled out with
 * the hierarchy, capabilities, the upstream trust rules, the legacy output per service, options
 * errors with their config path, and a group source that is down (continue or deny).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import type { PipelineInput } from '../../../src/core/flow.js';
import type { Identity } from '../../../src/core/model.js';
import { ConfigError, GroupSourceUnavailableError } from '../../../src/core/errors.js';
import type { FilterServices } from '../../../src/pipeline/filter.js';
import { Pipeline } from '../../../src/pipeline/runner.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { RedisStore } from '../../../src/store/redis.js';
import type { Store } from '../../../src/store/store.js';

const NS = 'urn:geant:example.org';
const SERVICE = 'https://sp.example.org';
const OLD_SERVICE = 'https://old-sp.example.org';
const G = (path: string, authority = '#proxy.example.org') => `${NS}:group:${path}${authority}`;

const services = (store: Store = new MemoryStore()): FilterServices => ({
  store,
  identifierSalt: 'test-salt',
  baseUrl: 'https://proxy.example.org',
  log: pino({ level: 'silent' }),
  addRoutes: () => {},
});

const input = (service = SERVICE): PipelineInput => ({
  request: { frontend: 'saml-idp', requester: service, forceAuthn: false, isPassive: false, idpHints: [], frontendState: {} },
  service: { id: service, protocol: 'saml', name: {}, entityCategories: [], requestedAttributes: [] },
  upstream: undefined,
});

const identity = (attributes: Record<string, string[]>, issuer = 'https://idp.uni.example.edu'): Identity => ({
  issuer,
  protocol: 'saml',
  subject: { id: 'abc' },
  attributes: { voPersonID: ['c0ffee@proxy.example.org'], eduPersonPrincipalName: ['alice@uni.example.edu'], ...attributes },
  authn: { instant: '2026-11-23T10:00:00Z', contextClassRefs: [] },
});

const groupFile = (t: Test) =>
  join(
    t.testdir({
      'groups.yaml': `"c0ffee@proxy.example.org":
  - vo.example.org:analysis
  - { group: vo.example.org, role: admin }
bob@uni.example.edu:
  - vo.example.org:analysis:run2
`,
    }),
    'groups.yaml',
  );

async function pipelineOf(options: Record<string, unknown>, filterServices = services()) {
  t.teardown(() => filterServices.store.close());
  return Pipeline.create(parseConfig({ pipeline: [{ filter: 'entitlements', namespace: NS, ...options }] }).pipeline, filterServices, { explain: false });
}

const entitlementsOf = async (pipeline: Pipeline, who: Identity, service = SERVICE) => (await pipeline.run(who, input(service))).attributes.eduPersonEntitlement;

t.test('own memberships: hierarchy spelled out, the configured authority, capabilities per group', async (t) => {
  const pipeline = await pipelineOf({
    authority: 'proxy.example.org',
    source: { type: 'yaml', file: groupFile(t) },
    capabilities: {
      'vo.example.org': ['res:storage:act:read,write'],
      'vo.example.org:role=admin': [`${NS}:res:portal:act:manage`],
      'vo.example.org:analysis:run2': ['urn:geant:example.org:res:cluster#other-authority.example.org'],
    },
  });
  t.same(await entitlementsOf(pipeline, identity({})), [
    G('vo.example.org'),
    G('vo.example.org:analysis'),
    G('vo.example.org:role=admin'),
    `${NS}:res:storage:act:read,write#proxy.example.org`,
    `${NS}:res:portal:act:manage#proxy.example.org`,
  ]);
  t.same(
    await entitlementsOf(pipeline, identity({ voPersonID: [], eduPersonPrincipalName: ['bob@uni.example.edu'] })),
    [
      G('vo.example.org'),
      G('vo.example.org:analysis'),
      G('vo.example.org:analysis:run2'),
      `${NS}:res:storage:act:read,write#proxy.example.org`,
      `${NS}:res:cluster#other-authority.example.org`,
    ],
    'by eppn; a subgroup member gets the parent’s capabilities, never the admin’s',
  );
  const stranger = await pipeline.run(identity({ voPersonID: ['someone@proxy.example.org'], eduPersonPrincipalName: [] }), input());
  t.notOk('eduPersonEntitlement' in stranger.attributes, 'no memberships, no attribute');
});

t.test('without an authority the values carry none; memberRole spells memberships the EGI way', async (t) => {
  const plain = await pipelineOf({ source: { type: 'yaml', file: groupFile(t) } });
  t.same(await entitlementsOf(plain, identity({})), [G('vo.example.org', ''), G('vo.example.org:analysis', ''), G('vo.example.org:role=admin', '')]);
  const egi = await pipelineOf({ source: { type: 'yaml', file: groupFile(t) }, memberRole: 'member' });
  t.same(await entitlementsOf(egi, identity({})), [G('vo.example.org:role=member', ''), G('vo.example.org:analysis:role=member', ''), G('vo.example.org:role=admin', '')]);
});

t.test('legacy output only for the services configured for it', async (t) => {
  const pipeline = await pipelineOf({ authority: 'proxy.example.org', source: { type: 'yaml', file: groupFile(t) }, legacyFormatFor: [OLD_SERVICE] });
  const current = await entitlementsOf(pipeline, identity({}));
  t.notOk(current?.some((v) => v.includes('@')), 'other services get G069 values only');
  t.same(await entitlementsOf(pipeline, identity({}), OLD_SERVICE), [
    ...(current ?? []),
    `${NS}:proxy.example.org:member@vo.example.org`,
    `${NS}:proxy.example.org:analysis:member@vo.example.org`,
    `${NS}:proxy.example.org:admin@vo.example.org`,
  ]);
});

t.test('upstream values pass only from trusted upstreams and inside their namespaces', async (t) => {
  const upstreamValues = [
    'urn:mace:egi.eu:group:vo.access.egi.eu:role=vm_operator#aai.egi.eu',
    'urn:mace:egi.eu:aai.egi.eu:member@fedcloud.egi.eu',
    `${NS}:group:vo.example.org:role=admin`,
    `${NS}:sub:group:injected`,
    'urn:geant:other.org:group:x',
    'urn:mace:egi.eu:group:bad::x',
    'urn:mace:dir:entitlement:common-lib-terms',
    'URN:GEANT:Example.org:looks-own',
  ];
  const pipeline = await pipelineOf({
    upstreamTrust: {
      'https://aai.egi.eu/proxy': { namespaces: ['urn:mace:egi.eu'], allowOpaque: true },
      'https://broad.example.net': ['URN:GEANT:Other.ORG', 'urn:mace:egi.eu:group:vo.access.egi.eu'],
      'https://partner.example.net': [`${NS}:group:partner`],
    },
    capabilities: { 'urn:mace:egi.eu:group:fedcloud.egi.eu': ['urn:mace:egi.eu:res:rcauth#aai.egi.eu'] },
  });

  const untrusted = await pipeline.explain(identity({ eduPersonEntitlement: upstreamValues }, 'https://idp.untrusted.example'), input());
  t.notOk('eduPersonEntitlement' in untrusted.identity.attributes, 'an untrusted upstream asserts nothing');
  t.match(untrusted.trace.steps[0]?.notes, [/https:\/\/idp\.untrusted\.example is not in upstreamTrust: its 8 entitlement value\(s\) were dropped/]);

  const egi = await pipeline.explain(identity({ eduPersonEntitlement: upstreamValues }, 'https://aai.egi.eu/proxy'), input());
  t.same(egi.identity.attributes.eduPersonEntitlement, [
    'urn:mace:egi.eu:res:rcauth#aai.egi.eu',
    'urn:mace:egi.eu:group:vo.access.egi.eu#aai.egi.eu',
    'urn:mace:egi.eu:group:vo.access.egi.eu:role=vm_operator#aai.egi.eu',
    'urn:mace:egi.eu:group:fedcloud.egi.eu#aai.egi.eu',
    'urn:mace:egi.eu:group:fedcloud.egi.eu:role=member#aai.egi.eu',
    'urn:mace:dir:entitlement:common-lib-terms',
  ]);
  const notes = egi.trace.steps[0]?.notes.join('\n') ?? '';
  t.match(notes, `dropped upstream value ${NS}:group:vo.example.org:role=admin: in fedgate’s own namespace`);
  t.match(notes, `dropped upstream value ${NS}:sub:group:injected: in fedgate’s own namespace`);
  t.match(notes, 'dropped upstream value urn:geant:other.org:group:x: outside the namespaces allowed');
  t.match(notes, 'dropped upstream value urn:mace:egi.eu:group:bad::x: malformed: empty subgroup name');
  t.match(notes, 'dropped upstream value URN:GEANT:Example.org:looks-own: looks like a value in fedgate’s own namespace');
  t.match(notes, 'converted legacy value urn:mace:egi.eu:aai.egi.eu:member@fedcloud.egi.eu to urn:mace:egi.eu:group:fedcloud.egi.eu:role=member#aai.egi.eu');

  t.same(
    await entitlementsOf(pipeline, identity({ eduPersonEntitlement: upstreamValues }, 'https://broad.example.net')),
    ['urn:mace:egi.eu:group:vo.access.egi.eu#aai.egi.eu', 'urn:mace:egi.eu:group:vo.access.egi.eu:role=vm_operator#aai.egi.eu', 'urn:geant:other.org:group:x'],
    'prefixes compare case-insensitively in the namespace; opaque values need allowOpaque',
  );
  const partnerValues = [`${NS}:group:partner:lab`, `${NS}:group:partner-other`, `${NS}:group:vo.example.org`];
  t.same(
    await entitlementsOf(pipeline, identity({ eduPersonEntitlement: partnerValues }, 'https://partner.example.net')),
    [`${NS}:group:partner`, `${NS}:group:partner:lab`],
    'an upstream explicitly allowed a prefix inside the own namespace may assert exactly that',
  );
});

t.test('a broader prefix never covers fedgate’s own (sub-)namespace', async (t) => {
  const nfdi = await pipelineOf({ namespace: 'urn:geant:dfn.de:nfdi.de', upstreamTrust: { 'https://idp.dfn.example': ['urn:geant:dfn.de'] } });
  const values = ['urn:geant:dfn.de:group:dfn-staff', 'urn:geant:dfn.de:nfdi.de:group:consortium', 'urn:geant:dfn.de:nfdi.de:x:group:deeper', 'urn:geant:dfn.de:other:group:ok'];
  t.same(await entitlementsOf(nfdi, identity({ eduPersonEntitlement: values }, 'https://idp.dfn.example')), ['urn:geant:dfn.de:group:dfn-staff', 'urn:geant:dfn.de:other:group:ok']);
});

t.test('own values come first and win over equivalent upstream ones', async (t) => {
  const pipeline = await pipelineOf({
    authority: 'proxy.example.org',
    source: { type: 'yaml', file: groupFile(t) },
    upstreamTrust: { 'https://partner.example.net': [`${NS}:group:vo.example.org`] },
  });
  const values = await entitlementsOf(pipeline, identity({ eduPersonEntitlement: [`${NS}:group:vo.example.org:analysis#elsewhere.example`, `${NS}:group:vo.example.org:extra`] }, 'https://partner.example.net'));
  t.same(values, [G('vo.example.org'), G('vo.example.org:analysis'), G('vo.example.org:role=admin'), `${NS}:group:vo.example.org:extra`]);
});

t.test('a group source that is down: continue without its groups, or deny with a typed error', async (t) => {
  const downStore = () =>
    new RedisStore({ type: 'redis', url: 'redis://127.0.0.1:1', sentinelName: 'mymaster', keyPrefix: `fedgate-test-${randomUUID()}:`, commandTimeoutMs: 100 });
  const trust = { 'https://aai.egi.eu/proxy': ['urn:mace:egi.eu'] };
  const who = identity({ eduPersonEntitlement: ['urn:mace:egi.eu:group:vo'] }, 'https://aai.egi.eu/proxy');

  const continuing = await pipelineOf({ source: { type: 'redis', adminToken: 'x'.repeat(32) }, upstreamTrust: trust }, services(downStore()));
  const { identity: out, trace, error } = await continuing.explain(who, input());
  t.notOk(error);
  t.same(out.attributes.eduPersonEntitlement, ['urn:mace:egi.eu:group:vo'], 'trusted upstream values still pass');
  t.match(trace.steps[0]?.notes, [/stored groups unavailable \(.*\); continuing without group entitlements \(onSourceError: continue\)/]);

  const denying = await pipelineOf({ source: { type: 'redis', adminToken: 'x'.repeat(32) }, onSourceError: 'deny', upstreamTrust: trust }, services(downStore()));
  const denied = await denying.run(who, input()).catch((err: unknown) => err);
  t.type(denied, GroupSourceUnavailableError);
  t.match(denied, { code: 'group_source_unavailable', httpStatus: 503, message: /stored groups unavailable: Redis/ });
});

t.test('a user with neither community ID nor eppn is not looked up, and explain says so', async (t) => {
  const pipeline = await pipelineOf({ source: { type: 'yaml', file: groupFile(t) } });
  const { identity: out, trace } = await pipeline.explain(identity({ voPersonID: [], eduPersonPrincipalName: [] }), input());
  t.notOk('eduPersonEntitlement' in out.attributes);
  t.match(trace.steps[0]?.notes, [/no voPersonID or eduPersonPrincipalName: group file .* not asked/]);
});

t.test('bad options are refused with their pipeline path', async (t) => {
  const problems = (options: Record<string, unknown>) => {
    try {
      parseConfig({ pipeline: [{ filter: 'map-attributes' }, { filter: 'entitlements', ...options }] });
    } catch (err) {
      t.type(err, ConfigError);
      return (err as ConfigError).problems;
    }
    return t.fail('accepted');
  };
  t.match(problems({ namespace: 'geant:example.org' }), ['pipeline[1].namespace: a namespace has the form urn:<NID>:<delegated-namespace>[:<subnamespace>]*']);
  t.match(problems({ namespace: 'urn:geant:example.org:group' }), ['pipeline[1].namespace: a namespace must not contain a "group" part']);
  t.match(problems({ namespace: NS, capabilities: { vo: ['res:storage'] } }), [/^pipeline\[1\]\.capabilities\.vo\[0\]: "res:storage": AARC-G027 capabilities carry a mandatory authority/]);
  t.match(problems({ namespace: NS, authority: 'a.org', capabilities: { 'vo::x': ['res:storage', 'storage', 'urn:geant:example.org:group:vo'] } }), [
    /^pipeline\[1\]\.capabilities\.vo::x: "vo::x": empty subgroup name/,
    /^pipeline\[1\]\.capabilities\.vo::x\[1\]: "storage": write res:/,
    /^pipeline\[1\]\.capabilities\.vo::x\[2\]: .* is a group value, not a capability/,
  ]);
  t.match(problems({ namespace: NS, upstreamTrust: { 'https://idp.example': ['urn:'], 'https://other.example': { namespaces: ['urn:x'] } } }), [
    /^pipeline\[1\]\.upstreamTrust\.https:\/\/idp\.example\[0\]: a namespace has the form/,
    /^pipeline\[1\]\.upstreamTrust\.https:\/\/other\.example\.namespaces\[0\]: a namespace has the form/,
  ]);
  t.match(problems({ namespace: NS, legacyFormatFor: [OLD_SERVICE] }), ['pipeline[1].legacyFormatFor: the legacy form names an authority: set `authority`']);
  t.match(problems({ namespace: NS, source: { type: 'redis', adminToken: { env: 'FEDGATE_TEST_UNSET_TOKEN' } } }), ['pipeline[1].source.adminToken: environment variable FEDGATE_TEST_UNSET_TOKEN is not set']);
  t.match(problems({ namespace: NS, onSourceError: 'retry' }), [/^pipeline\[1\]\.onSourceError: /]);
  t.match(problems({ namespace: NS, source: { type: 'redis', adminToken: 'short' } }), ['pipeline[1].source.adminToken: use an admin token of at least 16 characters']);
  t.match(problems({ namespace: NS, groups: 'x' }), ['pipeline[1]: unknown key: groups']);
  t.match(problems({}), [/^pipeline\[1\]\.namespace: /]);
});
