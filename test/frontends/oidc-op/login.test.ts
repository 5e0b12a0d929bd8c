/**
 * fedgate as OpenID Provider, end to end: openid-client as the relying party, a SAML IdP
 * (samlify) upstream, real HTTP over loopback. The RP logs in with code + PKCE, validates the ID
 * token, reads userinfo, refreshes (rotation and reuse detection), has resource servers
 * introspect, revokes, logs out; on the memory store and on Redis.
 */
import * as oidc from 'openid-client';
import t from 'tap';
import { Browser } from '../../helpers/browser.js';
import { REDIS_URL } from '../../helpers/fedgate.js';
import { authorize, redeem, rpClient } from '../../helpers/oidc-rp.js';
import { ENTITLEMENTS, RS_SECRET, SCOPE, oauthError, redisSkip, setup } from './harness.js';

function runMainFlow(name: string, store: () => Record<string, unknown>, skip: string | false) {
  t.test(`SAML IdP → fedgate (OpenID Provider) → openid-client RP (${name} store)`, { skip }, async (t) => {
    const { issuer, rp, idp, client } = await setup(t, store());
    const browser = new Browser();

    const discovery = client.serverMetadata();
    t.equal(discovery.issuer, issuer, 'the issuer is <baseUrl>/oidc');
    t.same(discovery.id_token_signing_alg_values_supported, ['RS256', 'ES256']);
    t.same(discovery.code_challenge_methods_supported, ['S256']);
    const jwks = (await (await fetch(discovery.jwks_uri!)).json()) as { keys: { alg: string; kid: string; d?: string }[] };
    t.same(jwks.keys.map((k) => k.alg), ['RS256', 'ES256'], 'both generated keys are published, RS256 first');
    t.ok(jwks.keys.every((k) => k.kid && k.d === undefined), 'public keys with kids only');

    const login = await authorize(browser, client, rp.redirectUri, { scope: SCOPE, prompt: 'consent' });
    t.equal(login.callback.origin + login.callback.pathname, rp.redirectUri, 'the browser ended at the redirect_uri');
    t.equal(login.callback.searchParams.get('iss'), issuer, 'RFC 9207 iss in the authorization response');
    t.equal(idp.requests.length, 1, 'the user logged in upstream once');
    const tokens = await redeem(client, login);
    const idToken = tokens.claims()!;
    t.match(idToken.sub, /^[0-9a-f]{64}@127\.0\.0\.1$/, 'sub is the community ID');
    t.equal(idToken.iss, issuer);
    t.equal(idToken.aud, 'rp');
    t.equal(idToken.email, undefined, 'the ID token keeps to sub (claims come from userinfo)');
    t.ok(tokens.refresh_token, 'offline_access with prompt=consent gives a refresh token');

    const userinfo = await oidc.fetchUserInfo(client, tokens.access_token, idToken.sub);
    t.same(
      { ...userinfo },
      {
        sub: idToken.sub,
        name: 'Alice Liddell',
        given_name: 'Alice',
        family_name: 'Liddell',
        email: 'alice@example.org',
        email_verified: true,
        voperson_verified_email: ['alice@example.org'],
        eduperson_entitlement: ENTITLEMENTS,
        voperson_id: idToken.sub,
      },
      'mapped claims, multi-valued ones as arrays; nothing the scopes do not cover',
    );

    const rs = await rpClient(issuer, 'rs', RS_SECRET);
    await t.test('introspection: resource servers see every token, clients only their own', async (t) => {
      const active = await oidc.tokenIntrospection(rs, tokens.access_token);
      t.equal(active.active, true);
      t.equal(active.client_id, 'rp');
      t.equal(active.sub, idToken.sub);
      t.match(active.scope, /eduperson_entitlement/);
      t.equal((await oidc.tokenIntrospection(client, tokens.access_token)).active, true, 'the client itself');
      const other = await rpClient(issuer, 'other-rp', 'other-secret-0123');
      t.same(await oidc.tokenIntrospection(other, tokens.access_token), { active: false }, 'another client learns nothing');
      t.same(await oidc.tokenIntrospection(rs, 'not-a-token'), { active: false });
      const anonymous = await fetch(discovery.introspection_endpoint!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: tokens.access_token }),
      });
      t.equal(anonymous.status, 401, 'unauthenticated callers are refused');
      t.equal(((await anonymous.json()) as { error: string }).error, 'invalid_client');
    });

    await t.test('refresh rotates; presenting a used refresh token revokes the family', async (t) => {
      const first = await oidc.refreshTokenGrant(client, tokens.refresh_token!);
      t.ok(first.refresh_token && first.refresh_token !== tokens.refresh_token, 'a new refresh token');
      t.equal(first.claims()?.sub, idToken.sub, 'a new ID token for the same subject');
      t.equal((await oidc.tokenIntrospection(rs, first.access_token)).active, true);
      t.equal(await oauthError(oidc.refreshTokenGrant(client, tokens.refresh_token!)), 'invalid_grant', 'the old refresh token is refused');
      t.equal(await oauthError(oidc.refreshTokenGrant(client, first.refresh_token!)), 'invalid_grant', 'and its successor is revoked too');
      t.equal((await oidc.tokenIntrospection(rs, first.access_token)).active, false, 'so are the access tokens of the family');
    });

    await t.test('a second login in the same browser is answered from the session; the code works once', async (t) => {
      const again = await authorize(browser, client, rp.redirectUri, { scope: 'openid email' });
      t.equal(idp.requests.length, 1, 'no new upstream login');
      const second = await redeem(client, again);
      t.equal(second.claims()?.sub, idToken.sub);
      t.equal(await oauthError(redeem(client, again)), 'invalid_grant', 'the code cannot be used twice');
      t.equal((await oidc.tokenIntrospection(rs, second.access_token)).active, false, 'replaying the code revoked what it gave');
    });

    await t.test('revocation', async (t) => {
      const login = await authorize(browser, client, rp.redirectUri, { scope: 'openid' });
      const issued = await redeem(client, login);
      t.equal((await oidc.tokenIntrospection(rs, issued.access_token)).active, true);
      await oidc.tokenRevocation(client, issued.access_token);
      t.equal((await oidc.tokenIntrospection(rs, issued.access_token)).active, false, 'revoked');
      const userinfo = await oauthError(oidc.fetchUserInfo(client, issued.access_token, idToken.sub));
      t.equal(userinfo, 'invalid_token', 'userinfo refuses it');
    });

    await t.test('end_session logs out of fedgate too: the next login goes upstream again', async (t) => {
      const login = await authorize(browser, client, rp.redirectUri, { scope: 'openid' });
      const issued = await redeem(client, login);
      const logoutUrl = oidc.buildEndSessionUrl(client, {
        id_token_hint: issued.id_token!,
        post_logout_redirect_uri: rp.postLogoutRedirectUri,
        state: 'bye-state',
      });
      const confirm = await browser.get(logoutUrl.href);
      t.equal(confirm.status, 200);
      t.match(confirm.body, 'Log out');
      const done = await browser.submit(confirm, { logout: 'yes' });
      const landed = new URL(done.url);
      t.equal(landed.origin + landed.pathname, rp.postLogoutRedirectUri, 'back at the RP');
      t.equal(landed.searchParams.get('state'), 'bye-state');
      const before = idp.requests.length;
      const next = await authorize(browser, client, rp.redirectUri, { scope: 'openid' });
      t.equal(idp.requests.length, before + 1, 'a new upstream login');
      t.ok((await redeem(client, next)).access_token);
    });

    await t.test('prompt=none without a session answers login_required at the redirect_uri', async (t) => {
      const stranger = new Browser();
      const before = idp.requests.length;
      const passive = await authorize(stranger, client, rp.redirectUri, { prompt: 'none' });
      t.equal(passive.callback.searchParams.get('error'), 'login_required');
      t.equal(passive.callback.searchParams.get('state'), passive.state);
      t.equal(passive.callback.searchParams.get('iss'), issuer);
      t.equal(idp.requests.length, before, 'nobody was sent upstream');
    });
  });
}

