/**
 * The single source of truth for fedgate's configuration: every option, its default and what it
 * means. `fedgate check-config` and the loader report problems by the key paths defined here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { FILTERS } from '../pipeline/registry.js';
import { oidcBackendConfig } from '../backends/oidc-rp/config.js';
import { oidcFrontendConfig } from '../frontends/oidc-op/config.js';
import { discoveryConfig } from '../discovery/config.js';

/** A secret given inline, from an environment variable or from a file; resolved to its value. */
export const secret = z
  .union([
    z.string().min(1),
    z.object({ env: z.string().min(1).describe('Name of the environment variable holding the secret') }).strict(),
    z.object({ file: z.string().min(1).describe('Path of a file holding the secret (trailing newline trimmed)') }).strict(),
  ])
  .transform((value, ctx) => {
    if (typeof value === 'string') return value;
    if ('env' in value) {
      const v = process.env[value.env];
      if (v === undefined || v === '') {
        ctx.addIssue({ code: 'custom', message: `environment variable ${value.env} is not set` });
        return z.NEVER;
      }
      return v;
    }
    if (!existsSync(value.file)) {
      ctx.addIssue({ code: 'custom', message: `file not found: ${value.file}` });
      return z.NEVER;
    }
    return readFileSync(value.file, 'utf8').replace(/\r?\n$/, '');
  });

/** A path that must name an existing file. */
const existingFile = z
  .string()
  .min(1)
  .superRefine((path, ctx) => {
    if (!existsSync(path)) ctx.addIssue({ code: 'custom', message: `file not found: ${path}` });
  });

const isUrl = (s: string) => /^https?:\/\//i.test(s);

const keyPair = z
  .object({
    key: existingFile.describe('PEM private key file'),
    cert: existingFile.describe('PEM certificate file holding the public key of `key`'),
  })
  .strict();

const sha256Fingerprint = z
  .string()
  .transform((s) => s.replace(/:/g, '').toLowerCase())
  .pipe(z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 fingerprint (64 hex digits, colons allowed)'));

/** The default bound on fetching a metadata URL; `fedgate metadata check` uses it too. */
export const METADATA_FETCH_TIMEOUT_SECONDS = 120;

/**
 * Where SAML metadata comes from. A local file is trusted as placed by the operator (its
 * signature is still checked when `signingCert` or `fingerprint` is given); a URL must be signed.
 */
const metadataSourceFields = {
  metadata: z
    .string()
    .min(1)
    .superRefine((m, ctx) => {
      if (!isUrl(m) && !existsSync(m)) ctx.addIssue({ code: 'custom', message: `file not found: ${m}` });
    })
    .describe('Metadata file path or http(s) URL: one EntityDescriptor or an EntitiesDescriptor aggregate'),
  signingCert: existingFile
    .optional()
    .describe('PEM certificate whose key must have signed the metadata document (root element)'),
  fingerprint: sha256Fingerprint
    .optional()
    .describe('SHA-256 fingerprint of the certificate that must have signed the metadata (alternative to signingCert)'),
  refreshSeconds: z
    .number()
    .int()
    .min(60)
    .default(3600)
    .describe(
      'How often a URL source is fetched again. A failed fetch keeps the last verified copy in use (until its validUntil); ' +
        'each verified copy is also saved under <dataDir>/metadata-backing/, so a start while the URL is down begins from it',
    ),
  retrySeconds: z
    .number()
    .int()
    .min(1)
    .default(60)
    .describe('After a failed fetch of a URL source (or a start from its backing copy), try again this soon (at most refreshSeconds)'),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(METADATA_FETCH_TIMEOUT_SECONDS)
    .describe('Bound on one fetch of a URL source, download included; a fetch that takes longer fails like an unreachable URL'),
  maxValidityDays: z
    .number()
    .int()
    .min(1)
    .default(28)
    .describe('Refuse a signed document whose validUntil lies further ahead than this'),
};

function requireSignatureForUrls(
  src: { metadata: string; signingCert?: string; fingerprint?: string },
  ctx: z.RefinementCtx,
) {
  if (isUrl(src.metadata) && !src.signingCert && !src.fingerprint) {
    ctx.addIssue({
      code: 'custom',
      path: ['signingCert'],
      message: 'metadata fetched from a URL must be signed: set signingCert or fingerprint',
    });
  }
}

export const NAMEID_FORMAT = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
} as const;
export type NameIdFormatName = keyof typeof NAMEID_FORMAT;
const nameIdFormatName = z.enum(['persistent', 'transient']);

const localized = z
  .record(z.string(), z.string())
  .describe('Text per language tag, e.g. {en: "…", de: "…"}');

