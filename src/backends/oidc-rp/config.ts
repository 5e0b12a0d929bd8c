/**
 * `backends.oidc`: the upstream OpenID Connect and OAuth2 providers. Each entry names a preset
 * (google, orcid, github) or is a generic OpenID Provider found by discovery from its issuer;
 * the preset fills in what the operator leaves out. Parsing resolves every entry to an
 * `OidcProvider` with nothing left optional that the backend needs.
 */
import { z } from 'zod';
import { secret } from '../../config/schema.js';
import { definitionOf } from '../../core/attributes.js';
import { GITHUB_ENDPOINTS, PRESET_NAMES, PRESETS, type PresetName } from './presets.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or http to this machine only (tests and local development). */
function endpointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return 'must be an https URL (http is accepted only for 127.0.0.1, localhost or ::1)';
}

const endpoint = z.string().superRefine((value, ctx) => {
  const problem = endpointProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const attributeName = z.string().superRefine((name, ctx) => {
  if (!definitionOf(name)) ctx.addIssue({ code: 'custom', message: `unknown attribute "${name}" (internal names as in spec/attributes.md)` });
});

const providerInput = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, dashes and underscores only')
      .describe('Short name; the redirect URI registered at the provider is <baseUrl>/oidc/rp/callback/<id>'),
    preset: z.enum(PRESET_NAMES).default('generic').describe('google, orcid, github, or generic (any OpenID Provider with discovery)'),
    issuer: endpoint
      .optional()
      .describe('Issuer identifier for discovery; required for generic, supplied by the google and orcid presets. For github, the name it appears under (default https://github.com)'),
    clientId: z.string().min(1).describe('Client identifier registered at the provider'),
    // Lazy: config/schema.ts imports this module, so `secret` is not yet initialised while it loads.
    clientSecret: z.lazy(() => secret).describe('Client secret (inline, { env } or { file })'),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'one scope token, no spaces'))
      .min(1)
      .optional()
      .describe('Scopes to request; defaults per preset (generic and google: openid profile email; orcid: openid; github: read:user user:email)'),
    displayName: z.record(z.string(), z.string()).optional().describe('Name on the discovery page per language tag; defaults per preset'),
    logo: z
      .string()
      .regex(/^(https:\/\/|data:image\/)/, 'must be an https: or data:image/ URL')
      .optional()
      .describe('Logo on the discovery page'),
    social: z
      .boolean()
      .optional()
      .describe('A social, low-assurance provider (default: true for presets, false for generic); its scoped claims are never accepted'),
    userinfo: z.boolean().optional().describe('Fetch the userinfo endpoint after the token request (default: generic and orcid yes, google no)'),
    claimMapping: z
      .record(z.string().min(1), attributeName)
      .default({})
      .describe('Extra claim → internal attribute name, for claims the shared table does not map'),
    hidden: z.boolean().default(false).describe('Do not list on the discovery page (still usable by an IdP hint)'),
    timeoutSeconds: z.number().int().min(1).max(120).default(10).describe('Bound on every request to the provider (discovery, token, userinfo, APIs)'),
    endpoints: z
      .object({
        authorization: endpoint.default(GITHUB_ENDPOINTS.authorization),
        token: endpoint.default(GITHUB_ENDPOINTS.token),
        api: endpoint.default(GITHUB_ENDPOINTS.api),
      })
      .strict()
      .optional()
      .describe('github only: OAuth2 endpoints and REST API base (GitHub Enterprise, tests)'),
  })
  .strict();

type ProviderInput = z.output<typeof providerInput>;

/** One upstream provider with every default applied. */
export interface OidcProvider {
  id: string;
  preset: PresetName;
  protocol: 'oidc' | 'oauth2';
  /** Discovery issuer, or GitHub's pseudo-issuer: the upstream id in hints, discovery and Identity.issuer. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  displayName: Record<string, string>;
  logo?: string;
  social: boolean;
  userinfo: boolean;
  claimMapping: Record<string, string>;
  hidden: boolean;
  timeoutSeconds: number;
  /** GitHub's endpoints; undefined for OpenID providers (they come from discovery). */
  endpoints?: { authorization: string; token: string; api: string };
}

function resolve(input: ProviderInput, ctx: z.RefinementCtx): OidcProvider {
  const preset = PRESETS[input.preset];
  const issuer = input.issuer ?? preset.issuer;
  if (!issuer) {
    ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'required for a generic provider' });
    return z.NEVER;
  }
  if (input.endpoints && preset.protocol !== 'oauth2') {
    ctx.addIssue({ code: 'custom', path: ['endpoints'], message: 'only for the github preset: OpenID providers publish theirs by discovery' });
    return z.NEVER;
  }
  const { endpoints, ...rest } = input;
  return {
    ...rest,
    protocol: preset.protocol,
    issuer,
    scopes: input.scopes ?? preset.scopes,
    displayName: input.displayName ?? preset.displayName ?? { en: new URL(issuer).host },
    social: input.social ?? preset.social,
    userinfo: input.userinfo ?? preset.userinfo,
    ...(preset.protocol === 'oauth2' ? { endpoints: endpoints ?? { ...GITHUB_ENDPOINTS } } : {}),
  };
}

const provider = providerInput.transform(resolve);

function requireUnique(providers: OidcProvider[], ctx: z.RefinementCtx): void {
  for (const key of ['id', 'issuer'] as const) {
    const seen = new Set<string>();
    providers.forEach((p, i) => {
      if (seen.has(p[key])) ctx.addIssue({ code: 'custom', path: [i, key], message: `another provider already has ${key} ${p[key]}` });
      seen.add(p[key]);
    });
  }
}

export const oidcBackendConfig = z
  .object({
    providers: z.array(provider).default([]).superRefine(requireUnique).describe('Upstream OpenID Connect / OAuth2 providers'),
    discoveryRetry: z
      .object({
        minSeconds: z.number().int().min(1).default(30).describe('First wait before discovery of an unreachable provider is tried again'),
        maxSeconds: z.number().int().min(1).default(300).describe('Longest wait between tries (the wait doubles up to this)'),
      })
      .strict()
      .prefault({})
      .refine((r) => r.minSeconds <= r.maxSeconds, 'minSeconds must not exceed maxSeconds'),
  })
  .strict();

export type OidcBackendConfig = z.output<typeof oidcBackendConfig>;