runMainFlow('memory', () => ({ type: 'memory' }), false);
runMainFlow('Redis', () => ({ type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-oidc-op-${process.pid}-${Date.now()}:` }), redisSkip);

t.test('clients: public with PKCE, pairwise subjects, forced logins, acr', async (t) => {
  const { issuer, rp, idp, client } = await setup(t, { type: 'memory' });
  const browser = new Browser();
  const publicSub = (await redeem(client, await authorize(browser, client, rp.redirectUri))).claims()!.sub;

  await t.test('a public client authenticates with PKCE alone', async (t) => {
    const pub = await rpClient(issuer, 'public-rp', undefined, 'none');
    const tokens = await redeem(pub, await authorize(browser, pub, rp.redirectUri, { scope: 'openid profile' }));
    t.equal(tokens.claims()?.sub, publicSub, 'same public subject for every client');
    const noPkce = await browser.get(
      `${issuer}/auth?${new URLSearchParams({ client_id: 'public-rp', redirect_uri: rp.redirectUri, response_type: 'code', scope: 'openid', state: 's1' })}`,
    );
    const callback = new URL(noPkce.url);
    t.equal(callback.searchParams.get('error'), 'invalid_request', 'PKCE is required');
    t.match(callback.searchParams.get('error_description'), /PKCE/);
  });

  await t.test('a pairwise client gets its own subject', async (t) => {
    const pairwise = await rpClient(issuer, 'pairwise-rp', 'pairwise-secret-01');
    const sub = (await redeem(pairwise, await authorize(browser, pairwise, rp.redirectUri))).claims()!.sub;
    t.match(sub, /^[0-9a-f]{64}$/);
    t.not(sub, publicSub);
  });

  await t.test('prompt=login and an exceeded max_age go upstream again with ForceAuthn', async (t) => {
    const before = idp.requests.length;
    const forced = await redeem(client, await authorize(browser, client, rp.redirectUri, { prompt: 'login' }));
    t.equal(idp.requests.length, before + 1, 'a new upstream login despite the session');
    t.equal(idp.requests.at(-1)?.forceAuthn, true, 'ForceAuthn forwarded');
    t.ok(forced.claims()?.auth_time, 'auth_time in the ID token');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const aged = await redeem(client, await authorize(browser, client, rp.redirectUri, { max_age: '1' }), { maxAge: 1 });
    t.equal(idp.requests.length, before + 2, 'max_age exceeded: upstream again');
    t.equal(idp.requests.at(-1)?.forceAuthn, true);
    t.ok(aged.claims()?.auth_time, 'openid-client checked auth_time against max_age');
  });

  await t.test('acr is in the ID token when asked for; an unmet essential acr is refused', async (t) => {
    const asked = await redeem(client, await authorize(browser, client, rp.redirectUri, { acr_values: 'https://refeds.org/profile/mfa' }));
    t.equal(asked.claims()?.acr, 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport', 'the upstream context (no assurance filter configured)');
    const essential = await authorize(browser, client, rp.redirectUri, {
      claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['https://refeds.org/profile/mfa'] } } }),
    });
    t.equal(essential.callback.searchParams.get('error'), 'unmet_authentication_requirements');
    t.equal(essential.callback.searchParams.get('state'), essential.state);
  });
});

t.test('bad input', async (t) => {
  const { issuer, rp, client } = await setup(t, { type: 'memory' });
  const browser = new Browser();
  const authParams = (overrides: Record<string, string>) =>
    new URLSearchParams({
      client_id: 'rp',
      redirect_uri: rp.redirectUri,
      response_type: 'code',
      scope: 'openid',
      state: 'st',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGgSw9ZjhM',
      code_challenge_method: 'S256',
      ...overrides,
    });

  await t.test('an unregistered redirect_uri gets an error page, never a redirect', async (t) => {
    for (const redirect of ['http://evil.example/cb', `${rp.redirectUri}/extra`, `${rp.redirectUri}?x=1`]) {
      const page = await browser.fetchRaw(`${issuer}/auth?${authParams({ redirect_uri: redirect })}`, { method: 'GET', headers: { accept: 'text/html' } });
      t.equal(page.status, 400, redirect);
      t.equal(page.headers.get('location'), null, 'no redirect');
      t.match(page.body, 'Sorry, the login did not work', 'fedgate’s error page');
      t.notMatch(page.body, 'evil.example');
    }
    t.equal(rp.hits.length, 0, 'nothing reached any redirect_uri');
  });

  await t.test('an unknown client gets an error page', async (t) => {
    const page = await browser.fetchRaw(`${issuer}/auth?${authParams({ client_id: 'nobody' })}`, { method: 'GET', headers: { accept: 'text/html' } });
    t.equal(page.status, 400);
    t.equal(page.headers.get('location'), null);
    t.match(page.body, 'not registered with this login proxy');
  });

  await t.test('a scope the client may not request is refused at its redirect_uri', async (t) => {
    const other = await rpClient(issuer, 'other-rp', 'other-secret-0123');
    const refused = await authorize(browser, other, rp.redirectUri, { scope: 'openid email' });
    t.equal(refused.callback.searchParams.get('error'), 'invalid_scope');
    t.equal(refused.callback.searchParams.get('state'), refused.state);
  });

  await t.test('the token endpoint refuses a wrong verifier, a wrong secret, an unknown client', async (t) => {
    const login = await authorize(browser, client, rp.redirectUri);
    t.equal(await oauthError(redeem(client, login, { pkceCodeVerifier: oidc.randomPKCECodeVerifier() })), 'invalid_grant', 'wrong code_verifier');
    const wrongSecret = await rpClient(issuer, 'rp', 'not-the-secret');
    t.equal(await oauthError(redeem(wrongSecret, await authorize(browser, client, rp.redirectUri))), 'invalid_client', 'wrong secret');
    const unknown = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('nobody:secret').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', redirect_uri: rp.redirectUri, code_verifier: oidc.randomPKCECodeVerifier() }),
    });
    t.equal(unknown.status, 401);
    t.equal(((await unknown.json()) as { error: string }).error, 'invalid_client', 'unknown client');
  });

  await t.test('an expired code is refused', async (t) => {
    const short = await setup(t, { type: 'memory' }, { ttl: { AuthorizationCode: 1 } });
    const login = await authorize(new Browser(), short.client, short.rp.redirectUri);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    t.equal(await oauthError(redeem(short.client, login)), 'invalid_grant');
  });

});
