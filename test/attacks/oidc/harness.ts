/**
 * The parts of the OAuth/OIDC attack corpus: fedgate's OpenID Provider (the OIDC frontend harness:
 * a SAML IdP upstream, an openid-client RP) with one client for each way a client can be
 * registered, a browser already logged in, and fresh codes and tokens for the attacks to abuse.
 */
import { createHmac, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Test } from 'tap';
import { Browser } from '../../helpers/browser.js';
import { authorize, redeem, rpClient, type Authorization } from '../../helpers/oidc-rp.js';
import { SECRET, defaultClients, setup, type Setup } from '../../frontends/oidc-op/harness.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** A redirect URI no test server answers: only ever compared, never followed. */
export const WEB_REDIRECT = 'https://app.example.org/cb';
export const WEB_LOOPBACK_REDIRECT = 'http://localhost:8080/cb';

/** Every client of the corpus and its secret (undefined: public). */
export const SECRETS: Record<string, string | undefined> = {
  rp: SECRET,
  'other-rp': 'other-secret-0123',
  'public-rp': undefined,
  'post-rp': 'post-secret-012345',
  web: 'web-secret-0123456',
  cli: undefined,
  'other-cli': undefined,
  exchanger: 'exchanger-secret-0123',
  stranger: 'stranger-secret-01234',
};

export interface AttackSetup extends Setup {
  /** Logged in once: later authorizations are answered from the session. */
  browser: Browser;
  /** A valid authorization request's parameters for `clientId` (PKCE, state, nonce). */
  authorizationParams(clientId: string): Record<string, string>;
  /** A fresh code of `clientId`, issued to the RP peer's redirect URI; `browser` defaults to the logged-in one. */
  code(clientId: string, browser?: Browser): Promise<Authorization>;
  /** Fresh tokens of `clientId` (rp: with a refresh token). */
  tokens(clientId: string, browser?: Browser): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers>;
  /** A fresh device authorization of a device client, not yet approved. */
  deviceAuthorization(clientId: string): Promise<oidc.DeviceAuthorizationResponse>;
  /** openid-client's view of the provider for `clientId`, with its registered authentication. */
  config(clientId: string): Promise<oidc.Configuration>;
  /** The running process still serves: its liveness endpoint and the discovery document answer. */
  serving(): Promise<boolean>;
}

/** `overrides` replace parts of `frontends.oidc` (e.g. ttl, deviceFlow). */
export async function attackSetup(t: Test, store: Record<string, unknown> = { type: 'memory' }, overrides: Record<string, unknown> = {}): Promise<AttackSetup> {
  const base = await setup(t, store, (rp) => ({
    clients: [
      ...defaultClients(rp),
      { clientId: 'post-rp', clientSecret: SECRETS['post-rp'], tokenEndpointAuthMethod: 'client_secret_post', redirectUris: [rp.redirectUri], scopes: ['openid'] },
      { clientId: 'web', clientSecret: SECRETS.web, redirectUris: [WEB_REDIRECT, WEB_LOOPBACK_REDIRECT], scopes: ['openid'] },
      { clientId: 'cli', name: 'Analysis CLI', grantTypes: [DEVICE_GRANT, 'refresh_token'], scopes: ['openid', 'email', 'offline_access'] },
      { clientId: 'other-cli', grantTypes: [DEVICE_GRANT], scopes: ['openid'] },
      { clientId: 'exchanger', clientSecret: SECRETS.exchanger, grantTypes: [EXCHANGE_GRANT], scopes: ['openid', 'email'], tokenExchange: { from: ['rp'] } },
      { clientId: 'stranger', clientSecret: SECRETS.stranger, grantTypes: [EXCHANGE_GRANT], scopes: ['openid', 'email'], tokenExchange: { from: ['other-rp'] } },
    ],
    ...overrides,
  }));
  const configs = new Map<string, Promise<oidc.Configuration>>();
  const config = (clientId: string) => {
    if (!(clientId in SECRETS)) throw new Error(`the corpus has no client ${clientId}`);
    const method = clientId === 'post-rp' ? 'client_secret_post' : SECRETS[clientId] === undefined ? 'none' : 'client_secret_basic';
    if (!configs.has(clientId)) configs.set(clientId, rpClient(base.issuer, clientId, SECRETS[clientId], method));
    return configs.get(clientId)!;
  };
  const browser = new Browser();
  const code = async (clientId: string, by = browser) => {
    const scope = clientId === 'rp' ? 'openid email offline_access' : 'openid';
    const a = await authorize(by, await config(clientId), base.rp.redirectUri, { scope, ...(clientId === 'rp' ? { prompt: 'consent' } : {}) });
    if (!a.callback.searchParams.get('code')) throw new Error(`no code for ${clientId}: ${a.page.url}\n${a.page.body.slice(0, 300)}`);
    return a;
  };
  await code('rp');
  return {
    ...base,
    browser,
    config,
    code,
    authorizationParams: (clientId) => ({
      client_id: clientId,
      redirect_uri: clientId === 'web' ? WEB_REDIRECT : base.rp.redirectUri,
      response_type: 'code',
      scope: 'openid',
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      // RFC 7636 appendix B's example pair; the tokens of these requests are never redeemed.
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGgSw9ZjhM',
      code_challenge_method: 'S256',
    }),
    tokens: async (clientId, by) => redeem(await config(clientId), await code(clientId, by)),
    deviceAuthorization: async (clientId) => oidc.initiateDeviceAuthorization(await config(clientId), { scope: 'openid' }),
    serving: async () => {
      const [health, discovery] = await Promise.all([fetch(`${base.fedgate.url}/healthz`), fetch(`${base.issuer}/.well-known/openid-configuration`)]);
      return health.status === 200 && discovery.status === 200;
    },
  };
}

/** The client authentication methods a request of the corpus can use (right or wrong for its client). */
export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none' | 'client_secret_jwt' | 'private_key_jwt' | 'basic_and_post';

/** Headers and form fields authenticating `clientId` with `method` at `audience` (the endpoint). */
export function clientAuthentication(method: AuthMethod, clientId: string, secret: string, audience: string): { headers: Record<string, string>; form: Record<string, string> } {
  const basic = { authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}` };
  const assertion = (sign: (input: string) => string, alg: string) => {
    const now = Math.floor(Date.now() / 1000);
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${part({ alg, typ: 'JWT' })}.${part({ iss: clientId, sub: clientId, aud: audience, jti: randomUUID(), iat: now, exp: now + 60 })}`;
    return {
      client_id: clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: `${input}.${sign(input)}`,
    };
  };
  switch (method) {
    case 'client_secret_basic':
      return { headers: basic, form: {} };
    case 'client_secret_post':
      return { headers: {}, form: { client_id: clientId, client_secret: secret } };
    case 'none':
      return { headers: {}, form: { client_id: clientId } };
    case 'basic_and_post':
      return { headers: basic, form: { client_id: clientId, client_secret: secret } };
    case 'client_secret_jwt':
      return { headers: {}, form: assertion((input) => createHmac('sha256', secret).update(input).digest('base64url'), 'HS256') };
    case 'private_key_jwt': {
      // A key the provider has never seen: no registration could make it valid.
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return { headers: {}, form: assertion((input) => sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url'), 'ES256') };
    }
  }
}
