/** The `discovery` configuration: defaults, per-service filters, an external discovery service. */
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';
import { startFedgate } from '../helpers/fedgate.js';

const problems = (discovery: unknown): string[] => {
  try {
    parseConfig({ discovery });
    return [];
  } catch (err) {
    return (err as { problems: string[] }).problems;
  }
};

t.test('defaults', async (t) => {
  t.same(parseConfig({}).discovery, { cookieName: 'fedgate_idp', rememberDays: 90, remember: 3, listLimit: 50, filters: [] });
  t.same(parseConfig({ discovery: { filters: [{ services: ['client-1'] }] } }).discovery.filters, [
    {
      services: ['client-1'],
      requireEntityCategories: [],
      requireEntityCategorySupport: [],
      requireAssuranceCertifications: [],
      registrationAuthorities: [],
      includeSocial: true,
    },
  ]);
});

t.test('problems name the key', async (t) => {
  t.match(problems({ filters: [{ services: ['a', 'b'] }, { services: ['c', 'a'] }] }), ['discovery.filters[1].services[1]: a already has the filter discovery.filters[0]']);
  t.match(problems({ filters: [{ services: [] }] }), [/^discovery\.filters\[0\]\.services: /]);
  t.match(problems({ filters: [{ services: ['a'], includeSocial: 'no' }] }), [/^discovery\.filters\[0\]\.includeSocial: /]);
  t.match(problems({ filters: [{ services: ['a'], requireSirtfi: true }] }), ['discovery.filters[0]: unknown key: requireSirtfi']);
  t.match(problems({ externalService: 'ftp://ds.example.org/' }), [/^discovery\.externalService: /]);
  t.match(problems({ cookieName: 'my cookie' }), [/^discovery\.cookieName: /]);
  t.match(problems({ listLimit: 100_000 }), [/^discovery\.listLimit: /]);
});

t.test('an external discovery service needs the SAML backend, whose entityID it is asked for', async (t) => {
  await t.rejects(
    startFedgate({ backends: { saml: { enabled: false } }, discovery: { externalService: 'https://ds.example.org/ds' } }),
    { name: 'ConfigError', problems: [/^discovery\.externalService: needs the SAML backend/] },
  );
});
