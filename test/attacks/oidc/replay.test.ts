/**
 * One-time artefacts used twice. Authorization code replay (RFC 6749 §4.1.2, §10.5; RFC 9700
 * §4.5): a code works once; its second use fails with invalid_grant and revokes every token issued
 * from it, so the attacker who replays a stolen code and the client who redeemed it cannot both
 * keep access. Refresh token reuse (RFC 9700 §4.14.2, spec/oidc.md §3): every refresh rotates the
 * refresh token; presenting one already rotated means it leaked, and as the provider cannot tell
 * the client from the thief it refuses with invalid_grant and revokes the whole family — the
 * refresh token the legitimate holder has now and every access token of the family. Both also
 * when the uses race.
 */
import * as oidc from 'openid-client';
import t, { type Test } from 'tap';
import { Browser } from '../../helpers/browser.js';
import { REDIS_URL } from '../../helpers/fedgate.js';
import { rpClient } from '../../helpers/oidc-rp.js';
import { RS_SECRET, oauthError, redisSkip } from '../../frontends/oidc-op/harness.js';
import { SECRETS, attackSetup, type AttackSetup } from './harness.js';

/** A token endpoint's JSON answer: tokens, or an error. */
interface TokenAnswer {
  access_token?: string;
  refresh_token?: string;
  error?: string;
}

/** One raw token request redeeming `code` as rp (Basic): the status and the JSON body. */
async function redeemRaw(s: AttackSetup, code: string, verifier: string): Promise<{ status: number; body: TokenAnswer }> {
  const res = await fetch(`${s.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`rp:${SECRETS.rp}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: s.rp.redirectUri, code_verifier: verifier }),
  });
  return { status: res.status, body: (await res.json()) as TokenAnswer };
}

/** The userinfo endpoint's answer to `accessToken`: its status and WWW-Authenticate challenge. */
async function userinfo(s: AttackSetup, accessToken: string): Promise<{ status: number; challenge: string | null }> {
  const res = await fetch(`${s.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  await res.arrayBuffer();
  return { status: res.status, challenge: res.headers.get('www-authenticate') };
}

/** Checks that nothing issued in `issued` still works: introspection, userinfo and refresh all refuse. */
async function allRevoked(t: Test, s: AttackSetup, issued: TokenAnswer[]): Promise<void> {
  const rs = await rpClient(s.issuer, 'rs', RS_SECRET);
  const rp = await s.config('rp');
  for (const tokens of issued) {
    if (!tokens.access_token) {
      t.fail(`no access token to check in ${JSON.stringify(tokens)}`);
      continue;
    }
    t.same(await oidc.tokenIntrospection(rs, tokens.access_token), { active: false }, 'the access token is inactive (RFC 7662)');
    const info = await userinfo(s, tokens.access_token);
    t.equal(info.status, 401, 'userinfo refuses it');
    t.match(info.challenge, /^Bearer .*error="invalid_token"/, 'with an invalid_token challenge (RFC 6750 §3.1)');
    if (tokens.refresh_token) t.equal(await oauthError(oidc.refreshTokenGrant(rp, tokens.refresh_token)), 'invalid_grant', 'the refresh token is revoked too');
  }
}

function run(name: string, store: () => Record<string, unknown>, skip: string | false) {
  t.test(`authorization code replay and refresh token reuse (${name} store)`, { skip }, async (t) => {
    const s = await attackSetup(t, store());
    const rp = await s.config('rp');
    const rs = await rpClient(s.issuer, 'rs', RS_SECRET);

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
      const rotated = await oidc.refreshTokenGrant(rp, first.body.refresh_token!);
      t.equal((await redeemRaw(s, code, a.codeVerifier)).body.error, 'invalid_grant');
      await allRevoked(t, s, [first.body, { access_token: rotated.access_token, refresh_token: rotated.refresh_token! }]);
    });

    await t.test('rotate, then reuse the old refresh token: invalid_grant, and the new one is revoked too', async (t) => {
      const original = await s.tokens('rp');
      const rotated = await oidc.refreshTokenGrant(rp, original.refresh_token!);
      t.ok(rotated.refresh_token && rotated.refresh_token !== original.refresh_token, 'the refresh rotated the refresh token');
      t.equal((await oidc.tokenIntrospection(rs, rotated.access_token)).active, true, 'the new access token works');

      const reuse = await fetch(`${s.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`rp:${SECRETS.rp}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: original.refresh_token! }),
      });
      t.equal(reuse.status, 400);
      t.equal(((await reuse.json()) as { error: string }).error, 'invalid_grant', 'the reused refresh token is refused');
      await allRevoked(t, s, [original, rotated]);
      t.ok(await s.serving(), 'fedgate keeps serving');
    });

    await t.test('a reuse after several rotations revokes the latest generation', async (t) => {
      const original = await s.tokens('rp');
      const second = await oidc.refreshTokenGrant(rp, original.refresh_token!);
      const third = await oidc.refreshTokenGrant(rp, second.refresh_token!);
      t.equal(await oauthError(oidc.refreshTokenGrant(rp, second.refresh_token!)), 'invalid_grant', 'the middle generation is reused');
      await allRevoked(t, s, [third]);
    });

    await t.test('the family of another login (another browser) is untouched', async (t) => {
      // A family is oidc-provider's grant: one browser session's logins at one client share it.
      const bystander = await s.tokens('rp', new Browser());
      const victim = await s.tokens('rp');
      await oidc.refreshTokenGrant(rp, victim.refresh_token!);
      t.equal(await oauthError(oidc.refreshTokenGrant(rp, victim.refresh_token!)), 'invalid_grant');
      t.equal((await oidc.tokenIntrospection(rs, bystander.access_token)).active, true, 'the other family’s access token still works');
      t.ok((await oidc.refreshTokenGrant(rp, bystander.refresh_token!)).access_token, 'and its refresh token too');
    });

    await t.test('refreshes that race with one token: at most one succeeds, then the family is revoked', async (t) => {
      const original = await s.tokens('rp');
      const answers = await Promise.allSettled(Array.from({ length: 3 }, () => oidc.refreshTokenGrant(rp, original.refresh_token!)));
      const won = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
      t.ok(won.length <= 1, `${won.length} of 3 refreshed`);
      t.ok(
        answers.every((a) => a.status === 'fulfilled' || (a.reason as { error?: string }).error === 'invalid_grant'),
        'the others got invalid_grant',
      );
      // No grace window is configured: a concurrent reuse is a reuse.
      await allRevoked(t, s, [original, ...won.map((w) => ({ access_token: w.access_token, refresh_token: w.refresh_token! }))]);
      t.ok(await s.serving(), 'fedgate keeps serving');
    });
  });
}

run('memory', () => ({ type: 'memory' }), false);
run('Redis', () => ({ type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-attack-replay-${process.pid}-${Date.now()}:` }), redisSkip);
