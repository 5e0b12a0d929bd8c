/**
 * Upstream claims as internal attributes (spec/attributes.md §2, §5, §7) and the Identity built
 * from them: what is trusted from which provider, and what fedgate derives itself.
 */
import t from 'tap';
import { attributesFromClaims } from '../../../src/backends/oidc-rp/claims.js';
import { oidcBackendConfig, type OidcProvider } from '../../../src/backends/oidc-rp/config.js';
import { identityFromClaims } from '../../../src/backends/oidc-rp/identity.js';

function provider(input: Record<string, unknown>): OidcProvider {
  const parsed = oidcBackendConfig.parse({ providers: [{ id: 'p', clientId: 'c', clientSecret: 's', ...input }] }).providers[0];
  if (!parsed) throw new Error('no provider');
  return parsed;
}

function recorder() {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  return { lines, log: { debug: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }) } };
}

const generic = provider({ issuer: 'https://sso.example.org/realms/research' });
const google = provider({ preset: 'google' });
const orcid = provider({ preset: 'orcid' });

t.test('claims map through the shared table; unknown and protocol claims are left out', async (t) => {
  const { lines, log } = recorder();
  const attributes = attributesFromClaims(
    generic,
    'u1',
    {
      sub: 'u1', iss: generic.issuer, aud: 'c', exp: 1, iat: 1, nonce: 'n', acr: 'x', amr: ['pwd'], auth_time: 1,
      name: 'Alice Example', given_name: 'Alice', family_name: 'Example', preferred_username: 'alice',
      eduperson_entitlement: ['urn:geant:example.org:group:a', 'urn:geant:example.org:group:b', 42],
      eduperson_principal_name: 'alice@example.org',
      picture: 'https://example.org/alice.png',
      locale: 'de',
      empty: '',
    },
    log,
  );
  t.same(attributes, {
    displayName: ['Alice Example'],
    givenName: ['Alice'],
    sn: ['Example'],
    uid: ['alice'],
    eduPersonEntitlement: ['urn:geant:example.org:group:a', 'urn:geant:example.org:group:b'],
    eduPersonPrincipalName: ['alice@example.org'],
  });
  t.same(lines.map((l) => l.obj.claim).sort(), ['empty', 'locale', 'picture'], 'each unknown claim logged at debug');
  t.same(lines[0]?.obj.upstream, generic.issuer);
});

t.test('email only when email_verified is exactly true, and then also as voPersonVerifiedEmail', async (t) => {
  const { log } = recorder();
  t.same(attributesFromClaims(generic, 'u1', { email: 'a@example.org', email_verified: true }, log), { mail: ['a@example.org'], voPersonVerifiedEmail: ['a@example.org'] });
  t.same(attributesFromClaims(generic, 'u1', { email: 'a@example.org', email_verified: false }, log), {});
  t.same(attributesFromClaims(generic, 'u1', { email: 'a@example.org', email_verified: 'true' }, log), {}, 'a string is not a verification');
  t.same(attributesFromClaims(generic, 'u1', { email: 'a@example.org' }, log), {});
});

t.test('claimMapping adds what the table does not map', async (t) => {
  const { log } = recorder();
  const p = provider({ issuer: 'https://sso.example.org', claimMapping: { groups: 'isMemberOf', entitlements: 'eduPersonEntitlement' } });
  t.same(attributesFromClaims(p, 'u1', { groups: ['physics', 'chemistry'], entitlements: ['urn:x:a'], eduperson_entitlement: ['urn:x:b'] }, log), {
    isMemberOf: ['physics', 'chemistry'],
    eduPersonEntitlement: ['urn:x:a', 'urn:x:b'],
  });
});

t.test('a social provider: no scoped attributes at face value; its subject scoped by the issuer host', async (t) => {
  const { lines, log } = recorder();
  const attributes = attributesFromClaims(
    google,
    '110169484474386276334',
    { sub: '110169484474386276334', email: 'alice@gmail.com', email_verified: true, hd: 'example.org', eduperson_scoped_affiliation: ['faculty@example.org'], schac_home_organization: 'example.org', voperson_external_id: ['x@evil.example'] },
    log,
  );
  t.same(attributes, {
    mail: ['alice@gmail.com'],
    voPersonVerifiedEmail: ['alice@gmail.com'],
    voPersonExternalID: ['110169484474386276334@accounts.google.com'],
  });
  t.ok(lines.some((l) => l.obj.claim === 'hd'), 'Google hd is a hint, not an attribute');
  t.ok(lines.some((l) => l.obj.claim === 'eduperson_scoped_affiliation' && /scoped/.test(String(l.obj.why))));
});

t.test('ORCID: the iD becomes eduPersonOrcid in URL form, and nothing eppn-like', async (t) => {
  const { log } = recorder();
  t.same(attributesFromClaims(orcid, '0000-0002-1825-0097', { sub: '0000-0002-1825-0097', given_name: 'Josiah', family_name: 'Carberry' }, log), {
    givenName: ['Josiah'],
    sn: ['Carberry'],
    voPersonExternalID: ['0000-0002-1825-0097@orcid.org'],
    eduPersonOrcid: ['https://orcid.org/0000-0002-1825-0097'],
  });
  const sandbox = provider({ preset: 'orcid', issuer: 'https://sandbox.orcid.org' });
  t.same(attributesFromClaims(sandbox, '0000-0001-5109-370X', {}, log).eduPersonOrcid, ['https://sandbox.orcid.org/0000-0001-5109-370X']);
  t.notOk(attributesFromClaims(orcid, 'not-an-orcid', {}, log).eduPersonOrcid, 'a subject that is no ORCID iD is not one');
});

t.test('the Identity: issuer, protocol, subject, authentication facts from the ID token', async (t) => {
  const { log } = recorder();
  const idToken = { iss: generic.issuer, sub: 'u1', aud: 'c', exp: 2e9, iat: 1.7e9, auth_time: 1_700_000_000, acr: 'https://refeds.org/profile/mfa', amr: ['pwd', 'otp'] };
  const identity = identityFromClaims(generic, 'u1', { ...idToken, name: 'Alice' }, idToken, log);
  t.same(identity, {
    issuer: generic.issuer,
    protocol: 'oidc',
    subject: { id: 'u1' },
    attributes: { displayName: ['Alice'] },
    authn: { instant: '2023-11-14T22:13:20.000Z', contextClassRefs: ['https://refeds.org/profile/mfa'], amr: ['pwd', 'otp'] },
  });
  const github = provider({ preset: 'github' });
  const plain = identityFromClaims(github, '583231', { sub: '583231' }, undefined, log);
  t.equal(plain.protocol, 'oauth2');
  t.equal(plain.issuer, 'https://github.com');
  t.same(plain.authn.contextClassRefs, []);
  t.notOk('amr' in plain.authn);
  t.ok(Math.abs(Date.parse(plain.authn.instant) - Date.now()) < 60_000, 'without auth_time: now');
});
