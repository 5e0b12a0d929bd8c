/**
 * fedgate's OIDC RP backend against a real OpenID Provider (oidc-provider 9) over loopback: the
 * authorization request it sends (code flow, PKCE S256, state, nonce, prompt, acr_values), the
 * Identity it hands to the flow, and how it ends a login the provider refused or answered wrongly.
 */
import t from 'tap';
import {
  ExpiredMessageError,
  InvalidSignatureError,
  LoginFromAnotherBrowserError,
  MalformedResponseError,
  NoPassiveError,
  UnknownIdentityProviderError,
  UnknownLoginError,
  UnsolicitedResponseError,
  UpstreamAuthnFailedError,
  UpstreamUnavailableError,
  WrongIssuerError,
} from '../../../src/core/errors.js';
import { Browser } from '../../helpers/browser.js';
import { ALICE, MFA, startOidcHarness, type OidcHarness } from './harness.js';

const rejections: unknown[] = [];
process.on('unhandledRejection', (reason) => rejections.push(reason));

const h: OidcHarness = await startOidcHarness({
  provider: { social: true, scopes: ['openid', 'profile', 'email', 'entitlements'] },
  // Never reachable: only its callback path matters here.
  extraProviders: [{ id: 'other', issuer: 'http://127.0.0.1:9/other', clientId: 'fedgate', clientSecret: 'x', timeoutSeconds: 1 }],
});
t.teardown(() => h.close());

