/**
 * The entitlement grammar from spec/entitlements.md's own examples: AARC-G069/G002 group values,
 * AARC-G027 capabilities, normalisation, the defensive rules, EGI legacy forms, the satisfaction
 * rules of §2 and the hierarchy expansion.
 */
import t from 'tap';
import { expandMemberships, impliedBy } from '../../../src/pipeline/entitlements/hierarchy.js';
import { formatLegacy, parseLegacy } from '../../../src/pipeline/entitlements/legacy.js';
import {
  equivalenceKey,
  formatEntitlement,
  normaliseEntitlement,
  parseEntitlement,
  satisfies,
  type Entitlement,
  type GroupEntitlement,
} from '../../../src/pipeline/entitlements/urn.js';

function parsed(text: string): Entitlement {
  const result = parseEntitlement(text);
  if (!result.ok) throw new Error(`${text} did not parse: ${result.reason}`);
  return result.value;
}

function group(text: string): GroupEntitlement {
  const value = parsed(text);
  if (value.kind !== 'group') throw new Error(`${text} is not a group value`);
  return value;
}

t.test('the spec’s real group values parse into their parts and format back unchanged', async (t) => {
  const cases: [string, Omit<GroupEntitlement, 'kind'>][] = [
    ['urn:mace:egi.eu:group:fedcloud.egi.eu:role=vm_operator#aai.egi.eu', { namespace: 'urn:mace:egi.eu', path: ['fedcloud.egi.eu'], role: 'vm_operator', authority: 'aai.egi.eu' }],
    ['urn:mace:egi.eu:group:vo.example.eu:vo.example-sub.eu:role=member#aai.egi.eu', { namespace: 'urn:mace:egi.eu', path: ['vo.example.eu', 'vo.example-sub.eu'], role: 'member', authority: 'aai.egi.eu' }],
    ['urn:geant:openaire.eu:group:Registered+User:role=member#aai.openaire.eu', { namespace: 'urn:geant:openaire.eu', path: ['Registered+User'], role: 'member', authority: 'aai.openaire.eu' }],
    ['urn:geant:elixir-europe.org:group:elixir:ELIXIR%20AAI:staff#perun.elixir-czech.cz', { namespace: 'urn:geant:elixir-europe.org', path: ['elixir', 'ELIXIR%20AAI', 'staff'], authority: 'perun.elixir-czech.cz' }],
    ['urn:geant:h-df.de:group:aai-admin:role=member', { namespace: 'urn:geant:h-df.de', path: ['aai-admin'], role: 'member' }],
    ['urn:geant:dfn.de:nfdi.de:group:example#authority.host.de', { namespace: 'urn:geant:dfn.de:nfdi.de', path: ['example'], authority: 'authority.host.de' }],
  ];
  for (const [text, parts] of cases) {
    t.same(parsed(text), { kind: 'group', ...parts }, text);
    t.equal(formatEntitlement(parsed(text)), text, `${text} round-trips`);
    t.equal(normaliseEntitlement(text), text);
  }
});

t.test('the spec’s real capability values (AARC-G027) parse and round-trip', async (t) => {
  for (const text of ['urn:mace:egi.eu:res:rcauth#aai.egi.eu', 'urn:mace:egi.eu:res:gocdb#aai.egi.eu', 'urn:geant:dfn.de:nfdi.de:res:example#authority.host.de']) {
    t.equal(formatEntitlement(parsed(text)), text);
  }
  t.same(parsed('urn:geant:example.org:res:storage:projects:act:read,write#aai.example.org'), {
    kind: 'res',
    namespace: 'urn:geant:example.org',
    path: ['storage', 'projects'],
    actions: ['read', 'write'],
    authority: 'aai.example.org',
  });
  t.equal(formatEntitlement(parsed('urn:geant:example.org:res:storage:act:read,write#a.org')), 'urn:geant:example.org:res:storage:act:read,write#a.org');
});