const serviceProviderSource = z
  .object({
    ...metadataSourceFields,
    encryptAssertion: z
      .boolean()
      .default(false)
      .describe('Encrypt the assertion for these SPs (they must publish an encryption key)'),
    signResponse: z
      .boolean()
      .optional()
      .describe('Sign the Response element too; defaults to frontends.saml.signResponse'),
    signAssertion: z
      .boolean()
      .optional()
      .describe('Sign the assertion; defaults to frontends.saml.signAssertion'),
    requireSignedRequests: z
      .boolean()
      .default(false)
      .describe('Refuse unsigned AuthnRequests from these SPs (always refused when their metadata sets AuthnRequestsSigned)'),
    nameIdFormats: z
      .array(nameIdFormatName)
      .min(1)
      .default(['transient', 'persistent'])
      .describe('NameID formats these SPs may get; the first is used when a request names none'),
  })
  .strict()
  .superRefine(requireSignatureForUrls);

const metadataIdentityProviderSource = z
  .object({
    ...metadataSourceFields,
    hidden: z.boolean().default(false).describe('Do not list these IdPs on the discovery page (still usable by hint)'),
  })
  .strict()
  .superRefine(requireSignatureForUrls);

/** IdPs looked up one by one from an MDQ service (draft-young-md-query), each response verified. */
const mdqIdentityProviderSource = z
  .object({
    mdq: z
      .url({ protocol: /^https?$/ })
      .refine((u) => u.endsWith('/') && !u.includes('?') && !u.includes('#'), 'an MDQ base URL ends with "/" and has no query or fragment')
      .describe('MDQ base URL; entities are fetched from <mdq>entities/<percent-encoded entityID>'),
    signingCert: existingFile.optional().describe('PEM certificate whose key signs every MDQ response'),
    fingerprint: sha256Fingerprint
      .optional()
      .describe('SHA-256 fingerprint of the certificate that signs MDQ responses (alternative to signingCert)'),
    identifier: z
      .enum(['entityID', 'sha1'])
      .default('entityID')
      .describe('Ask for entities by percent-encoded entityID or by the {sha1} form'),
    maxValidityDays: metadataSourceFields.maxValidityDays,
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(120)
      .default(10)
      .describe('Bound on one MDQ request, answer included: a login waiting for an entity fails with a clear page after it'),
    hidden: z.boolean().default(false).describe('Do not list these IdPs on the discovery page (still usable by hint)'),
  })
  .strict()
  .refine((src) => src.signingCert || src.fingerprint, { path: ['signingCert'], message: 'MDQ responses must be signed: set signingCert or fingerprint' });

const identityProviderSource = z.union([metadataIdentityProviderSource, mdqIdentityProviderSource]);

const redisNode = z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535).default(6379) }).strict();

const store = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('memory') }).strict().describe('In-process store: one fedgate process only'),
    z
      .object({
        type: z.literal('redis'),
        url: z
          .string()
          .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
          .default('redis://127.0.0.1:6379')
          .describe('Standalone Redis server (ignored when sentinels or cluster are given)'),
        password: secret.optional().describe('Redis password (AUTH), overrides one in the URL'),
        sentinels: z.array(redisNode).min(1).optional().describe('Redis Sentinel nodes; enables Sentinel mode'),
        sentinelName: z.string().default('mymaster').describe('Sentinel master group name'),
        cluster: z.array(redisNode).min(1).optional().describe('Redis Cluster seed nodes; enables Cluster mode'),
        keyPrefix: z.string().default('fedgate:').describe('Prefix of every key fedgate writes'),
        commandTimeoutMs: z
          .number()
          .int()
          .min(50)
          .default(2000)
          .describe('A command not answered within this time fails the request with 503'),
      })
      .strict()
      .describe('Redis (ioredis): several fedgate instances share logins'),
  ])
  .default({ type: 'memory' });

const rateLimit = (max: number, what: string) =>
  z
    .object({
      max: z.number().int().min(1).default(max).describe(`Requests per client IP per window on ${what}`),
      windowSeconds: z.number().int().min(1).default(60).describe('Length of the window'),
    })
    .strict()
    .prefault({});

