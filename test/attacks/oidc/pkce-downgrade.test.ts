/**
 * PKCE downgrade (RFC 9700 §2.1.1, §4.8.2): where PKCE is optional (pkce.required: public, for a
 * confidential client), a token request carrying a code_verifier for a code whose authorization
 * request had no code_challenge must be refused — otherwise an attacker who strips the challenge
 * from a victim's request can inject a stolen code without the client noticing.
 */
import * as oidc from 'openid-client';
import t from 'tap';
import { applyParams } from './corpus.js';
import { SECRETS, attackSetup } from './harness.js';

t.test('a code_verifier for a code issued without code_challenge is refused', async (t) => {
  const s = await attackSetup(t, { type: 'memory' }, { pkce: { required: 'public' } });
  const query = applyParams(s.authorizationParams('rp'), { code_challenge: null, code_challenge_method: null }, (v) => v);
  const page = await s.browser.get(`${s.issuer}/auth?${query}`);
  const code = new URL(page.url).searchParams.get('code');
  t.ok(code, 'the confidential client got a code without PKCE (pkce.required: public)');
  const redeem = (extra: Record<string, string>) =>
    fetch(`${s.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`rp:${SECRETS.rp}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: s.rp.redirectUri, ...extra }),
    });

  const downgraded = await redeem({ code_verifier: oidc.randomPKCECodeVerifier() });
  t.equal(downgraded.status, 400);
  t.equal(((await downgraded.json()) as { error: string }).error, 'invalid_grant', 'RFC 9700 §2.1.1: refused');
  const plain = await redeem({});
  t.equal(plain.status, 200, 'the same code without a verifier is redeemed: it was the verifier that was refused');
  t.ok(await s.serving(), 'fedgate keeps serving');
});
