/**
 * fedgate as an OpenID Connect / OAuth2 relying party towards upstream providers (any OpenID
 * Provider, Google, ORCID; GitHub over plain OAuth2): the authorization code flow with PKCE S256,
 * a random state and nonce, and openid-client's checks of the answer (state, PKCE, ID token
 * issuer, audience, expiry, nonce and signature, RFC 9207 `iss` when the provider announces it).
 *
 * An upstream is named by its issuer (GitHub by the pseudo-issuer https://github.com), in
 * discovery, hints and Identity.issuer. The redirect URI registered at a provider is
 * <baseUrl>/oidc/rp/callback/<id>.
 *
 * The state is bound in the store to the login, the provider, the PKCE verifier, the nonce and
 * the browser that started it (a random cookie, kept as a hash), and taken atomically: of two
 * callbacks with one state exactly one continues. Every failure after that ends the login with a
 * typed error (./failures.ts): the service is told when the error has a status for it, the user
 * sees a page otherwise.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  authorizationCodeGrant,
  buildAuthorizationUrl,
  calculatePKCECodeChallenge,
  fetchUserInfo,
  randomNonce,
  randomPKCECodeVerifier,
  randomState,
} from 'openid-client';
import type { Config } from '../../config/schema.js';
import {
  MalformedResponseError,
  NoPassiveError,
  UnknownIdentityProviderError,
  UnknownLoginError,
  UnsolicitedResponseError,
  WrongIssuerError,
} from '../../core/errors.js';
import type { Backend, LoginFlow, PendingLogin } from '../../core/flow.js';
import type { Identity } from '../../core/model.js';
import type { UpstreamRegistration } from '../../core/registration.js';
import type { Store } from '../../store/store.js';
import type { ClaimsLog } from './claims.js';
import type { OidcProvider } from './config.js';
import { ProviderConnection } from './connection.js';
import { upstreamFailure } from './failures.js';
import { githubClaims } from './github.js';
import { identityFromClaims } from './identity.js';

export interface OidcRpBackendOptions {
  config: Config;
  store: Store;
  /** For what happens outside requests: discovery and its retries. */
  log: FastifyBaseLogger;
}

export const CALLBACK_PATH = '/oidc/rp/callback';
const BROWSER_COOKIE = 'fedgate_oidc_rp';
const BROWSER_ID = /^[A-Za-z0-9_-]{22}$/;
/** openid-client's randomState(): 32 random bytes, base64url. */
const STATE = /^[A-Za-z0-9_-]{43}$/;

/** What the store remembers about an authorization request until its callback arrives. */
interface StateBinding {
  loginId: string;
  /** Provider id (path segment of the callback). */
  provider: string;
  codeVerifier: string;
  /** Absent for OAuth2-only providers (no ID token). */
  nonce?: string;
  /** SHA-256 of the browser cookie: the callback must come to the browser that left. */
  browser: string;
}

const stateKey = (state: string) => `oidc-rp:state:${state}`;
const digest = (value: string) => createHash('sha256').update(value).digest('base64url');

export class OidcRpBackend implements Backend {
  readonly name = 'oidc';
  private readonly byId = new Map<string, ProviderConnection>();
  private readonly byIssuer = new Map<string, ProviderConnection>();
  private readonly secureCookies: boolean;
  private flow?: LoginFlow;
  /** upstreams() while no provider's availability changed. */
  private listed?: { availability: string; upstreams: UpstreamRegistration[] };

  constructor(private readonly opts: OidcRpBackendOptions) {
    const { server, backends } = opts.config;
    const { minSeconds, maxSeconds } = backends.oidc.discoveryRetry;
    for (const provider of backends.oidc.providers) {
      const connection = new ProviderConnection(provider, { minMs: minSeconds * 1000, maxMs: maxSeconds * 1000 }, opts.log);
      this.byId.set(provider.id, connection);
      this.byIssuer.set(provider.issuer, connection);
    }
    this.secureCookies = server.cookieSecure ?? server.baseUrl.startsWith('https:');
  }

  /** The redirect URI to register at `provider`. */
  redirectUri(provider: Pick<OidcProvider, 'id'>): string {
    return `${this.opts.config.server.baseUrl}${CALLBACK_PATH}/${provider.id}`;
  }

  register(app: FastifyInstance, flow: LoginFlow): void {
    this.flow = flow;
    app.get(`${CALLBACK_PATH}/:provider`, (req, reply) => this.callback(req, reply));
    // Discover before the first request, so the discovery page is right from the start. Each
    // provider's attempt is bounded by its timeout, and a failure only marks it unavailable.
    app.addHook('onReady', async () => {
      await Promise.all([...this.byId.values()].map((c) => c.start()));
    });
    app.addHook('onClose', async () => {
      for (const connection of this.byId.values()) connection.stop();
    });
  }

  upstreams(): UpstreamRegistration[] {
    const connections = [...this.byId.values()];
    const availability = connections.map((c) => (c.available ? '1' : '0')).join('');
    if (this.listed?.availability !== availability) this.listed = { availability, upstreams: connections.map((c) => this.registration(c)) };
    return this.listed.upstreams;
  }

  upstream(id: string): UpstreamRegistration | undefined {
    const connection = this.byIssuer.get(id);
    return connection ? this.registration(connection) : undefined;
  }

