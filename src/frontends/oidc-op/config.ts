/**
 * `frontends.oidc`: fedgate as an OpenID Provider to downstream relying parties. Clients and
 * resource servers come from here (or, when enabled, from dynamic registration); every URL the
 * provider may send a browser to is one of the exact strings listed here.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { secret } from '../../config/schema.js';
import { EGI_LOA, REFEDS_MFA, REFEDS_SFA } from '../../pipeline/assurance-vocabulary.js';
import { SUPPORTED_SCOPES } from './claims.js';

/** Grant types a configured client may be given; the grants/ extensions add theirs here. */
export const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:token-exchange',
  'urn:ietf:params:oauth:grant-type:device_code',
] as const;
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/**
 * The private key in `path`, checked to fit `alg` (RSA of at least 2048 bits for RS256, EC P-256
 * for ES256). Throws an Error whose message says what is wrong.
 */
export function readSigningKey(path: string, alg: SigningAlg): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path, 'utf8'));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `file not found: ${path}` : `${path} is not a PEM private key (unencrypted PKCS#8, PKCS#1 or SEC1)`);
  }
  const details = key.asymmetricKeyDetails;
  if (alg === 'RS256' && !(key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048)) {
    throw new Error(`${path} is not an RSA key of at least 2048 bits, as RS256 needs`);
  }
  if (alg === 'ES256' && !(key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1')) {
    throw new Error(`${path} is not an EC P-256 key, as ES256 needs`);
  }
  return key;
}

const signingKey = z
  .object({
    kid: z.string().min(1).optional().describe('Key ID published in the JWKS; default: the RFC 7638 thumbprint of the key'),
    key: z.string().min(1).describe('PEM private key file'),
    alg: z.enum(SIGNING_ALGS).describe('RS256 (RSA ≥ 2048 bits) or ES256 (EC P-256)'),
  })
  .strict()
  .superRefine((entry, ctx) => {
    try {
      readSigningKey(entry.key, entry.alg);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['key'], message: (err as Error).message });
    }
  });

/** An absolute http(s) URL without fragment, compared as an exact string. */
const exactUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' });
  if (url.hash !== '' || value.includes('#')) ctx.addIssue({ code: 'custom', message: 'must not have a fragment' });
});

const scopeName = z.string().superRefine((scope, ctx) => {
  if (!SUPPORTED_SCOPES.includes(scope)) {
    ctx.addIssue({ code: 'custom', message: `unknown scope "${scope}" (supported: ${SUPPORTED_SCOPES.join(', ')})` });
  }
});

const clientId = z.string().regex(/^[\x21-\x7e]{1,255}$/, '1–255 visible ASCII characters');

const client = z
  .object({
    clientId,
    clientSecret: z
      .lazy(() => secret)
      .optional()
      .describe('Client secret (inline, { env } or { file }); absent: a public client, which must use PKCE and tokenEndpointAuthMethod none'),
    name: z.string().min(1).optional().describe('Shown to users (discovery page, errors) and to the release policy'),
    redirectUris: z.array(exactUrl).default([]).describe('Where authorization responses may go; matched as exact strings (at least one for authorization_code)'),
    postLogoutRedirectUris: z.array(exactUrl).default([]).describe('Where end_session may send the browser afterwards; exact strings'),
    grantTypes: z.array(z.enum(GRANT_TYPES)).min(1).default(['authorization_code']).describe(`Subset of ${GRANT_TYPES.join(', ')}`),
    scopes: z
      .array(scopeName)
      .min(1)
      .describe('Scopes this client may request (offline_access too, for refresh tokens); others are refused with invalid_scope'),
    tokenEndpointAuthMethod: z
      .enum(['client_secret_basic', 'client_secret_post', 'none'])
      .optional()
      .describe('How the client authenticates at the token, introspection and revocation endpoints; any other method is refused (invalid_client). Default: client_secret_basic with a secret, none without'),
    subjectType: z.enum(['public', 'pairwise']).default('public').describe('pairwise: `sub` differs per redirect host'),
    tokenExchange: z
      .object({
        from: z.array(clientId).default([]).describe('Clients whose access tokens this client may exchange for its own (RFC 8693)'),
      })
      .strict()
      .prefault({})
      .describe(`Token exchange; needs ${TOKEN_EXCHANGE_GRANT} in grantTypes`),
  })
  .strict()
  .transform((c, ctx) => {
    const method = c.tokenEndpointAuthMethod ?? (c.clientSecret === undefined ? 'none' : 'client_secret_basic');
    if (c.clientSecret === undefined && method !== 'none') {
      ctx.addIssue({ code: 'custom', path: ['tokenEndpointAuthMethod'], message: 'a client without clientSecret is public: it can only use none' });
    }
    if (c.clientSecret !== undefined && method === 'none') {
      ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: 'a client with tokenEndpointAuthMethod none is public and has no secret' });
    }
    if (c.grantTypes.includes('authorization_code') && c.redirectUris.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['redirectUris'], message: 'authorization_code needs at least one redirect URI' });
    }
    if (c.tokenExchange.from.length > 0 && !c.grantTypes.includes(TOKEN_EXCHANGE_GRANT)) {
      ctx.addIssue({ code: 'custom', path: ['tokenExchange', 'from'], message: `list ${TOKEN_EXCHANGE_GRANT} in grantTypes to exchange tokens` });
    }
    if (c.grantTypes.includes(TOKEN_EXCHANGE_GRANT) && c.clientSecret === undefined) {
      // A public client cannot prove who is exchanging: anyone holding a token could use its client_id.
      ctx.addIssue({ code: 'custom', path: ['grantTypes'], message: 'token exchange is for confidential clients: give the client a clientSecret' });
    }
    if (c.tokenExchange.from.includes(c.clientId)) {
      ctx.addIssue({ code: 'custom', path: ['tokenExchange', 'from'], message: 'a client exchanges tokens of other clients, not its own' });
    }
    if (c.grantTypes.includes(DEVICE_CODE_GRANT) && c.subjectType === 'pairwise') {
      // oidc-provider requires private_key_jwt for pairwise device clients, which fedgate does not configure.
      ctx.addIssue({ code: 'custom', path: ['subjectType'], message: 'device code clients must use public subjects' });
    }
    if (c.grantTypes.includes('refresh_token') && !c.scopes.includes('offline_access')) {
      ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'refresh tokens are issued for offline_access: list it when grantTypes has refresh_token' });
    }
    return { ...c, tokenEndpointAuthMethod: method };
  });