const operations = z
  .object({
    metrics: z
      .object({
        enabled: z.boolean().default(true).describe('Serve Prometheus metrics'),
        path: z.string().regex(/^\/[A-Za-z0-9/_-]*$/, 'must be a path such as /metrics').default('/metrics'),
        allow: z
          .array(
            z.string().refine((entry) => {
              const [address = '', prefix, extra] = entry.split('/');
              const version = isIP(address);
              const max = version === 6 ? 128 : 32;
              return version !== 0 && extra === undefined && (prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= max));
            }, 'must be an IP address or CIDR, e.g. 10.0.0.0/8'),
          )
          .default(['127.0.0.1/8', '::1/128'])
          .describe('Addresses/CIDRs that may read the metrics (client address as trustProxy determines it); others get 403'),
      })
      .strict()
      .prefault({}),
    readiness: z
      .object({
        storeTimeoutMs: z.number().int().min(10).default(1000).describe('/readyz reports the store unready when a ping takes longer'),
      })
      .strict()
      .prefault({}),
    rateLimits: z
      .object({
        enabled: z.boolean().default(true),
        login: rateLimit(300, 'login pages (SAML SSO and ACS, discovery, OIDC authorization and callbacks)'),
        token: rateLimit(1200, 'OAuth token, introspection, revocation and device endpoints (an RP server is one client IP for all its users)'),
        search: rateLimit(600, "the discovery search API (the page's type-ahead asks once per pause in typing)"),
      })
      .strict()
      .prefault({})
      .describe('Per client address (an IPv6 client by its /64, an IPv4-mapped IPv6 address as IPv4), in-memory per instance: with N instances behind a balancer a client gets up to N times max'),
  })
  .strict()
  .prefault({});

const demoUser = z
  .object({
    username: z.string().min(1),
    password: secret,
    attributes: z
      .record(z.string(), z.union([z.string(), z.array(z.string())]))
      .default({})
      .describe('Internal attribute name → value(s) the demo IdP asserts for this user'),
  })
  .strict();

/**
 * One pipeline entry: `filter` names a registered filter, every other key is one of its options,
 * validated by that filter's own schema so problems name their full key path.
 */
const pipelineStep = z
  .object({ filter: z.string().min(1).describe('Registered filter name') })
  .catchall(z.unknown())
  .transform((entry, ctx) => {
    const { filter, ...rawOptions } = entry;
    const definition = FILTERS.get(filter);
    if (!definition) {
      ctx.addIssue({ code: 'custom', path: ['filter'], message: `unknown filter "${filter}" (known: ${[...FILTERS.keys()].join(', ')})` });
      return z.NEVER;
    }
    const parsed = definition.options.safeParse(rawOptions);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: issue.path } as z.core.$ZodRawIssue);
      return z.NEVER;
    }
    return { filter, options: parsed.data as unknown };
  });

