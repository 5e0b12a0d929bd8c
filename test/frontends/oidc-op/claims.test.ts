import t from 'tap';
import type { Identity } from '../../../src/core/model.js';
import { SCOPE_CLAIMS, SUPPORTED_SCOPES, accountIdOf, claimsOf, pairwiseSubject } from '../../../src/frontends/oidc-op/claims.js';

t.test('scopes carry the EGI claim sets', async (t) => {
  t.same(SCOPE_CLAIMS.openid, ['sub']);
  t.same(SCOPE_CLAIMS.profile, ['name', 'given_name', 'family_name', 'preferred_username']);
  t.same(SCOPE_CLAIMS.email, ['email', 'voperson_verified_email', 'email_verified']);
  t.same([...(SCOPE_CLAIMS.aarc ?? [])].sort(), [...(SCOPE_CLAIMS.profile ?? []), ...(SCOPE_CLAIMS.email ?? []), 'voperson_id'].sort());
  for (const scope of ['eduperson_entitlement', 'eduperson_assurance', 'eduperson_scoped_affiliation', 'voperson_id', 'orcid', 'ssh_public_key']) {
    t.same(SCOPE_CLAIMS[scope], [scope === 'orcid' ? 'orcid' : scope], scope);
  }
  t.ok(SUPPORTED_SCOPES.includes('offline_access'));
});

t.test('claims: single values as strings, multi-valued as arrays, email_verified from voPersonVerifiedEmail', async (t) => {
  t.same(
    claimsOf({
      mail: ['Alice@Example.org', 'other@example.org'],
      voPersonVerifiedEmail: ['alice@example.org'],
      displayName: ['Alice'],
      eduPersonAssurance: ['https://refeds.org/assurance'],
      cn: ['no claim for cn'],
      eduPersonEntitlement: [],
    }),
    {
      email: 'Alice@Example.org',
      voperson_verified_email: ['alice@example.org'],
      name: 'Alice',
      eduperson_assurance: ['https://refeds.org/assurance'],
      email_verified: true,
    },
  );
  t.equal(claimsOf({ mail: ['alice@example.org'] }).email_verified, false, 'not verified without voPersonVerifiedEmail');
  t.notOk('email_verified' in claimsOf({ voPersonVerifiedEmail: ['alice@example.org'] }), 'no email, no email_verified');
});

t.test('account ids: the community ID, else a salted hash of issuer and subject', async (t) => {
  const identity = (attributes: Record<string, string[]>, subject = 'nameid-1'): Identity => ({
    issuer: 'https://idp.example.org',
    protocol: 'saml',
    subject: { id: subject },
    attributes,
    authn: { instant: new Date().toISOString(), contextClassRefs: [] },
  });
  t.equal(accountIdOf(identity({ voPersonID: ['abc@proxy.example'], 'subject-id': ['x@y'] }), 'salt'), 'abc@proxy.example');
  t.equal(accountIdOf(identity({ 'subject-id': ['abc@proxy.example'] }), 'salt'), 'abc@proxy.example');
  const hashed = accountIdOf(identity({}), 'salt');
  t.match(hashed, /^[0-9a-f]{64}$/);
  t.equal(accountIdOf(identity({}), 'salt'), hashed, 'stable');
  t.not(accountIdOf(identity({}, 'nameid-2'), 'salt'), hashed);
  t.not(accountIdOf(identity({}), 'other-salt'), hashed);
  t.not(pairwiseSubject('salt', 'a.example', hashed), pairwiseSubject('salt', 'b.example', hashed), 'pairwise differs per sector');
});
