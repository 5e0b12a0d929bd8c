/**
 * A relying party for tests of fedgate's OpenID Provider: openid-client 6 does the protocol (and
 * validates what fedgate issues); a loopback HTTP server stands in for the RP's redirect and
 * post-logout pages, so the test browser ends there and the test reads the callback URL.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { parseForms, type Browser, type Form, type Page } from './browser.js';

export interface RpPeer {
  /** http://127.0.0.1:<port>/cb */
  redirectUri: string;
  /** http://127.0.0.1:<port>/bye */
  postLogoutRedirectUri: string;
  /** Every request the server received, oldest first. */
  readonly hits: URL[];
  close(): Promise<void>;
}

export async function startRpPeer(): Promise<RpPeer> {
  const hits: URL[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
    res.writeHead(200, { 'content-type': 'text/plain' }).end('relying party page');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    redirectUri: `${base}/cb`,
    postLogoutRedirectUri: `${base}/bye`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** openid-client's view of fedgate's provider for one client, from discovery over plain http. */
export async function rpClient(issuer: string, clientId: string, secret?: string, method: ClientAuthMethod = 'client_secret_basic'): Promise<oidc.Configuration> {
  const auth =
    method === 'none' ? oidc.None() : method === 'client_secret_post' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
  return oidc.discovery(new URL(issuer), clientId, undefined, auth, { execute: [oidc.allowInsecureRequests] });
}

export interface Authorization {
  /** Where the browser ended: the RP's redirect_uri with code (or error), state and iss. */
  page: Page;
  callback: URL;
  codeVerifier: string;
  state: string;
  nonce: string;
}

/**
 * An authorization request with PKCE, state and nonce, followed by `browser` through fedgate and
 * the upstream login to the RP's redirect_uri. `params` are added to (or override) the request.
 * `choose` is the upstream the user picks if fedgate shows its discovery page.
 */
export async function authorize(
  browser: Browser,
  config: oidc.Configuration,
  redirectUri: string,
  params: Record<string, string> = {},
  choose?: string,
): Promise<Authorization> {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  });
  let page = await browser.get(url.href);
  if (choose !== undefined && parseForms(page).some((f) => (f as Form & { id?: string }).id === 'choose')) page = await browser.submit(page, { idp: choose }, 'choose');
  return { page, callback: new URL(page.url), codeVerifier, state, nonce };
}

/** The token request for an authorization's code, with every check openid-client makes. */
export function redeem(config: oidc.Configuration, a: Authorization, checks: Partial<oidc.AuthorizationCodeGrantChecks> = {}) {
  return oidc.authorizationCodeGrant(config, a.callback, { pkceCodeVerifier: a.codeVerifier, expectedState: a.state, expectedNonce: a.nonce, ...checks });
}
