/**
 * Token exchange (RFC 8693) at fedgate's OpenID Provider: a client exchanges a user's access token
 * issued to another client for one of its own, with a subset of the scopes, only for pairs the
 * configuration allows. openid-client's genericGrantRequest as the client, on both stores.
 */
import * as oidc from 'openid-client';
import t from 'tap';
import { Browser } from '../../helpers/browser.js';
import { REDIS_URL } from '../../helpers/fedgate.js';
import { authorize, redeem, rpClient } from '../../helpers/oidc-rp.js';
import { ENTITLEMENTS, RS_SECRET, SCOPE, defaultClients, oauthError, redisSkip, setup } from './harness.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const EXCHANGER_SECRET = 'exchanger-secret-0123';
const STRANGER_SECRET = 'stranger-secret-01234';

function run(name: string, store: () => Record<string, unknown>, skip: string | false) {
  t.test(`token exchange (${name} store)`, { skip }, async (t) => {
    const { issuer, rp, client } = await setup(t, store(), (rp) => ({
      clients: [
        ...defaultClients(rp),
        {
          clientId: 'exchanger',
          clientSecret: EXCHANGER_SECRET,
          grantTypes: [GRANT],
          scopes: ['openid', 'email', 'eduperson_entitlement', 'offline_access'],
          tokenExchange: { from: ['rp'] },
        },
        { clientId: 'stranger', clientSecret: STRANGER_SECRET, grantTypes: [GRANT], scopes: ['openid', 'email'], tokenExchange: { from: ['other-rp'] } },
      ],
    }));
    const login = await authorize(new Browser(), client, rp.redirectUri, { scope: SCOPE, prompt: 'consent' });
    const tokens = await redeem(client, login);
    const sub = tokens.claims()!.sub;
    const exchanger = await rpClient(issuer, 'exchanger', EXCHANGER_SECRET);
    const rs = await rpClient(issuer, 'rs', RS_SECRET);
    const exchange = (config: oidc.Configuration, params: Record<string, string>) =>
      oidc.genericGrantRequest(config, GRANT, { subject_token: tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE, ...params });

    t.ok(exchanger.serverMetadata().grant_types_supported?.includes(GRANT), 'discovery lists the grant');

    await t.test('an allowed pair gets a token of its own for a subset of the scopes', async (t) => {
      const issued = await exchange(exchanger, { scope: 'openid eduperson_entitlement' });
      t.equal(issued.issued_token_type, ACCESS_TOKEN_TYPE);
      t.equal(issued.token_type, 'bearer');
      t.equal(issued.scope, 'openid eduperson_entitlement');
      t.ok(issued.expires_in! > 0 && issued.expires_in! <= 3600, 'expires_in');
      t.notOk(issued.refresh_token, 'no refresh token');
      const introspected = await oidc.tokenIntrospection(rs, issued.access_token);
      t.equal(introspected.active, true);
      t.equal(introspected.client_id, 'exchanger', 'the token belongs to the exchanging client');
      t.equal(introspected.sub, sub, 'for the same user');
      t.equal(introspected.scope, 'openid eduperson_entitlement');
      t.equal((await oidc.tokenIntrospection(exchanger, issued.access_token)).active, true, 'the exchanger may introspect it as its own');
      const userinfo = await oidc.fetchUserInfo(exchanger, issued.access_token, sub);
      t.same({ ...userinfo }, { sub, eduperson_entitlement: ENTITLEMENTS }, 'userinfo shows only the claims of the subset');
    });

    await t.test('without scope: what the subject token and the client share, offline_access aside', async (t) => {
      const issued = await exchange(exchanger, {});
      t.same(issued.scope?.split(' ').sort(), ['eduperson_entitlement', 'email', 'openid']);
      const userinfo = await oidc.fetchUserInfo(exchanger, issued.access_token, sub);
      t.equal(userinfo.email, 'alice@example.org');
      t.equal(userinfo.name, undefined, 'profile was not exchanged');
    });

    await t.test('refusals', async (t) => {
      const stranger = await rpClient(issuer, 'stranger', STRANGER_SECRET);
      t.equal(await oauthError(exchange(stranger, { scope: 'openid' })), 'invalid_request', 'a pair the configuration does not allow (RFC 8693 §2.2.2)');
      const other = await rpClient(issuer, 'other-rp', 'other-secret-0123');
      t.equal(await oauthError(exchange(other, { scope: 'openid' })), 'unauthorized_client', 'a client without the grant type');
      t.equal(await oauthError(exchange(exchanger, { scope: 'openid profile' })), 'invalid_scope', 'a scope the exchanger may not hold');
      t.equal(await oauthError(exchange(exchanger, { scope: 'openid offline_access' })), 'invalid_scope', 'no refresh tokens from an exchange');
      t.equal(await oauthError(exchange(exchanger, { subject_token: 'not-a-token' })), 'invalid_request', 'an unknown subject token');
      t.equal(await oauthError(exchange(exchanger, { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' })), 'invalid_request');
      t.equal(await oauthError(oidc.genericGrantRequest(exchanger, GRANT, { subject_token_type: ACCESS_TOKEN_TYPE })), 'invalid_request', 'no subject_token');
      t.equal(await oauthError(exchange(exchanger, { audience: 'somewhere-else' })), 'invalid_target');
      await oidc.tokenRevocation(client, tokens.access_token);
      t.equal(await oauthError(exchange(exchanger, { scope: 'openid' })), 'invalid_request', 'a revoked (inactive) subject token');
    });
  });
}

run('memory', () => ({ type: 'memory' }), false);
run('Redis', () => ({ type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-oidc-tx-${process.pid}-${Date.now()}:` }), redisSkip);
