/**
 * Refresh token reuse detection (RFC 9700 §4.14.2, spec/oidc.md §3): every refresh rotates the
 * refresh token; presenting one that was already rotated means it leaked — the provider cannot
 * tell the client from the thief, so it refuses with invalid_grant and revokes the whole family,
 * the refresh token the legitimate holder has now and every access token of the family.
 */
import * as oidc from 'openid-client';
import t, { type Test } from 'tap';
import { Browser } from '../../helpers/browser.js';
import { REDIS_URL } from '../../helpers/fedgate.js';
import { rpClient } from '../../helpers/oidc-rp.js';
import { RS_SECRET, oauthError, redisSkip } from '../../frontends/oidc-op/harness.js';
import { SECRETS, attackSetup } from './harness.js';

function run(name: string, store: () => Record<string, unknown>, skip: string | false) {
  t.test(`refresh token reuse (${name} store)`, { skip }, async (t) => {
    const s = await attackSetup(t, store());
    const rp = await s.config('rp');
    const rs = await rpClient(s.issuer, 'rs', RS_SECRET);
    const active = async (accessToken: string) => (await oidc.tokenIntrospection(rs, accessToken)).active;
    const refusedFamily = async (t: Test, family: { access_token: string; refresh_token?: string }[]) => {
      for (const tokens of family) {
        t.equal(await active(tokens.access_token), false, 'an access token of the family is inactive');
        const userinfo = await fetch(`${s.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
        t.equal(userinfo.status, 401, 'userinfo refuses it');
        if (tokens.refresh_token) t.equal(await oauthError(oidc.refreshTokenGrant(rp, tokens.refresh_token)), 'invalid_grant', 'a refresh token of the family is revoked');
      }
    };

    await t.test('rotate, then reuse the old refresh token: invalid_grant, and the new one is revoked too', async (t) => {
      const original = await s.tokens('rp');
      const rotated = await oidc.refreshTokenGrant(rp, original.refresh_token!);
      t.ok(rotated.refresh_token && rotated.refresh_token !== original.refresh_token, 'the refresh rotated the refresh token');
      t.equal(await active(rotated.access_token), true, 'the new access token works');

      const reuse = await fetch(`${s.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`rp:${SECRETS.rp}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: original.refresh_token! }),
      });
      t.equal(reuse.status, 400);
      t.equal(((await reuse.json()) as { error: string }).error, 'invalid_grant', 'the reused refresh token is refused');
      await refusedFamily(t, [original, rotated]);
      t.ok(await s.serving(), 'fedgate keeps serving');
    });

    await t.test('a reuse after several rotations revokes the latest generation', async (t) => {
      const original = await s.tokens('rp');
      const second = await oidc.refreshTokenGrant(rp, original.refresh_token!);
      const third = await oidc.refreshTokenGrant(rp, second.refresh_token!);
      t.equal(await oauthError(oidc.refreshTokenGrant(rp, second.refresh_token!)), 'invalid_grant', 'the middle generation is reused');
      await refusedFamily(t, [third]);
    });

    await t.test('the family of another login (another browser) is untouched', async (t) => {
      // A family is oidc-provider's grant: one browser session's logins at one client share it.
      const bystander = await s.tokens('rp', new Browser());
      const victim = await s.tokens('rp');
      await oidc.refreshTokenGrant(rp, victim.refresh_token!);
      t.equal(await oauthError(oidc.refreshTokenGrant(rp, victim.refresh_token!)), 'invalid_grant');
      t.equal(await active(bystander.access_token), true, 'the other family’s access token still works');
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
      await refusedFamily(t, [original, ...won.map((w) => ({ access_token: w.access_token, refresh_token: w.refresh_token! }))]);
      t.ok(await s.serving(), 'fedgate keeps serving');
    });
  });
}

run('memory', () => ({ type: 'memory' }), false);
run('Redis', () => ({ type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-attack-refresh-${process.pid}-${Date.now()}:` }), redisSkip);
