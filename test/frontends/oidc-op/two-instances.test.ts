/**
 * Two fedgate instances behind one address, sharing Redis and the data folder (keys, cookie keys,
 * salt), as behind a load balancer: an OIDC login started on one is finished on the other, and
 * the tokens one issues are introspected, refreshed and revoked on the other. A small reverse
 * proxy in the test plays the load balancer; the test decides where each request goes.
 */
import * as oidc from 'openid-client';
import t from 'tap';
import { startBalancer } from '../../helpers/balancer.js';
import { Browser } from '../../helpers/browser.js';
import { REDIS_URL, startParsedFedgate, tempDir } from '../../helpers/fedgate.js';
import { redeem, rpClient } from '../../helpers/oidc-rp.js';
import { freePort } from '../../helpers/ports.js';
import { RS_SECRET, SCOPE, oauthError, redisSkip, setup } from './harness.js';

t.test('two instances sharing Redis serve one OIDC login and one token lifecycle', { skip: redisSkip }, async (t) => {
  const [portA, portB] = [await freePort(), await freePort()];
  const balancer = await startBalancer(portA);
  t.teardown(() => balancer.close());
  const store = { type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-oidc-two-${process.pid}-${Date.now()}:` };
  const { fedgate: a, issuer, rp, idp, client } = await setup(t, store, {}, { server: { baseUrl: balancer.url, port: portA }, dataDir: tempDir('fedgate-shared-data-') });
  const b = await startParsedFedgate({ ...a.config, server: { ...a.config.server, port: portB } });
  t.teardown(() => b.close());
  t.equal(issuer, `${balancer.url}/oidc`, 'one issuer for both');

  // The authorization request reaches A, which sends the browser to its interaction.
  const browser = new Browser();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(client, {
    redirect_uri: rp.redirectUri,
    scope: SCOPE,
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const started = await browser.fetchRaw(url.href, { method: 'GET' });
  t.equal(started.status, 303);
  const interaction = new URL(started.headers.get('location')!, url);
  t.match(interaction.pathname, /^\/oidc\/interaction\//, 'A asks for a login');

  // Everything after that reaches B: interaction, upstream login, SAML response, resume, code.
  balancer.target = portB;
  const seenBefore = balancer.seen.length;
  const landed = await browser.get(interaction.href);
  const callback = new URL(landed.url);
  t.equal(callback.origin + callback.pathname, rp.redirectUri, 'B finished the login at the redirect_uri');
  t.ok(callback.searchParams.get('code'), 'with a code');
  t.equal(idp.requests.length, 1);
  t.ok(balancer.seen.slice(seenBefore).every((p) => p === portB), 'B alone served the rest of the login');

  // A redeems the code B issued; B sees, refreshes and revokes what A issued.
  balancer.target = portA;
  const tokens = await redeem(client, { page: landed, callback, codeVerifier, state, nonce });
  t.ok(tokens.refresh_token);
  balancer.target = portB;
  const rs = await rpClient(issuer, 'rs', RS_SECRET);
  t.equal((await oidc.tokenIntrospection(rs, tokens.access_token)).active, true, 'B introspects A’s access token');
  const userinfo = await oidc.fetchUserInfo(client, tokens.access_token, tokens.claims()!.sub);
  t.equal(userinfo.email, 'alice@example.org', 'B answers userinfo for it');
  const refreshed = await oidc.refreshTokenGrant(client, tokens.refresh_token!);
  t.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'B rotates A’s refresh token');
  balancer.target = portA;
  t.equal((await oidc.tokenIntrospection(rs, refreshed.access_token)).active, true, 'A introspects what B issued');
  t.equal(await oauthError(oidc.refreshTokenGrant(client, tokens.refresh_token!)), 'invalid_grant', 'A refuses the refresh token B rotated');
  balancer.target = portB;
  t.equal((await oidc.tokenIntrospection(rs, refreshed.access_token)).active, false, 'and B sees the family revoked');
});