  async startLogin(login: PendingLogin, upstreamId: string, reply: FastifyReply): Promise<void> {
    const connection = this.byIssuer.get(upstreamId);
    if (!connection) throw new UnknownIdentityProviderError(`${upstreamId} is not a configured OIDC provider`);
    const { provider } = connection;
    const { request } = login;
    if (request.isPassive && provider.protocol === 'oauth2') {
      throw new NoPassiveError(`${provider.issuer} speaks OAuth2 only and cannot authenticate without interaction`);
    }
    const configuration = await connection.ready();

    const state = randomState();
    const codeVerifier = randomPKCECodeVerifier();
    const nonce = provider.protocol === 'oidc' ? randomNonce() : undefined;
    const parameters: Record<string, string> = {
      response_type: 'code',
      redirect_uri: this.redirectUri(provider),
      scope: provider.scopes.join(' '),
      state,
      code_challenge: await calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    };
    if (nonce) {
      parameters.nonce = nonce;
      if (request.isPassive) parameters.prompt = 'none';
      else if (request.forceAuthn) parameters.prompt = 'login';
      const acr = request.requestedAuthnContext?.classRefs ?? [];
      if (acr.length > 0) parameters.acr_values = acr.join(' ');
    }

    const binding: StateBinding = { loginId: login.id, provider: provider.id, codeVerifier, ...(nonce ? { nonce } : {}), browser: digest(this.browserId(reply)) };
    await this.opts.store.set(stateKey(state), JSON.stringify(binding), this.opts.config.session.flowTtlSeconds * 1000);
    reply.request.log.info({ upstream: provider.issuer, prompt: parameters.prompt, acr: parameters.acr_values }, 'sent authorization request upstream');
    return reply.redirect(buildAuthorizationUrl(configuration, parameters).href, 302);
  }

  /** The browser's random id, set now when it has none; only its hash goes into the store. */
  private browserId(reply: FastifyReply): string {
    const existing = reply.request.cookies[BROWSER_COOKIE];
    if (existing && BROWSER_ID.test(existing)) return existing;
    const id = randomBytes(16).toString('base64url');
    // Lax: the provider sends the browser back with a top-level GET, which carries Lax cookies.
    reply.setCookie(BROWSER_COOKIE, id, { path: CALLBACK_PATH, httpOnly: true, secure: this.secureCookies, sameSite: 'lax' });
    return id;
  }

  private async callback(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const flow = this.flow;
    if (!flow) throw new Error('OidcRpBackend.register was not called');
    const { provider: providerId } = req.params as { provider: string };
    const connection = this.byId.get(providerId);
    if (!connection) throw new UnknownIdentityProviderError(`callback for unknown OIDC provider ${providerId}`);
    const { provider } = connection;

    const query = new URL(req.url, 'http://callback.invalid').searchParams;
    const state = query.get('state');
    if (!state || !STATE.test(state)) throw new UnknownLoginError(`callback from ${provider.issuer} carries no state fedgate could have issued`);
    const raw = await this.opts.store.take(stateKey(state));
    if (!raw) throw new UnknownLoginError(`callback from ${provider.issuer}: state is unknown, expired or already used`);
    const binding = JSON.parse(raw) as StateBinding;

    let identity: Identity;
    try {
      if (binding.provider !== provider.id) {
        throw new WrongIssuerError(`state was issued for provider ${binding.provider}, the callback came for ${provider.id}`);
      }
      if (binding.browser !== digest(req.cookies[BROWSER_COOKIE] ?? '')) {
        throw new UnsolicitedResponseError(`callback from ${provider.issuer} arrived in another browser than the one that started the login`);
      }
      identity = await this.authenticate(connection, state, query, binding, req.log);
    } catch (err) {
      const error = upstreamFailure(err, provider.issuer);
      if (!error) throw err;
      req.log.warn({ upstream: provider.issuer, code: error.code, reason: error.message }, 'upstream OIDC login failed');
      return flow.abort(binding.loginId, error, reply);
    }
    return flow.finish(binding.loginId, identity, req, reply);
  }

  private async authenticate(connection: ProviderConnection, state: string, query: URLSearchParams, binding: StateBinding, log: ClaimsLog): Promise<Identity> {
    const { provider } = connection;
    const configuration = await connection.ready();
    // The redirect URI from configuration, never from the request's Host header.
    const callbackUrl = new URL(this.redirectUri(provider));
    callbackUrl.search = query.toString();
    const tokens = await authorizationCodeGrant(configuration, callbackUrl, {
      expectedState: state,
      pkceCodeVerifier: binding.codeVerifier,
      ...(binding.nonce ? { expectedNonce: binding.nonce } : {}),
    });

    if (provider.endpoints) {
      const claims = await githubClaims(configuration, tokens.access_token, provider.endpoints.api);
      return identityFromClaims(provider, claims.sub, claims, undefined, log);
    }
    const idToken = tokens.claims();
    if (!idToken) throw new MalformedResponseError(`${provider.issuer} sent no ID token`);
    // fetchUserInfo refuses an answer about another subject than the ID token's.
    const userinfo = provider.userinfo && configuration.serverMetadata().userinfo_endpoint ? await fetchUserInfo(configuration, tokens.access_token, idToken.sub) : {};
    return identityFromClaims(provider, idToken.sub, { ...idToken, ...userinfo }, idToken, log);
  }

  private registration({ provider, available }: ProviderConnection): UpstreamRegistration {
    return {
      id: provider.issuer,
      backend: this.name,
      displayName: provider.displayName,
      ...(provider.logo ? { logo: provider.logo } : {}),
      hidden: provider.hidden,
      ...(available ? {} : { unavailable: true }),
      protocol: provider.protocol,
      social: provider.social,
      scopes: [],
      entityAttributes: {},
    };
  }
}
