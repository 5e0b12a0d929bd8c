/**
 * `backends.oidc` in the configuration: what each preset supplies, what a generic provider must
 * say, and the problems an operator is told about by key path.
 */
import t from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/core/errors.js';

const providers = (list: Record<string, unknown>[]) => parseConfig({ backends: { oidc: { providers: list } } }).backends.oidc.providers;

function problems(list: Record<string, unknown>[], extra: Record<string, unknown> = {}): string[] {
  try {
    parseConfig({ backends: { oidc: { providers: list, ...extra } } });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

t.test('no providers by default', async (t) => {
  t.same(parseConfig({}).backends.oidc, { providers: [], discoveryRetry: { minSeconds: 30, maxSeconds: 300 } });
});

t.test('presets fill in issuer, protocol, scopes, name, social and userinfo', async (t) => {
  const [google, orcid, github] = providers([
    { id: 'google', preset: 'google', clientId: 'g', clientSecret: 'gs' },
    { id: 'orcid', preset: 'orcid', clientId: 'APP-1', clientSecret: 'os' },
    { id: 'github', preset: 'github', clientId: 'Iv1', clientSecret: 'hs' },
  ]);
  t.match(google, { issuer: 'https://accounts.google.com', protocol: 'oidc', scopes: ['openid', 'profile', 'email'], displayName: { en: 'Google' }, social: true, userinfo: false });
  t.match(orcid, { issuer: 'https://orcid.org', protocol: 'oidc', scopes: ['openid'], displayName: { en: 'ORCID' }, social: true, userinfo: true });
  t.match(github, {
    issuer: 'https://github.com',
    protocol: 'oauth2',
    scopes: ['read:user', 'user:email'],
    social: true,
    endpoints: { authorization: 'https://github.com/login/oauth/authorize', token: 'https://github.com/login/oauth/access_token', api: 'https://api.github.com' },
  });
  t.equal(google?.endpoints, undefined, 'OpenID providers have no configured endpoints');
});

t.test('a generic provider: issuer required, not social, userinfo, name from the issuer host; operator values win', async (t) => {
  const [kc, custom] = providers([
    { id: 'kc', issuer: 'https://sso.example.org/realms/research', clientId: 'fedgate', clientSecret: 's' },
    {
      id: 'orcid-sandbox',
      preset: 'orcid',
      issuer: 'https://sandbox.orcid.org',
      clientId: 'APP-2',
      clientSecret: 's',
      scopes: ['openid', '/read-limited'],
      displayName: { en: 'ORCID sandbox', de: 'ORCID-Sandbox' },
      logo: 'https://orcid.org/logo.svg',
      social: false,
      userinfo: false,
      hidden: true,
      claimMapping: { groups: 'isMemberOf' },
    },
  ]);
  t.match(kc, { preset: 'generic', protocol: 'oidc', social: false, userinfo: true, displayName: { en: 'sso.example.org' }, hidden: false, timeoutSeconds: 10 });
  t.match(custom, {
    issuer: 'https://sandbox.orcid.org',
    scopes: ['openid', '/read-limited'],
    displayName: { de: 'ORCID-Sandbox' },
    logo: 'https://orcid.org/logo.svg',
    social: false,
    userinfo: false,
    hidden: true,
    claimMapping: { groups: 'isMemberOf' },
  });
});

t.test('the client secret may come from the environment or a file', async (t) => {
  process.env.FEDGATE_TEST_OIDC_SECRET = 'from-env';
  t.teardown(() => void delete process.env.FEDGATE_TEST_OIDC_SECRET);
  const [p] = providers([{ id: 'g', preset: 'google', clientId: 'g', clientSecret: { env: 'FEDGATE_TEST_OIDC_SECRET' } }]);
  t.equal(p?.clientSecret, 'from-env');
  t.match(problems([{ id: 'g', preset: 'google', clientId: 'g', clientSecret: { env: 'FEDGATE_TEST_NOT_SET' } }]), [/providers\[0\]\.clientSecret: environment variable FEDGATE_TEST_NOT_SET is not set/]);
});

t.test('issuers and endpoints must be https, except on this machine', async (t) => {
  const base = { clientId: 'c', clientSecret: 's' };
  t.same(problems([{ id: 'a', issuer: 'http://127.0.0.1:8081', ...base }, { id: 'b', issuer: 'http://localhost/x', ...base }, { id: 'c', issuer: 'http://[::1]:9000', ...base }]), []);
  t.match(problems([{ id: 'a', issuer: 'http://sso.example.org', ...base }]), [/providers\[0\]\.issuer: must be an https URL/]);
  t.match(problems([{ id: 'a', issuer: 'not a url', ...base }]), [/providers\[0\]\.issuer: must be a URL/]);
  t.match(problems([{ id: 'gh', preset: 'github', endpoints: { token: 'http://github.example.org/token' }, ...base }]), [/providers\[0\]\.endpoints\.token: must be an https URL/]);
  t.match(problems([{ id: 'a', issuer: 'https://sso.example.org', logo: 'http://sso.example.org/logo.png', ...base }]), [/providers\[0\]\.logo/]);
});

t.test('the problems an operator is told about, by key path', async (t) => {
  const base = { clientId: 'c', clientSecret: 's' };
  t.match(problems([{ id: 'kc', ...base }]), [/providers\[0\]\.issuer: required for a generic provider/]);
  t.match(problems([{ id: 'Bad Id', preset: 'google', ...base }]), [/providers\[0\]\.id: lowercase letters/]);
  t.match(problems([{ id: 'g', preset: 'google', endpoints: {}, ...base }]), [/providers\[0\]\.endpoints: only for the github preset/]);
  t.match(problems([{ id: 'g', preset: 'facebook', ...base }]), [/providers\[0\]\.preset/]);
  t.match(problems([{ id: 'g', preset: 'google', claimMapping: { groups: 'groups' }, ...base }]), [/providers\[0\]\.claimMapping\.groups: unknown attribute "groups"/]);
  t.match(problems([{ id: 'g', preset: 'google', scopes: ['openid email'], ...base }]), [/providers\[0\]\.scopes\[0\]: one scope token/]);
  t.match(problems([{ id: 'g', preset: 'google', clientId: 'c' }]), [/providers\[0\]\.clientSecret/]);
  t.match(problems([{ id: 'g', preset: 'google', ...base, extra: 1 }]), [/providers\[0\]/]);
  t.match(
    problems([
      { id: 'g', preset: 'google', ...base },
      { id: 'g', preset: 'orcid', ...base },
      { id: 'g2', issuer: 'https://accounts.google.com', ...base },
    ]),
    [/providers\[1\]\.id: another provider already has id g/, /providers\[2\]\.issuer: another provider already has issuer https:\/\/accounts\.google\.com/],
  );
  t.match(problems([], { discoveryRetry: { minSeconds: 600, maxSeconds: 60 } }), [/discoveryRetry: minSeconds must not exceed maxSeconds/]);
});
