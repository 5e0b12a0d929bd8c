import t from 'tap';
import { LoginDeniedError } from '../../src/core/errors.js';
import type { Identity } from '../../src/core/model.js';
import type { ServiceRegistration } from '../../src/core/registration.js';
import { denialOf, formatReport, type ExplainResult } from '../../src/explain/report.js';

const service: ServiceRegistration = { id: 'https://sp.example.org', protocol: 'saml', name: { en: 'Example' }, entityCategories: [], requestedAttributes: [] };
const identity: Identity = {
  issuer: 'https://idp.example.org',
  protocol: 'saml',
  subject: { id: 'abc', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' },
  attributes: { eduPersonPrincipalName: ['alice@evil.example'], mail: ['alice@example.org'] },
  authn: { instant: '2026-11-23T10:00:00Z', contextClassRefs: ['urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'] },
};

function result(overrides: Partial<ExplainResult> = {}): ExplainResult {
  return {
    service,
    upstream: undefined,
    identity,
    trace: {
      service: service.id,
      upstream: identity.issuer,
      steps: [
        {
          filter: 'scope-check',
          added: {},
          removed: { eduPersonPrincipalName: ['alice@evil.example'] },
          notes: ['scope evil.example of alice@evil.example is not in the metadata of https://idp.example.org'],
        },
        { filter: 'community-id', added: { voPersonID: ['0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef@proxy.example.org'] }, removed: {}, notes: ['voPersonID: from persistent NameID', 'tried subject-id: none'] },
        { filter: 'noop', added: {}, removed: {}, notes: [] },
      ],
      released: { mail: ['alice@example.org'] },
    },
    ...overrides,
  };
}

t.test('reasons go beside the values they explain; other notes stay under their filter', async (t) => {
  const text = formatReport(result(), { color: false });
  t.match(text, /\n {4}- eduPersonPrincipalName = alice@evil\.example {3}\(scope-check: scope evil\.example of alice@evil\.example is not in the metadata of https:\/\/idp\.example\.org\)\n/);
  t.match(text, /\n {4}\+ voPersonID = 0123456789abcdef0123…789abcdef@proxy\.example\.org {3}\(community-id: from persistent NameID\)\n/, 'long values keep their scope');
  t.match(text, /\n {4}· tried subject-id: none\n/);
  t.match(text, /3\. noop\n {4}\(no change\)\n/);
  t.match(text, /authn {6}urn:oasis:names:tc:SAML:2\.0:ac:classes:PasswordProtectedTransport/);
  t.match(text, /Released to https:\/\/sp\.example\.org: 1 attribute\n {4}mail = alice@example\.org\n$/);
  t.notMatch(text, /\u001b\[/, 'no colour codes unless asked');
  t.match(formatReport(result(), { color: true }), /\u001b\[31m- eduPersonPrincipalName/);
});

t.test('a denial names the filter, the reason and what the user sees', async (t) => {
  const error = new LoginDeniedError('service requires IAP/medium; login has IAP/low', 'This service needs a verified identity.');
  const denied = result({ error });
  t.same(denialOf(denied), { filter: 'noop', code: 'login_denied', reason: error.message, userMessage: error.userMessage });
  const text = formatReport(denied, { color: false });
  t.match(text, /Denied by noop: nothing is released\n {4}reason {9}service requires IAP\/medium; login has IAP\/low\n {4}the user sees {2}This service needs a verified identity\.\n$/);
  t.notMatch(text, /Released to/);
  t.same(denialOf(result({ error: new TypeError('bug') })), { filter: 'noop', code: 'internal_error', reason: 'bug' });
  t.equal(denialOf(result()), undefined);
});
