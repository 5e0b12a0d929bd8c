/**
 * Authorization code replay (RFC 6749 §4.1.2, §10.5; RFC 9700 §4.5): a code works once; its second
 * use fails with invalid_grant and revokes every token issued from it — the attacker who replays a
 * stolen code and the client who redeemed it cannot both keep access. Also when the uses race.
 */
import * as oidc from 'openid-client';
import t, { type Test } from 'tap';
import { REDIS_URL } from '../../helpers/fedgate.js';
import { rpClient } from '../../helpers/oidc-rp.js';
import { RS_SECRET, redisSkip } from '../../frontends/oidc-op/harness.js';
import { SECRETS, attackSetup, type AttackSetup } from './harness.js';

/** One raw token request redeeming `code` as rp (Basic): the status and the JSON body. */
async function redeemRaw(s: AttackSetup, code: string, verifier: string): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${s.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`rp:${SECRETS.rp}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: s.rp.redirectUri, code_verifier: verifier }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

/** The userinfo endpoint's answer to `accessToken`: its status and WWW-Authenticate challenge. */
async function userinfo(s: AttackSetup, accessToken: string): Promise<{ status: number; challenge: string | null }> {
  const res = await fetch(`${s.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  await res.arrayBuffer();
  return { status: res.status, challenge: res.headers.get('www-authenticate') };
}

/** Checks that nothing issued in `issued` still works: introspection, userinfo and refresh all refuse. */
async function allRevoked(t: Test, s: AttackSetup, issued: Record<string, string>[]): Promise<void> {
  const rs = await rpClient(s.issuer, 'rs', RS_SECRET);
  const rp = await s.config('rp');
  for (const tokens of issued) {
    t.same(await oidc.tokenIntrospection(rs, tokens.access_token!), { active: false }, 'the access token is inactive (RFC 7662)');
    const info = await userinfo(s, tokens.access_token!);
    t.equal(info.status, 401, 'userinfo refuses it');
    t.match(info.challenge, /^Bearer .*error="invalid_token"/, 'with an invalid_token challenge (RFC 6750 §3.1)');
    if (tokens.refresh_token) {
      const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token).then(
        () => 'refreshed',
        (err: { error?: string }) => err.error,
      );
      t.equal(refreshed, 'invalid_grant', 'the refresh token is revoked too');
    }
  }
}

function run(name: string, store: () => Record<string, unknown>, skip: string | false) {
  t.test(`authorization code replay (${name} store)`, { skip }, async (t) => {
    const s = await attackSetup(t, store());

    await t.test('the second use fails and revokes the tokens of the first', async (t) => {
      const a = await s.code('rp');
      const code = a.callback.searchParams.get('code')!;
      const first = await redeemRaw(s, code, a.codeVerifier);
      t.equal(first.status, 200, 'the first use gets tokens');
      t.ok(first.body.refresh_token, 'a refresh token among them');
      t.equal((await userinfo(s, first.body.access_token!)).status, 200, 'which work');
      const replay = await redeemRaw(s, code, a.codeVerifier);
      t.equal(replay.status, 400);
      t.equal(replay.body.error, 'invalid_grant', 'the replay is refused (RFC 6749 §5.2)');
      t.notOk(replay.body.access_token);
      await allRevoked(t, s, [first.body]);
      t.ok(await s.serving(), 'fedgate keeps serving');
    });

    await t.test('uses that race: at most one gets tokens, and none of them survives', async (t) => {
      const a = await s.code('rp');
      const code = a.callback.searchParams.get('code')!;
      const answers = await Promise.all(Array.from({ length: 4 }, () => redeemRaw(s, code, a.codeVerifier)));
      const won = answers.filter((r) => r.status === 200);
      t.ok(won.length <= 1, `${won.length} of 4 got tokens`);
      t.ok(
        answers.every((r) => r.status === 200 || (r.status === 400 && r.body.error === 'invalid_grant')),
        'the others got invalid_grant',
      );
      // A loser found the code used: everything issued from it is revoked, the winner's tokens too.
      await allRevoked(t, s, won.map((r) => r.body));
      t.ok(await s.serving(), 'fedgate keeps serving');
    });

    await t.test('a code replayed after its tokens were refreshed revokes the rotated ones as well', async (t) => {
      const a = await s.code('rp');
      const code = a.callback.searchParams.get('code')!;
      const first = await redeemRaw(s, code, a.codeVerifier);
      const rotated = await oidc.refreshTokenGrant(await s.config('rp'), first.body.refresh_token!);
      t.equal((await redeemRaw(s, code, a.codeVerifier)).body.error, 'invalid_grant');
      await allRevoked(t, s, [first.body, { access_token: rotated.access_token, refresh_token: rotated.refresh_token! }]);
    });
  });
}

run('memory', () => ({ type: 'memory' }), false);
run('Redis', () => ({ type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-attack-code-${process.pid}-${Date.now()}:` }), redisSkip);