t.test('G069 normalisation: namespace lower-cased, %-escapes upper-case, names otherwise untouched', async (t) => {
  t.equal(
    normaliseEntitlement('URN:GEANT:Example.ORG:Sub:group:Minun%20Ryhm%c3%a4ni:role=Admin%c3%a4#Auth%c3%a4.example'),
    'urn:geant:example.org:sub:group:Minun%20Ryhm%C3%A4ni:role=Admin%C3%A4#Auth%C3%A4.example',
  );
  t.same(group('urn:geant:example.org:group:a%3ab').path, ['a%3Ab'], 'no decoding before splitting: an encoded colon stays inside the name');
  t.equal(normaliseEntitlement('urn:geant:example.org?=lang=en:group:vo'), 'urn:geant:example.org:group:vo', 'r-/q-components are ignored');
});

t.test('equivalence ignores the #authority and the namespace case, never the group names', async (t) => {
  const key = (s: string) => equivalenceKey(parsed(s));
  t.equal(key('urn:mace:egi.eu:group:vo:role=member#aai.egi.eu'), key('urn:mace:egi.eu:group:vo:role=member'));
  t.equal(key('urn:MACE:EGI.eu:group:vo'), key('urn:mace:egi.eu:group:vo'));
  t.not(key('urn:mace:egi.eu:group:VO'), key('urn:mace:egi.eu:group:vo'), 'eduPersonEntitlement is caseExactMatch');
});