const resourceServer = z
  .object({
    id: clientId.describe('The client_id it authenticates with at the introspection endpoint'),
    secret: z.lazy(() => secret).describe('Its secret (inline, { env } or { file })'),
    tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
    name: z.string().min(1).optional(),
  })
  .strict();

/** Seconds; every artefact gets a real value, so oidc-provider never falls back to its own. */
const seconds = (fallback: number, what: string) => z.number().int().min(1).default(fallback).describe(what);

const ttl = z
  .object({
    AccessToken: seconds(3600, 'Access token lifetime'),
    AuthorizationCode: seconds(60, 'Authorization code lifetime (single use)'),
    IdToken: seconds(3600, 'ID token lifetime'),
    RefreshToken: seconds(14 * 86400, 'Lifetime of a refresh token family from the login; rotation does not extend it'),
    Interaction: seconds(3600, 'How long a user may take to log in upstream'),
    Session: seconds(8 * 3600, 'The provider session (SSO between relying parties, prompt=none)'),
    Grant: seconds(14 * 86400, 'What a client was granted; its tokens die with it'),
    DeviceCode: seconds(600, 'Device code lifetime (device flow)'),
    ClientCredentials: seconds(600, 'Client credentials token lifetime'),
  })
  .strict()
  .refine((t) => t.Grant >= t.RefreshToken, { path: ['Grant'], message: 'must be at least RefreshToken: refresh tokens die with their grant' });

export const oidcFrontendConfig = z
  .object({
    enabled: z.boolean().default(false),
    issuer: z
      .url()
      .optional()
      .describe('Issuer identifier; default <baseUrl>/oidc. Discovery: <issuer>/.well-known/openid-configuration. Must be baseUrl plus a path'),
    signingKeys: z
      .array(signingKey)
      .min(1)
      .optional()
      .describe('The first signs, all are published in the JWKS (key rollover: put the new key first, keep the old one a while). Default: an RS256 and an ES256 key generated into dataDir'),
    cookieKeys: z
      .array(z.lazy(() => secret))
      .min(1)
      .optional()
      .describe('Secrets signing the provider cookies, first signs (rotate by prepending); default: generated into dataDir'),
    ttl: ttl.prefault({}),
    pkce: z
      .object({
        required: z.enum(['public', 'all']).default('all').describe('PKCE (S256) for public clients only, or for every client'),
      })
      .strict()
      .prefault({}),
    acrValues: z
      .array(z.string().min(1))
      .default([REFEDS_MFA, REFEDS_SFA, EGI_LOA.low, EGI_LOA.substantial, EGI_LOA.high])
      .describe('acr values published; `acr` is in the ID token when the client asks for it (acr_values or claims)'),
    clients: z
      .array(client)
      .default([])
      .refine((cs) => new Set(cs.map((c) => c.clientId)).size === cs.length, 'clientIds must be unique'),
    resourceServers: z
      .array(resourceServer)
      .default([])
      .describe('Resource servers that may introspect every token (clients may introspect their own)'),
    deviceFlow: z
      .object({
        interval: seconds(5, 'Seconds a device must wait between polls of the token endpoint; faster polls get slow_down'),
      })
      .strict()
      .prefault({}),
    registration: z
      .object({
        enabled: z.boolean().default(false).describe('Dynamic client registration (RFC 7591)'),
        initialAccessToken: z
          .lazy(() => secret)
          .optional()
          .describe('Bearer token a registration request must carry (required when enabled)'),
      })
      .strict()
      .prefault({})
      .refine((r) => !r.enabled || r.initialAccessToken !== undefined, {
        path: ['initialAccessToken'],
        message: 'dynamic registration must be protected: set initialAccessToken',
      }),
  })
  .strict()
  .refine(
    (o) => {
      const clientIds = new Set(o.clients.map((c) => c.clientId));
      return o.resourceServers.every((r) => !clientIds.has(r.id));
    },
    { path: ['resourceServers'], message: 'a resource server id must not be a clientId as well' },
  )
  .superRefine((o, ctx) => {
    const clientIds = new Set(o.clients.map((c) => c.clientId));
    o.clients.forEach((c, i) =>
      c.tokenExchange.from.forEach((from, j) => {
        if (!clientIds.has(from)) ctx.addIssue({ code: 'custom', path: ['clients', i, 'tokenExchange', 'from', j], message: `no client ${from} is configured` });
      }),
    );
  });

export type OidcFrontendConfig = z.output<typeof oidcFrontendConfig>;

/** The issuer identifier: configured, or <baseUrl>/oidc. */
export function issuerOf(oidc: Pick<OidcFrontendConfig, 'issuer'>, baseUrl: string): string {
  return oidc.issuer ?? `${baseUrl}/oidc`;
}
export type OidcClientConfig = OidcFrontendConfig['clients'][number];
