/**
 * `frontends.oidc`: defaults, the mistakes the schema catches with their key paths, signing keys
 * from files with rollover, and dynamic registration behind its initial access token.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import t from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/core/errors.js';
import { Browser } from '../../helpers/browser.js';
import { startFedgate, tempDir } from '../../helpers/fedgate.js';
import { authorize, redeem } from '../../helpers/oidc-rp.js';
import { setup } from './harness.js';

const redirectUris = ['https://rp.example.org/cb'];
const TX = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** The problems parseConfig reports for `oidc` as frontends.oidc, one line each. */
function problems(oidc: Record<string, unknown>): string[] {
  try {
    parseConfig({ frontends: { oidc } });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

function pemKey(dir: string, name: string, type: 'rsa' | 'ec'): string {
  const { privateKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const path = join(dir, `${name}.key`);
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return path;
}

t.test('off by default, with a real value for every TTL', async (t) => {
  const { oidc } = parseConfig({}).frontends;
  t.equal(oidc.enabled, false);
  t.equal(oidc.registration.enabled, false);
  t.equal(oidc.pkce.required, 'all');
  t.same(oidc.ttl, {
    AccessToken: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 14 * 86400,
    Interaction: 3600,
    Session: 8 * 3600,
    Grant: 14 * 86400,
    DeviceCode: 600,
    ClientCredentials: 600,
  });
});

t.test('a client without secret is public, one with a secret uses client_secret_basic', async (t) => {
  process.env.FEDGATE_TEST_OIDC_SECRET = 'from-the-environment';
  t.teardown(() => delete process.env.FEDGATE_TEST_OIDC_SECRET);
  const { clients } = parseConfig({
    frontends: {
      oidc: {
        clients: [
          { clientId: 'spa', redirectUris, scopes: ['openid'] },
          { clientId: 'web', clientSecret: { env: 'FEDGATE_TEST_OIDC_SECRET' }, redirectUris, scopes: ['openid'] },
        ],
      },
    },
  }).frontends.oidc;
  t.equal(clients[0]?.tokenEndpointAuthMethod, 'none');
  t.equal(clients[1]?.tokenEndpointAuthMethod, 'client_secret_basic');
  t.equal(clients[1]?.clientSecret, 'from-the-environment', 'secrets from the environment');
});

t.test('mistakes are reported with their key path', async (t) => {
  const dir = tempDir();
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['public client with a method needing a secret', { clients: [{ clientId: 'a', redirectUris, scopes: ['openid'], tokenEndpointAuthMethod: 'client_secret_post' }] }, /^frontends\.oidc\.clients\[0\]\.tokenEndpointAuthMethod: a client without clientSecret is public/],
    ['secret with method none', { clients: [{ clientId: 'a', clientSecret: 'x', redirectUris, scopes: ['openid'], tokenEndpointAuthMethod: 'none' }] }, /clients\[0\]\.clientSecret: .*public/],
    ['unknown scope', { clients: [{ clientId: 'a', redirectUris, scopes: ['openid', 'emial'] }] }, /clients\[0\]\.scopes\[1\]: unknown scope "emial"/],
    ['refresh without offline_access', { clients: [{ clientId: 'a', redirectUris, scopes: ['openid'], grantTypes: ['authorization_code', 'refresh_token'] }] }, /clients\[0\]\.scopes: .*offline_access/],
    ['redirect URI with a fragment', { clients: [{ clientId: 'a', redirectUris: ['https://rp.example.org/cb#x'], scopes: ['openid'] }] }, /clients\[0\]\.redirectUris\[0\]: must not have a fragment/],
    ['duplicate client', { clients: [{ clientId: 'a', redirectUris, scopes: ['openid'] }, { clientId: 'a', redirectUris, scopes: ['openid'] }] }, /clients: clientIds must be unique/],
    ['unknown grant type', { clients: [{ clientId: 'a', redirectUris, scopes: ['openid'], grantTypes: ['implicit'] }] }, /clients\[0\]\.grantTypes\[0\]/],
    ['authorization_code without redirect URI', { clients: [{ clientId: 'a', scopes: ['openid'] }] }, /clients\[0\]\.redirectUris: authorization_code needs at least one/],
    ['token exchange from an unknown client', { clients: [{ clientId: 'a', clientSecret: 'x', grantTypes: [TX], scopes: ['openid'], tokenExchange: { from: ['b'] } }] }, /clients\[0\]\.tokenExchange\.from\[0\]: no client b/],
    ['token exchange from itself', { clients: [{ clientId: 'a', clientSecret: 'x', grantTypes: [TX], scopes: ['openid'], tokenExchange: { from: ['a'] } }] }, /tokenExchange\.from: .*not its own/],
    ['token exchange without the grant type', { clients: [{ clientId: 'a', redirectUris, scopes: ['openid'], tokenExchange: { from: ['b'] } }, { clientId: 'b', redirectUris, scopes: ['openid'] }] }, /clients\[0\]\.tokenExchange\.from: list urn:ietf:params:oauth:grant-type:token-exchange/],
    ['token exchange by a public client', { clients: [{ clientId: 'a', grantTypes: [TX], scopes: ['openid'] }] }, /clients\[0\]\.grantTypes: token exchange is for confidential clients/],
    ['pairwise device client', { clients: [{ clientId: 'a', grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'], scopes: ['openid'], subjectType: 'pairwise' }] }, /clients\[0\]\.subjectType: device code clients/],
    ['unprotected registration', { registration: { enabled: true } }, /registration\.initialAccessToken: dynamic registration must be protected/],
    ['grant shorter than refresh tokens', { ttl: { Grant: 60 } }, /ttl\.Grant: must be at least RefreshToken/],
    ['EC key for RS256', { signingKeys: [{ key: pemKey(dir, 'ec', 'ec'), alg: 'RS256' }] }, /signingKeys\[0\]\.key: .* is not an RSA key/],
    ['missing key file', { signingKeys: [{ key: join(dir, 'nope.key'), alg: 'ES256' }] }, /signingKeys\[0\]\.key: file not found/],
  ];
  for (const [name, oidc, expected] of cases) {
    const found = problems(oidc);
    t.ok(found.some((p) => expected.test(p)), `${name}: ${found.join(' | ')}`);
  }
});

t.test('an issuer outside baseUrl is refused at start', async (t) => {
  await t.rejects(startFedgate({ frontends: { oidc: { enabled: true, issuer: 'https://elsewhere.example.org/oidc' } } }), ConfigError);
  await t.rejects(startFedgate({ frontends: { oidc: { enabled: true, issuer: 'http://127.0.0.1:1/' } } }), ConfigError);
});

t.test('signing keys from files: the first signs, all are published (rollover)', async (t) => {
  const dir = tempDir();
  const signingKeys = [
    { kid: 'new-2026', key: pemKey(dir, 'new', 'rsa'), alg: 'RS256' },
    { kid: 'old-2025', key: pemKey(dir, 'old', 'rsa'), alg: 'RS256' },
    { kid: 'ec-2025', key: pemKey(dir, 'ec', 'ec'), alg: 'ES256' },
  ];
  const { issuer, rp, client } = await setup(t, { type: 'memory' }, { signingKeys });
  const jwks = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: { kid: string; alg: string }[] };
  t.same(jwks.keys.map((k) => [k.kid, k.alg]), [['new-2026', 'RS256'], ['old-2025', 'RS256'], ['ec-2025', 'ES256']]);
  const tokens = await redeem(client, await authorize(new Browser(), client, rp.redirectUri));
  t.equal(decodeProtectedHeader(tokens.id_token!).kid, 'new-2026', 'signed with the first key, and openid-client verified it');
});

t.test('an ES256 signing key signs ID tokens in JWS form (raw r||s), verified against the JWKS', async (t) => {
  const dir = tempDir();
  const { issuer, rp, client } = await setup(t, { type: 'memory' }, { signingKeys: [{ kid: 'ec-1', key: pemKey(dir, 'ec', 'ec'), alg: 'ES256' }] });
  const tokens = await redeem(client, await authorize(new Browser(), client, rp.redirectUri));
  t.same(decodeProtectedHeader(tokens.id_token!), { alg: 'ES256', kid: 'ec-1' }, 'openid-client verified it');
  const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${issuer}/jwks`)), { issuer, audience: 'rp' });
  t.ok(payload.sub, 'jose verifies it with the published key');
});

t.test('X-Forwarded-* count only from the proxies server.trustProxy names', async (t) => {
  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'login.example.org' };
  const endpoint = async (trustProxy: string[]) => {
    const fedgate = await startFedgate({ server: { trustProxy }, frontends: { oidc: { enabled: true } } });
    t.teardown(() => fedgate.close());
    const res = await fetch(`${fedgate.url}/oidc/.well-known/openid-configuration`, { headers: forwarded });
    return { url: fedgate.url, endpoint: ((await res.json()) as { authorization_endpoint: string }).authorization_endpoint };
  };
  t.equal((await endpoint(['127.0.0.1'])).endpoint, 'https://login.example.org/oidc/auth', 'from a trusted proxy');
  const untrusted = await endpoint(['10.9.8.7']);
  t.equal(untrusted.endpoint, `${untrusted.url}/oidc/auth`, 'from anyone else: ignored');
});

t.test('dynamic registration: off by default, behind the initial access token when on', async (t) => {
  const off = await startFedgate({ frontends: { oidc: { enabled: true } } });
  t.teardown(() => off.close());
  const offDiscovery = (await (await fetch(`${off.url}/oidc/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.equal(offDiscovery.registration_endpoint, undefined, 'not advertised');

  const on = await startFedgate({ frontends: { oidc: { enabled: true, registration: { enabled: true, initialAccessToken: 'initial-token-0123' } } } });
  t.teardown(() => on.close());
  const discovery = (await (await fetch(`${on.url}/oidc/.well-known/openid-configuration`)).json()) as { registration_endpoint: string };
  const metadata = JSON.stringify({ redirect_uris: ['https://rp.example.org/cb'], token_endpoint_auth_method: 'client_secret_basic' });
  const register = (token?: string) =>
    fetch(discovery.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: metadata,
    });
  t.equal((await register()).status, 401, 'no token');
  t.equal((await register('wrong-token')).status, 401, 'wrong token');
  const created = await register('initial-token-0123');
  t.equal(created.status, 201);
  const client = (await created.json()) as { client_id: string; client_secret: string };
  t.ok(client.client_id && client.client_secret, 'a client with its secret');
});