t.test('defensive rules refuse malformed values with a reason', async (t) => {
  const refused: [string, RegExp][] = [
    ['urn:geant:example.org:group:', /empty group name/],
    ['urn:geant:example.org:group', /no group name/],
    ['urn:geant:example.org:group:a::b', /empty subgroup/],
    ['urn:geant:example.org:group:a:', /empty subgroup/],
    ['urn:geant:example.org:group:a:role=', /empty role/],
    ['urn:geant:example.org:group:a#', /empty #authority/],
    ['urn:geant::group:a', /empty namespace part/],
    ['urn:-x-:example.org:group:a', /namespace identifier/],
    ['urn:geant:example.org:group:a:role=admin:b', /ambiguous with a role/],
    ['urn:geant:example.org:group:role=admin', /ambiguous/],
    ['urn:geant:example.org:group:my group', /must be %-encoded/],
    ['urn:geant:example.org:group:Ryhmä', /must be %-encoded/],
    ['urn:geant:example.org:group:a%zz', /broken %-escape/],
    ['urn:geant:example.org:group:a#x#y', /#authority/],
    ['urn:geant:example.org:res:act', /ambiguous with the action list/],
    ['urn:geant:example.org:res:storage:act:read,,write', /empty action/],
  ];
  for (const [text, reason] of refused) {
    const result = parseEntitlement(text);
    t.notOk(result.ok, text);
    if (!result.ok) {
      t.equal(result.opaque, false, `${text} is malformed, not opaque`);
      t.match(result.reason, reason, text);
    }
  }
  t.same(group('urn:geant:example.org:group:a:role%3Dadmin:b').path, ['a', 'role%3Dadmin', 'b'], 'an encoded role= is a plain name');
});

t.test('values that are not AARC URNs are opaque and kept as they are', async (t) => {
  for (const text of ['http://bwidm.de/entitlement/bwLSDF-SyncShare', 'urn:mace:dir:entitlement:common-lib-terms', 'urn:mace:egi.eu:aai.egi.eu:member@fedcloud.egi.eu']) {
    const result = parseEntitlement(text);
    t.same(result.ok ? 'parsed' : result.opaque, true, text);
    t.equal(normaliseEntitlement(text), text);
  }
});

t.test('EGI legacy values convert to G069, and the legacy output round-trips', async (t) => {
  const legacy: [string, string][] = [
    // The pair EGI released side by side for one user (spec §4).
    ['urn:mace:egi.eu:aai.egi.eu:admins:member@mteam.data.kit.edu', 'urn:mace:egi.eu:group:mteam.data.kit.edu:admins:role=member#aai.egi.eu'],
    ['urn:mace:egi.eu:aai.egi.eu:member@fedcloud.egi.eu', 'urn:mace:egi.eu:group:fedcloud.egi.eu:role=member#aai.egi.eu'],
    ['urn:mace:egi.eu:aai.egi.eu:vm_operator@vo.access.egi.eu', 'urn:mace:egi.eu:group:vo.access.egi.eu:role=vm_operator#aai.egi.eu'],
  ];
  for (const [old, current] of legacy) {
    const converted = parseLegacy(old);
    t.equal(converted && formatEntitlement(converted), current, old);
    t.equal(formatLegacy(group(current), 'aai.egi.eu'), old, `${current} in the legacy form`);
  }
  t.equal(parseLegacy('urn:mace:egi.eu:goc.egi.eu:100453G0:GRIDOPS-CheckIn:Site+Administrator@egi.eu'), undefined, 'GOCDB roles name no VO and stay opaque');
  t.equal(parseLegacy('urn:mace:dir:entitlement:common-lib-terms'), undefined);
  t.equal(parseLegacy('urn:mace:egi.eu:aai.egi.eu:@vo'), undefined, 'an empty role is no legacy value');
  t.equal(formatLegacy(group('urn:geant:example.org:group:vo:sub'), 'aai.example.org'), 'urn:geant:example.org:aai.example.org:sub:member@vo', 'a plain membership is the member role');
  t.same(parseLegacy('urn:geant:example.org:aai.example.org:sub:member@vo', ['urn:geant:example.org'])?.path, ['vo', 'sub']);
});

t.test('satisfies follows the rules of spec §2', async (t) => {
  const ns = 'urn:geant:example.org:group';
  const ok = (held: string, required: string) => satisfies(group(`${ns}:${held}`), group(`${ns}:${required}`));
  // Rule 1: a subgroup member is a member of every ancestor.
  t.ok(ok('a:b', 'a'));
  t.ok(ok('a:b:c', 'a:b'));
  t.notOk(ok('a', 'a:b'), 'but not of a subgroup');
  // Rule 2: a role implies membership of its group and, by rule 1, of the ancestors.
  t.ok(ok('a:role=admin', 'a'));
  t.ok(ok('a:b:role=admin', 'a'));
  t.ok(ok('a:b:role=admin', 'a:b'));
  // Rule 3: roles are not inherited up or down.
  t.notOk(ok('a:b:role=admin', 'a:role=admin'));
  t.notOk(ok('a:role=admin', 'a:b'));
  t.notOk(ok('a:role=admin', 'a:b:role=admin'));
  t.notOk(ok('a', 'a:role=admin'), 'membership is no role');
  t.notOk(ok('a:role=member', 'a:role=admin'));
  t.ok(ok('a:role=admin', 'a:role=admin'));
  // Rule 4: namespace after normalisation and exact group names; the authority does not count.
  t.ok(satisfies(group('URN:GEANT:Example.org:group:a:b#x.org'), group('urn:geant:example.org:group:a#y.org')));
  t.notOk(satisfies(group('urn:geant:other.org:group:a'), group('urn:geant:example.org:group:a')));
  t.notOk(ok('A', 'a'));
  t.notOk(ok('ab', 'a'));
});

t.test('hierarchy: explicit parent memberships, the role once, never upward', async (t) => {
  const ns = 'urn:geant:example.org:group';
  const expand = (held: string[], memberRole?: string) => expandMemberships(held.map((h) => group(`${ns}:${h}`)), memberRole).map((e) => formatEntitlement(e).slice(ns.length + 1));
  t.same(expand(['vo:sub']), ['vo', 'vo:sub']);
  t.same(expand(['vo:sub:role=admin']), ['vo', 'vo:sub', 'vo:sub:role=admin'], 'no vo:role=admin');
  // Rule 5: several roles in one group give one value each.
  t.same(expand(['vo:role=member', 'vo:role=associate', 'vo:x']), ['vo', 'vo:role=member', 'vo:role=associate', 'vo:x']);
  t.same(expand(['vo:sub:role=admin'], 'member'), ['vo:role=member', 'vo:sub:role=member', 'vo:sub:role=admin'], 'EGI style');
  t.same(expand(['vo:sub', 'vo']), ['vo', 'vo:sub'], 'each value once');
  const held = group(`${ns}:a:b:c:role=admin#aai.example.org`);
  for (const implied of impliedBy(held)) {
    t.ok(satisfies(held, implied), `${formatEntitlement(implied)} is implied by the held value`);
    t.equal(implied.authority, 'aai.example.org');
  }
});
