/**
 * Runs every case of the OAuth/OIDC attack corpus (cases/*.yaml, format in corpus.ts) against one
 * fedgate: each must be refused the way its RFC says — an error page that never redirects when
 * the redirect_uri cannot be trusted, an error at the redirect_uri when it can, a JSON error
 * with the right status and code at the token, introspection and device authorization endpoints —
 * and the process must keep serving after each. Control cases (control-*.yaml) show that the
 * unchanged requests succeed, so each refusal is the attack's doing.
 */
import t, { type Test } from 'tap';
import { decodeEntities } from '../../helpers/browser.js';
import { applyParams, loadCases, type AuthorizationCase, type BackChannelCase } from './corpus.js';
import { ACCESS_TOKEN_TYPE, DEVICE_GRANT, EXCHANGE_GRANT, SECRETS, attackSetup, clientAuthentication, type AttackSetup } from './harness.js';

const cases = loadCases();
/** oidc-provider's default routes under the issuer. */
const ENDPOINT_PATHS = { token: '/token', introspection: '/token/introspection', device_authorization: '/device/auth' } as const;

/** Fills a case's placeholders (corpus.ts); token placeholders need `tokens`. */
function filler(s: AttackSetup, tokens?: { access_token: string; refresh_token?: string; id_token?: string }) {
  return (v: string) =>
    v
      .replaceAll('{redirectUri}', s.rp.redirectUri)
      .replaceAll('{rpPort}', new URL(s.rp.redirectUri).port)
      .replaceAll('{accessToken}', tokens?.access_token ?? '')
      .replaceAll('{refreshToken}', tokens?.refresh_token ?? '')
      .replaceAll('{idToken}', tokens?.id_token ?? '');
}

async function authorizationAttack(t: Test, s: AttackSetup, c: AuthorizationCase): Promise<void> {
  const query = applyParams(s.authorizationParams(c.client), c.params, filler(s));
  const url = `${s.issuer}/auth?${query}`;
  const hitsBefore = s.rp.hits.length;
  if (c.expect.outcome === 'page') {
    const page = await s.browser.fetchRaw(url, { method: 'GET', headers: { accept: 'text/html' } });
    t.equal(page.status, c.expect.status, 'status');
    t.equal(page.headers.get('location'), null, 'not redirected: the error is shown to the user (RFC 6749 §4.1.2.1)');
    t.match(page.headers.get('content-type'), /^text\/html/, 'an HTML page');
    t.match(decodeEntities(page.body), c.expect.message, 'the page says what is wrong');
    t.equal(s.rp.hits.length, hitsBefore, 'nothing reached the relying party');
    return;
  }
  const first = await s.browser.fetchRaw(url, { method: 'GET' });
  const location = new URL(first.headers.get('location') ?? '', url);
  // A refused request goes straight back; an accepted one logs in (from the session) first.
  const landed = location.origin + location.pathname === query.get('redirect_uri') ? location : new URL((await s.browser.get(location.href)).url);
  t.equal(landed.origin + landed.pathname, query.get('redirect_uri'), 'back at the registered redirect_uri');
  // The response mode of the requested response type: query for code, fragment for token (RFC 6749 §4.2.2.1).
  const answer = new URLSearchParams({ ...Object.fromEntries(landed.searchParams), ...Object.fromEntries(new URLSearchParams(landed.hash.slice(1))) });
  if (c.expect.outcome === 'code') {
    t.ok(answer.get('code'), 'with a code');
    return;
  }
  t.equal(answer.get('error'), c.expect.error, `error (${answer.get('error_description')})`);
  if (c.expect.description) t.match(answer.get('error_description'), c.expect.description);
  t.equal(answer.get('state'), query.get('state'), 'with the state');
  t.equal(answer.get('iss'), s.issuer, 'with iss (RFC 9207)');
  t.equal(answer.get('code'), null, 'and no code');
}

/** The valid request of the case's kind with `from`'s fresh material (code, tokens, device code), before its changes. */
async function grantForm(s: AttackSetup, c: BackChannelCase, from: string): Promise<Record<string, string>> {
  switch (c.grant) {
    case 'authorization_code': {
      const a = await s.code(from);
      return { grant_type: 'authorization_code', code: a.callback.searchParams.get('code')!, redirect_uri: s.rp.redirectUri, code_verifier: a.codeVerifier };
    }
    case 'refresh_token':
      return { grant_type: 'refresh_token', refresh_token: (await s.tokens(from)).refresh_token! };
    case 'device_code':
      return { grant_type: DEVICE_GRANT, device_code: (await s.deviceAuthorization(from)).device_code };
    case 'token_exchange':
      return { grant_type: EXCHANGE_GRANT, subject_token: (await s.tokens(from)).access_token, subject_token_type: ACCESS_TOKEN_TYPE };
    case undefined:
      return c.endpoint === 'introspection' ? { token: (await s.tokens(from)).access_token } : { scope: 'openid' };
  }
}

async function backChannelAttack(t: Test, s: AttackSetup, c: BackChannelCase): Promise<void> {
  const from = c.from ?? c.client;
  const needsTokens = Object.values(c.params).flat().some((v) => v !== null && /\{(accessToken|refreshToken|idToken)\}/.test(v));
  const tokens = needsTokens ? await s.tokens(from) : undefined;
  const endpoint = `${s.issuer}${ENDPOINT_PATHS[c.endpoint]}`;
  const auth = clientAuthentication(c.auth, c.client, c.secret ?? SECRETS[c.client] ?? 'a-guessed-secret-0123', endpoint);
  const form = applyParams({ ...(await grantForm(s, c, from)), ...auth.form }, c.params, filler(s, tokens));
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth.headers },
    body: form,
  });
  const body = (await res.json()) as Record<string, unknown>;
  t.match(res.headers.get('content-type'), /^application\/json/, 'a JSON answer');
  t.equal(res.headers.get('cache-control'), 'no-store', 'not cached (RFC 6749 §5.1)');
  if (c.expect.outcome === 'success') {
    t.equal(res.status, 200, `succeeds (${JSON.stringify(body)})`);
    t.equal(body.error, undefined);
    return;
  }
  t.equal(res.status, c.expect.status, `status (${JSON.stringify(body)})`);
  t.equal(body.error, c.expect.error, 'error');
  if (c.expect.description) t.match(body.error_description, c.expect.description);
  if (res.status === 401 && auth.headers.authorization) {
    // RFC 6749 §5.2: a client that tried Basic is answered with a Basic challenge.
    t.match(res.headers.get('www-authenticate'), /^Basic /, 'a Basic challenge');
  }
  t.notOk(body.access_token, 'no token issued');
}

t.test('the OAuth/OIDC attack corpus', async (t) => {
  t.ok(cases.length >= 40, `${cases.length} cases`);
  const s = await attackSetup(t);
  for (const c of cases) {
    await t.test(`${c.file}: ${c.name} [${c.spec}]`, async (t) => {
      if (c.endpoint === 'authorization') await authorizationAttack(t, s, c);
      else await backChannelAttack(t, s, c);
      t.ok(await s.serving(), 'fedgate keeps serving');
    });
  }
});
