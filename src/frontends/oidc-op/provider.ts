/**
 * The oidc-provider configuration: fedgate's clients, keys, storage, claims and policies, with a
 * real value for everything oidc-provider would otherwise default (and warn about). Extensions
 * (grants/) adjust it before the Provider is built.
 */
import Provider, { errors, type ClientInstance, type Configuration, type OidcContext, type TokenInstance } from 'oidc-provider';
import { ConfigError } from '../../core/errors.js';
import { StoreAdapter } from './adapter.js';
import { requireRegisteredSecretMethod } from './client-auth.js';
import { SCOPE_CLAIMS, pairwiseSubject } from './claims.js';
import type { OidcClientConfig, OidcFrontendConfig } from './config.js';
import { CookieKeys } from './cookie-keys.js';
import type { ExtensionContext, OidcOpExtension } from './extensions.js';
import { EXTERNAL_SIGNING_ACK, type SigningKeys } from './keys.js';
import { pageRenderers } from './pages.js';

/** Seconds oidc-provider tolerates in token times; the adapter keeps artefacts that much longer. */
const CLOCK_TOLERANCE_SECONDS = 15;

export interface ProviderParts extends ExtensionContext {
  signing: SigningKeys;
  cookieKeys: string[];
  /** Salt of pairwise subjects (the deployment's identifier salt). */
  pairwiseSalt: string;
  /** Path of fedgate's interaction route; the uid is appended. */
  interactionPath: string;
  trustProxy: boolean;
}

function clientMetadata(c: OidcClientConfig): Record<string, unknown> {
  return {
    client_id: c.clientId,
    ...(c.clientSecret === undefined ? {} : { client_secret: c.clientSecret }),
    ...(c.name === undefined ? {} : { client_name: c.name }),
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: c.grantTypes,
    response_types: c.grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    subject_type: c.subjectType,
    scope: c.scopes.join(' '),
  };
}

/** A resource server is a client that may only authenticate, to introspect tokens. */
function resourceServerMetadata(r: OidcFrontendConfig['resourceServers'][number]): Record<string, unknown> {
  return {
    client_id: r.id,
    client_secret: r.secret,
    ...(r.name === undefined ? {} : { client_name: r.name }),
    redirect_uris: [],
    grant_types: [],
    response_types: [],
    token_endpoint_auth_method: r.tokenEndpointAuthMethod,
  };
}

function providerConfiguration(parts: ProviderParts): Configuration {
  const { config, signing, releases } = parts;
  const { ttl } = config;
  const resourceServers = new Set(config.resourceServers.map((r) => r.id));
  const pages = pageRenderers(parts.log);
  return {
    adapter: StoreAdapter.factory({ store: parts.store, clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS }),
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    jwks: signing.jwks,
    cookies: {
      // Passed on to Koa as they are: the secrets imported once instead of a keygrip per request.
      keys: new CookieKeys(parts.cookieKeys),
      names: { session: 'fedgate_op_session', interaction: 'fedgate_op_interaction', resume: 'fedgate_op_resume' },
    },
    clients: [...config.clients.map(clientMetadata), ...config.resourceServers.map(resourceServerMetadata)],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: signing.alg,
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    responseTypes: ['code'],
    // RFC 9700: the authorization request always names its redirect_uri, matched exactly.
    allowOmittingSingleRegisteredRedirectUri: false,
    pkce: { required: (_ctx: OidcContext, client: ClientInstance) => config.pkce.required === 'all' || client.clientAuthMethod === 'none' },
    scopes: ['openid', 'offline_access'],
    claims: SCOPE_CLAIMS,
    acrValues: config.acrValues,
    subjectTypes: ['public', 'pairwise'],
    pairwiseIdentifier: async (_ctx: OidcContext, accountId: string, client: ClientInstance) =>
      pairwiseSubject(parts.pairwiseSalt, client.sectorIdentifier ?? client.clientId, accountId),
    findAccount: (_ctx: OidcContext, accountId: string, token?: TokenInstance) => releases.findAccount(accountId, token),
    extraParams: ['idphint'],
    interactions: { url: (_ctx: OidcContext, interaction: { uid: string }) => `${parts.interactionPath}/${interaction.uid}` },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: ttl.AccessToken,
      AuthorizationCode: ttl.AuthorizationCode,
      IdToken: ttl.IdToken,
      // A rotated token carries its family's first issue time: rotation never extends the family.
      RefreshToken: function refreshTokenTtl(_ctx: OidcContext, token: { totalLifetime(): number }) {
        return Math.max(1, ttl.RefreshToken - token.totalLifetime());
      },
      Interaction: ttl.Interaction,
      Session: ttl.Session,
      Grant: ttl.Grant,
      DeviceCode: ttl.DeviceCode,
      ClientCredentials: ttl.ClientCredentials,
    },
    renderError: pages.renderError,
    // Browser-based public clients may call the token and userinfo endpoints from their own origin.
    clientBasedCORS: (_ctx: OidcContext, origin: string, client: ClientInstance & { redirectUris: string[] }) =>
      client.clientAuthMethod === 'none' && client.redirectUris.some((uri) => new URL(uri).origin === origin),
    features: {
      devInteractions: { enabled: false },
      externalSigningSupport: { enabled: true, ack: EXTERNAL_SIGNING_ACK },
      claimsParameter: { enabled: true },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: { enabled: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource: pages.logoutSource, postLogoutSuccessSource: pages.postLogoutSuccessSource },
      introspection: {
        enabled: true,
        // RFC 7662 callers authenticate; resource servers see every token, a client only its own.
        allowedPolicy: async (_ctx: OidcContext, caller: ClientInstance, token: TokenInstance) =>
          caller.clientAuthMethod !== 'none' && (resourceServers.has(caller.clientId) || token.clientId === caller.clientId),
      },
      revocation: {
        enabled: true,
        // A client revokes its own tokens; others' are ignored, as unknown tokens are (RFC 7009 §2.2).
        allowedPolicy: async (_ctx: OidcContext, caller: ClientInstance, token: TokenInstance) => token.clientId === caller.clientId,
      },
      registration: config.registration.enabled
        ? { enabled: true, initialAccessToken: config.registration.initialAccessToken }
        : { enabled: false },
    },
  };
}

/** Builds the provider; a client that oidc-provider refuses is a configuration problem. */
export function createProvider(parts: ProviderParts, extensions: readonly OidcOpExtension[]): Provider {
  const configuration = providerConfiguration(parts);
  for (const extension of extensions) extension.configure?.(configuration, parts);
  let provider: Provider;
  try {
    provider = new Provider(parts.issuer, configuration);
  } catch (err) {
    if (err instanceof errors.OIDCProviderError) {
      throw new ConfigError([`frontends.oidc.clients: ${err.error_description ?? err.message}`]);
    }
    throw err;
  }
  provider.proxy = parts.trustProxy;
  requireRegisteredSecretMethod(provider);
  for (const extension of extensions) extension.attach?.(provider, parts);
  return provider;
}
