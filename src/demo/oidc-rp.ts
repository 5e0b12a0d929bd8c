/**
 * The demo service's OpenID Connect side: a relying party (openid-client) of fedgate's own
 * OpenID Provider, registered there as client `fedgate-demo`. It logs in with code + PKCE, state
 * and nonce, and shows the ID token's claims and what userinfo returned.
 *
 * PKCE verifier, state and nonce live in the store under a random key the browser holds in a
 * short-lived cookie, so the callback may reach any instance. Discovery happens at the first
 * login, when fedgate is listening.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { MalformedResponseError, UnknownLoginError, UpstreamUnavailableError } from '../core/errors.js';
import type { OidcClientConfig } from '../frontends/oidc-op/config.js';
import type { Store } from '../store/store.js';
import { oidcErrorPage, oidcLoggedInPage, type LoginOption } from './sp-pages.js';

export const DEMO_CLIENT_ID = 'fedgate-demo';
const SCOPES = ['openid', 'profile', 'email', 'eduperson_entitlement', 'eduperson_assurance', 'voperson_id', 'offline_access'];
const COOKIE = 'fedgate_demo_oidc';
const LOGIN_TTL_MS = 15 * 60_000;
const loginKey = (id: string) => `demo:oidc-login:${id}`;

interface PendingLogin {
  codeVerifier: string;
  state: string;
  nonce: string;
}

export interface DemoOidcRpOptions {
  baseUrl: string;
  issuer: string;
  clientSecret: string;
  store: Store;
  /** Every way to log in to the demo service, for the buttons on its pages. */
  logins: LoginOption[];
}

export class DemoOidcRp {
  readonly redirectUri: string;
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(private readonly opts: DemoOidcRpOptions) {
    this.redirectUri = `${opts.baseUrl}/demo/oidc/callback`;
  }

  /** The demo's client at fedgate's OpenID Provider. */
  client(): OidcClientConfig {
    return {
      clientId: DEMO_CLIENT_ID,
      clientSecret: this.opts.clientSecret,
      name: 'fedgate demo service',
      redirectUris: [this.redirectUri],
      postLogoutRedirectUris: [],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: SCOPES,
      tokenEndpointAuthMethod: 'client_secret_basic',
      subjectType: 'public',
      tokenExchange: { from: [] },
    };
  }

  register(app: FastifyInstance): void {
    app.get('/demo/login/oidc', (req, reply) => this.login(req, reply));
    app.get('/demo/oidc/callback', (req, reply) => this.callback(req, reply));
  }

  private discover(): Promise<oidc.Configuration> {
    const insecure = new URL(this.opts.issuer).protocol === 'http:';
    this.configuration ??= oidc
      .discovery(new URL(this.opts.issuer), DEMO_CLIENT_ID, undefined, oidc.ClientSecretBasic(this.opts.clientSecret), insecure ? { execute: [oidc.allowInsecureRequests] } : {})
      .catch((err: unknown) => {
        this.configuration = undefined;
        throw new UpstreamUnavailableError(`demo service: discovery of ${this.opts.issuer} failed: ${(err as Error).message}`);
      });
    return this.configuration;
  }

  private async login(_req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const config = await this.discover();
    const pending: PendingLogin = { codeVerifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() };
    const id = randomBytes(24).toString('base64url');
    await this.opts.store.set(loginKey(id), JSON.stringify(pending), LOGIN_TTL_MS);
    reply.setCookie(COOKIE, id, { path: '/demo/oidc', httpOnly: true, sameSite: 'lax', secure: this.redirectUri.startsWith('https:'), maxAge: LOGIN_TTL_MS / 1000 });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: SCOPES.filter((s) => s !== 'offline_access').join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
      // acr is in the ID token only when asked for.
      claims: JSON.stringify({ id_token: { acr: null } }),
    });
    await reply.redirect(url.href, 302);
  }

  private async callback(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const html = (body: string) => reply.type('text/html; charset=utf-8').send(body);
    const id = req.cookies[COOKIE];
    const raw = id ? await this.opts.store.take(loginKey(id)) : null;
    reply.clearCookie(COOKIE, { path: '/demo/oidc' });
    if (raw === null) throw new UnknownLoginError('demo service: an OpenID Connect callback without a login this browser started');
    const pending = JSON.parse(raw) as PendingLogin;
    const config = await this.discover();
    const current = new URL(req.url, this.opts.baseUrl);
    // An error answer ends nothing here but this page, so it is shown as sent.
    const error = current.searchParams.get('error');
    if (error && current.searchParams.get('state') === pending.state) {
      return html(oidcErrorPage(error, current.searchParams.get('error_description') ?? undefined, this.opts.logins));
    }
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
      });
    } catch (err) {
      throw new MalformedResponseError(`demo service: fedgate's OpenID Connect answer was refused: ${(err as Error).message}`);
    }
    const idToken = tokens.claims();
    if (!idToken) throw new MalformedResponseError('demo service: no ID token');
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub);
    return html(oidcLoggedInPage({ idToken: { ...idToken }, userinfo: { ...userinfo }, scope: tokens.scope }, this.opts.logins));
  }
}