const demoIdp = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes only').describe('Path segment: /demo/idp/<id>'),
    displayName: localized.describe('Name on the discovery page'),
    scope: z.string().min(1).describe('shibmd:Scope published for this IdP (scoped attributes must use it)'),
    users: z.array(demoUser).min(1).describe('Accounts of this demo IdP'),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        baseUrl: z
          .url()
          .transform((u) => u.replace(/\/+$/, ''))
          .default('http://127.0.0.1:8080')
          .describe('Public URL of this proxy; entityIDs and endpoints are built from it'),
        host: z.string().default('127.0.0.1').describe('Address to listen on'),
        port: z.number().int().min(0).max(65535).default(8080).describe('Port to listen on (0: any free port)'),
        trustProxy: z
          .array(z.string())
          .default([])
          .describe('Addresses/CIDRs of reverse proxies whose X-Forwarded-* headers are trusted'),
        bodyLimitBytes: z
          .number()
          .int()
          .min(1024)
          .default(256 * 1024)
          .describe('Largest accepted request body, and largest SAML request once an HTTP-Redirect one is inflated; larger ones get 413'),
        cookieSecure: z
          .boolean()
          .optional()
          .describe('Mark cookies Secure; defaults to true when baseUrl is https'),
      })
      .strict()
      .prefault({}),
    dataDir: z
      .string()
      .default('data')
      .describe('Folder for generated keys and secrets and the backing copies of metadata URLs (created on first start; never commit it)'),
    logging: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        explain: z
          .boolean()
          .default(false)
          .describe('Log, for every login, what each pipeline filter added, removed and why (see also `fedgate explain`)'),
      })
      .strict()
      .prefault({}),
    keys: z
      .object({
        signing: keyPair
          .optional()
          .describe('Key and certificate fedgate signs with; generated into dataDir when absent'),
        encryption: keyPair
          .optional()
          .describe('Key and certificate upstream IdPs encrypt to; generated into dataDir when absent'),
      })
      .strict()
      .prefault({}),
    secrets: z
      .object({
        identifierSalt: secret
          .optional()
          .describe('Secret salt for persistent NameIDs; generated into dataDir when absent. Changing it changes every persistent identifier'),
      })
      .strict()
      .prefault({}),
    store,
    session: z
      .object({
        cookieName: z.string().default('fedgate_session'),
        ttlSeconds: z.number().int().min(60).default(8 * 3600).describe('Lifetime of the SSO session'),
        flowTtlSeconds: z
          .number()
          .int()
          .min(60)
          .default(900)
          .describe('How long a login may take from the service request to the upstream answer'),
        loginCookieName: z
          .string()
          .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must be a letter followed by up to 63 letters, digits, "_" or "-"')
          .default('fedgate_login')
          .describe(
            'Cookie that ties each login in progress to the browser that started it (a random id; the store keeps only its hash), so an upstream answer or a discovery choice from another browser is refused. Named __Host-<name> when cookies are Secure; SameSite=None over https so the IdP’s cross-site POST to the ACS carries it',
          ),
      })
      .strict()
      .refine((s) => s.loginCookieName !== s.cookieName, { path: ['loginCookieName'], message: 'must differ from session.cookieName' })
      .prefault({}),
    saml: z
      .object({
        clockSkewSeconds: z
          .number()
          .int()
          .min(0)
          .max(600)
          .default(180)
          .describe('Accepted clock difference for NotBefore/NotOnOrAfter (SAML2int: 3–5 min)'),
        assertionLifetimeSeconds: z
          .number()
          .int()
          .min(30)
          .default(300)
          .describe('Validity of the assertions fedgate issues'),
      })
      .strict()
      .prefault({}),
    frontends: z
      .object({
        saml: z
          .object({
            enabled: z.boolean().default(true),
            entityId: z.string().optional().describe('IdP entityID; default <baseUrl>/saml/idp/metadata'),
            displayName: localized.default({ en: 'fedgate' }).describe('mdui:DisplayName of the IdP'),
            technicalContact: z.email().optional().describe('Technical contact e-mail published in metadata'),
            scopes: z
              .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,126}$/, 'must be a DNS-like scope'))
              .optional()
              .describe('shibmd:Scope values published for the scoped values fedgate asserts (community IDs…); default: the host of baseUrl, which is also community-id’s default scope'),
            signResponse: z.boolean().default(true).describe('Sign the Response element (SAML2int requires it)'),
            signAssertion: z
              .boolean()
              .default(true)
              .describe(
                'Sign the assertion as well as the Response. false saves one RSA signature per login; the assertion is still signed for an SP whose metadata sets WantAssertionsSigned, or when the Response is not signed',
              ),
            sps: z.array(serviceProviderSource).default([]).describe('Downstream SAML service providers'),
          })
          .strict()
          .prefault({}),
        // Lazy: the OIDC frontend's schema uses `secret` from this module.
        oidc: z.lazy(() => oidcFrontendConfig).prefault({}).describe('fedgate as OpenID Provider to downstream relying parties (off by default)'),
      })
      .strict()
      .prefault({}),
    backends: z
      .object({
        saml: z
          .object({
            enabled: z.boolean().default(true),
            entityId: z.string().optional().describe('SP entityID; default <baseUrl>/saml/sp/metadata'),
            displayName: localized.default({ en: 'fedgate' }).describe('mdui:DisplayName of the SP'),
            technicalContact: z.email().optional().describe('Technical contact e-mail published in metadata'),
            signAuthnRequests: z
              .boolean()
              .default(true)
              .describe('Sign AuthnRequests (always done for IdPs whose metadata sets WantAuthnRequestsSigned)'),
            idps: z.array(identityProviderSource).default([]).describe('Upstream SAML identity providers'),
          })
          .strict()
          .prefault({}),
        // Lazy: the OIDC backend's schema uses `secret` from this module.
        oidc: z.lazy(() => oidcBackendConfig).prefault({}).describe('Upstream OpenID Connect / OAuth2 providers: Google, ORCID, GitHub, any OpenID Provider'),
      })
      .strict()
      .prefault({}),
    discovery: discoveryConfig.prefault({}).describe('The IdP choice page, its search API, per-service filters, an external discovery service'),
    operations: operations.describe('Health, metrics and rate limits'),
    pipeline: z
      .array(pipelineStep)
      .default([])
      .describe('Attribute filters run in this order between upstream and downstream'),
    demo: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('Serve demo IdPs under /demo/idp/<id> and a demo service at /demo (for trying fedgate out, never in production)'),
        idps: z
          .array(demoIdp)
          .default([])
          .refine((idps) => new Set(idps.map((i) => i.id)).size === idps.length, 'demo IdP ids must be unique')
          .describe('Demo upstream IdPs, each a real SAML IdP served by this process'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ServiceProviderSource = z.output<typeof serviceProviderSource>;
export type IdentityProviderSource = z.output<typeof identityProviderSource>;
export type MdqSourceConfig = z.output<typeof mdqIdentityProviderSource>;
export type PipelineStep = z.output<typeof pipelineStep>;
export type StoreConfig = z.output<typeof store>;
export type OperationsConfig = z.output<typeof operations>;
export type MetadataSourceConfig = {
  metadata: string;
  signingCert?: string;
  fingerprint?: string;
  refreshSeconds: number;
  retrySeconds: number;
  timeoutSeconds: number;
  maxValidityDays: number;
};