t.test('a login: PKCE S256, state and nonce upstream; the identity from ID token and userinfo', async (t) => {
  const browser = new Browser();
  const page = await browser.get(h.startUrl());
  t.equal(page.status, 200, page.body.slice(0, 300));
  const auth = h.op.authorizations.at(-1)!;
  t.equal(auth.get('response_type'), 'code');
  t.equal(auth.get('code_challenge_method'), 'S256');
  t.match(auth.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  t.match(auth.get('state'), /^[A-Za-z0-9_-]{43}$/);
  t.match(auth.get('nonce'), /^[A-Za-z0-9_-]{43}$/);
  t.equal(auth.get('redirect_uri'), `${h.baseUrl}/oidc/rp/callback/research`);
  t.equal(auth.get('scope'), 'openid profile email entitlements');
  t.equal(auth.get('prompt'), null, 'no prompt when the service asked for nothing special');
  t.equal(auth.get('acr_values'), null);

  const { identity } = h.frontend.responses.at(-1)!;
  t.equal(identity.issuer, h.op.issuer);
  t.equal(identity.protocol, 'oidc');
  t.same(identity.subject, { id: ALICE.sub });
  t.same(identity.attributes, {
    displayName: ['Alice Example'],
    givenName: ['Alice'],
    sn: ['Example'],
    mail: ['alice@example.org'],
    voPersonVerifiedEmail: ['alice@example.org'],
    eduPersonEntitlement: ['urn:geant:example.org:group:physics'],
    voPersonExternalID: [`${ALICE.sub}@${new URL(h.op.issuer).host}`],
  });
  t.same(identity.authn.contextClassRefs, [], 'acr is only asserted when asked for');
  t.ok(Date.parse(identity.authn.instant) > Date.now() - 60_000);
  t.equal(h.backend.upstream(h.op.issuer)?.social, true);
  t.equal(h.backend.upstream(h.op.issuer)?.protocol, 'oidc');
});

t.test('ForceAuthn becomes prompt=login, RequestedAuthnContext acr_values; the upstream acr comes back', async (t) => {
  const page = await new Browser().get(h.startUrl({ force: '1', acr: MFA }));
  t.equal(page.status, 200, page.body.slice(0, 300));
  const auth = h.op.authorizations.at(-1)!;
  t.equal(auth.get('prompt'), 'login');
  t.equal(auth.get('acr_values'), MFA);
  const { identity } = h.frontend.responses.at(-1)!;
  t.same(identity.authn.contextClassRefs, [MFA]);
});

t.test('IsPassive becomes prompt=none; login_required answers the service NoPassive', async (t) => {
  const before = h.frontend.errors.length;
  const page = await new Browser().get(h.startUrl({ passive: '1' }));
  t.equal(page.status, 200, 'the flow answered the service');
  t.equal(h.op.authorizations.at(-1)!.get('prompt'), 'none');
  const answered = h.frontend.errors[before];
  t.type(answered?.error, NoPassiveError);
  t.match(answered?.error.message, /login_required/);
});

t.test('access_denied at the provider answers the service AuthnFailed with the reason', async (t) => {
  h.op.deny = true;
  t.teardown(() => void (h.op.deny = false));
  const before = h.frontend.errors.length;
  const page = await new Browser().get(h.startUrl());
  t.equal(page.status, 200);
  const answered = h.frontend.errors[before];
  t.type(answered?.error, UpstreamAuthnFailedError);
  t.match(answered?.error.message, /access_denied: the user declined/);
});

t.test('an OAuth error from the token endpoint answers the service AuthnFailed', async (t) => {
  h.op.tamper = { kind: 'garbage', status: 400, body: '{"error":"invalid_grant","error_description":"grant request is invalid"}', contentType: 'application/json' };
  t.teardown(() => void (h.op.tamper = undefined));
  const before = h.frontend.errors.length;
  const page = await new Browser().get(h.startUrl());
  t.equal(page.status, 200);
  const answered = h.frontend.errors[before];
  t.type(answered?.error, UpstreamAuthnFailedError);
  t.match(answered?.error.message, /HTTP 400 invalid_grant: grant request is invalid/);
});

t.test('the state is taken once: a replayed callback is refused (races: state.test.ts)', async (t) => {
  const browser = new Browser();
  const callback = await h.toCallback(browser);
  t.equal((await browser.fetchRaw(callback, { method: 'GET' })).status, 200);
  const replay = await browser.fetchRaw(callback, { method: 'GET' });
  t.equal(replay.status, 400);
  t.type(h.errors.at(-1), UnknownLoginError);
});

t.test('an unknown or missing state is refused', async (t) => {
  const browser = new Browser();
  const callback = new URL(await h.toCallback(browser));
  callback.searchParams.set('state', 'x'.repeat(43));
  t.equal((await browser.fetchRaw(callback.toString(), { method: 'GET' })).status, 400);
  t.type(h.errors.at(-1), UnknownLoginError);
  callback.searchParams.delete('state');
  t.equal((await browser.fetchRaw(callback.toString(), { method: 'GET' })).status, 400);
  t.match(h.errors.at(-1)?.message, /carries no state/);
  callback.searchParams.set('state', 'x'.repeat(5000));
  t.equal((await browser.fetchRaw(callback.toString(), { method: 'GET' })).status, 400, 'not even looked up when it cannot be one of fedgate’s');
});

t.test('a callback whose iss is not the provider (RFC 9207, mix-up) ends the login', async (t) => {
  const browser = new Browser();
  const callback = new URL(await h.toCallback(browser));
  t.equal(callback.searchParams.get('iss'), h.op.issuer, 'the provider announces and sends iss');
  callback.searchParams.set('iss', 'https://attacker.example');
  t.equal((await browser.fetchRaw(callback.toString(), { method: 'GET' })).status, 403);
  t.type(h.errors.at(-1), WrongIssuerError);
});

t.test('a callback delivered to another browser is refused without ending the login', async (t) => {
  const callback = await h.toCallback(new Browser());
  const told = h.frontend.errors.length;
  const page = await new Browser().fetchRaw(callback, { method: 'GET' });
  t.equal(page.status, 403);
  t.type(h.errors.at(-1), LoginFromAnotherBrowserError);
  t.equal(h.frontend.errors.length, told, 'the service is told nothing: the login is its browser’s to end');
});

t.test('a callback for another provider than the state was issued for', async (t) => {
  const browser = new Browser();
  const callback = await h.toCallback(browser);
  const page = await browser.fetchRaw(callback.replace('/callback/research', '/callback/other'), { method: 'GET' });
  t.equal(page.status, 403);
  t.type(h.errors.at(-1), WrongIssuerError);
  const unknown = await browser.fetchRaw(callback.replace('/callback/research', '/callback/nobody'), { method: 'GET' });
  t.equal(unknown.status, 403, 'an unknown provider id');
  t.type(h.errors.at(-1), UnknownIdentityProviderError);
});

t.test('what the provider gets wrong ends the login with a typed error', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const cases = [
    { name: 'ID token for another nonce', tamper: { kind: 'idToken', claims: (c: Record<string, unknown>) => ({ ...c, nonce: 'not-the-one' }) }, error: UnsolicitedResponseError, status: 403 },
    { name: 'expired ID token', tamper: { kind: 'idToken', claims: (c: Record<string, unknown>) => ({ ...c, iat: now - 7200, exp: now - 3600 }) }, error: ExpiredMessageError, status: 403 },
    { name: 'ID token from another issuer', tamper: { kind: 'idToken', claims: (c: Record<string, unknown>) => ({ ...c, iss: 'https://evil.example' }) }, error: WrongIssuerError, status: 403 },
    { name: 'ID token signed with a key the JWKS lacks', tamper: { kind: 'idToken', key: 'wrong' }, error: InvalidSignatureError, status: 403 },
    { name: 'ID token signed by another key under the published kid', tamper: { kind: 'idToken', key: 'wrong-same-kid' }, error: InvalidSignatureError, status: 403 },
    { name: 'token endpoint answering HTML', tamper: { kind: 'garbage', body: '<html>Gateway error</html>', contentType: 'text/html' }, error: MalformedResponseError, status: 400 },
    { name: 'token endpoint answering broken JSON', tamper: { kind: 'garbage', body: '{"access_token": ', contentType: 'application/json' }, error: MalformedResponseError, status: 400 },
    { name: 'token endpoint down behind a gateway', tamper: { kind: 'garbage', status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' }, error: UpstreamUnavailableError, status: 503 },
  ] as const;
  for (const c of cases) {
    h.op.tamper = c.tamper as never;
    const page = await new Browser().get(h.startUrl());
    h.op.tamper = undefined;
    t.equal(page.status, c.status, `${c.name}: error page`);
    t.type(h.errors.at(-1), c.error, `${c.name}: ${h.errors.at(-1)?.message}`);
  }
  const page = await new Browser().get(h.startUrl());
  t.equal(page.status, 200, 'the provider behaving again, logins work again');
});

t.test('no unhandled rejections', async (t) => {
  await new Promise((resolve) => setImmediate(resolve));
  t.same(rejections, []);
});
