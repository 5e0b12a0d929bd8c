/**
 * The YAML group source: a valid file gives each user's memberships; a malformed entitlement is
 * refused at load with the file and line (also through the configuration, so check-config shows
 * it); an edited file is read again, and a broken edit keeps the previous content.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/core/errors.js';
import { readGroupFile, YamlGroupSource } from '../../../src/pipeline/entitlements/sources/yaml-source.js';
import { formatEntitlement } from '../../../src/pipeline/entitlements/urn.js';

const NS = 'urn:geant:example.org';
const log = pino({ level: 'silent' });

const GOOD = `# memberships by community ID or eppn
"c0ffee@proxy.example.org":
  - vo.example.org:analysis
  - { group: vo.example.org, role: admin }
  - urn:mace:egi.eu:group:fedcloud.egi.eu:role=vm_operator#aai.egi.eu
alice@uni.example.edu:
  - group: "vo.example.org:Minun%20ryhm%c3%a4ni"
bob@uni.example.edu: []
`;

const values = (list: Parameters<typeof formatEntitlement>[0][] | undefined) => (list ?? []).map((e) => formatEntitlement(e));

t.test('a valid file gives every user’s memberships, normalised', async (t) => {
  const dir = t.testdir({ 'groups.yaml': GOOD });
  const memberships = readGroupFile(join(dir, 'groups.yaml'), NS);
  t.same(values(memberships.get('c0ffee@proxy.example.org')), [
    'urn:geant:example.org:group:vo.example.org:analysis',
    'urn:geant:example.org:group:vo.example.org:role=admin',
    'urn:mace:egi.eu:group:fedcloud.egi.eu:role=vm_operator#aai.egi.eu',
  ]);
  t.same(values(memberships.get('alice@uni.example.edu')), ['urn:geant:example.org:group:vo.example.org:Minun%20ryhm%C3%A4ni']);
  t.same(memberships.get('bob@uni.example.edu'), []);

  const source = await YamlGroupSource.load(join(dir, 'groups.yaml'), NS, log);
  t.same(values(await source.groupsFor({ communityId: 'c0ffee@proxy.example.org', eppn: 'alice@uni.example.edu' })).length, 4, 'both keys, merged');
  t.same(await source.groupsFor({ eppn: 'nobody@uni.example.edu' }), []);
  t.same(await source.groupsFor({}), []);
});

t.test('a malformed entitlement is refused at load with the file and line', async (t) => {
  const dir = t.testdir({
    'groups.yaml': `alice@uni.example.edu:
  - vo.example.org
  - urn:geant:example.org:group:vo.example.org::broken
bob@uni.example.edu:
  - { group: vo.example.org, role: "" }
  - 42
  - urn:geant:example.org:res:storage#aai.example.org
"has space@x":
  - vo
`,
  });
  const file = join(dir, 'groups.yaml');
  const error = t.throws(() => readGroupFile(file, NS)) as ConfigError;
  t.type(error, ConfigError);
  t.match(error.problems, [
    new RegExp(`^${file}:3:5: alice@uni\\.example\\.edu\\[1\\]: .*empty subgroup name`),
    new RegExp(`^${file}:5:36: bob@uni\\.example\\.edu\\[0\\]\\.role: empty role`),
    new RegExp(`^${file}:6:5: bob@uni\\.example\\.edu\\[1\\]: a membership is a group URN`),
    new RegExp(`^${file}:7:5: bob@uni\\.example\\.edu\\[2\\]: .*is a capability`),
    new RegExp(`^${file}:8:1: has space@x: .*no spaces`),
  ]);
  t.equal(error.problems.length, 5);
  await t.rejects(YamlGroupSource.load(file, NS, log), ConfigError);
});

t.test('YAML syntax errors and missing files are configuration errors too', async (t) => {
  const dir = t.testdir({ 'broken.yaml': 'alice@x:\n  - [unclosed\n', 'list.yaml': '- vo\n' });
  const problems = async (load: () => unknown) => {
    try {
      await load();
    } catch (err) {
      t.type(err, ConfigError);
      return (err as ConfigError).problems;
    }
    return t.fail('no ConfigError');
  };
  t.match(await problems(() => readGroupFile(join(dir, 'broken.yaml'), NS)), [new RegExp(`^${join(dir, 'broken.yaml')}:\\d+:\\d+: YAML syntax`)]);
  t.match(await problems(() => readGroupFile(join(dir, 'list.yaml'), NS)), [new RegExp(`^${join(dir, 'list.yaml')}:1:1: `)]);
  t.match(await problems(() => YamlGroupSource.load(join(dir, 'missing.yaml'), NS, log)), [/missing\.yaml: cannot read the group file/]);
});

t.test('the pipeline configuration reports a broken group file with its config path, file and line', async (t) => {
  const dir = t.testdir({ 'groups.yaml': 'alice@x:\n  - vo\n  - "vo:role=admin:sub"\n' });
  const file = join(dir, 'groups.yaml');
  const error = t.throws(() => parseConfig({ pipeline: [{ filter: 'entitlements', namespace: NS, source: { type: 'yaml', file } }] })) as ConfigError;
  t.match(error.problems, [new RegExp(`^pipeline\\[0\\]\\.source\\.file: ${file}:3:5: alice@x\\[1\\]: .*ambiguous`)]);
});

t.test('an edited file is read again; an edit with problems keeps the previous content', async (t) => {
  const dir = t.testdir({ 'groups.yaml': 'alice@x:\n  - vo\n' });
  const file = join(dir, 'groups.yaml');
  const errors: unknown[] = [];
  const recording = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line)) });
  const source = await YamlGroupSource.load(file, NS, recording);
  t.same(values(await source.groupsFor({ eppn: 'alice@x' })), ['urn:geant:example.org:group:vo']);

  writeFileSync(file, 'alice@x:\n  - vo:sub\n  - other\n');
  t.same(values(await source.groupsFor({ eppn: 'alice@x' })), ['urn:geant:example.org:group:vo:sub', 'urn:geant:example.org:group:other']);

  writeFileSync(file, 'alice@x:\n  - "vo::typo"\n');
  t.same(values(await source.groupsFor({ eppn: 'alice@x' })).length, 2, 'the previous content stays in use');
  await source.groupsFor({ eppn: 'alice@x' });
  t.equal(errors.length, 1, 'the broken edit is logged once, not per login');
  t.match(errors[0], { problems: [new RegExp(`${file}:2:5`)] });

  writeFileSync(file, 'alice@x:\n  - fixed\n');
  t.same(values(await source.groupsFor({ eppn: 'alice@x' })), ['urn:geant:example.org:group:fixed']);
});
