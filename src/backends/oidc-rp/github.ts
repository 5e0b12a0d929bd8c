/**
 * GitHub speaks OAuth2 only: no ID token, no userinfo. Who the user is comes from its REST API
 * with the access token, read into the claims an OpenID provider would have sent, so the shared
 * claim mapping applies:
 *   GET /user         → { "id": 583231, "login": "octocat", "name": "The Octocat", … }
 *   GET /user/emails  → [{ "email": "octocat@github.com", "primary": true, "verified": true, "visibility": "public" }, …]
 * The subject is the numeric `id`: a `login` can be renamed and then taken by someone else. The
 * email is the primary one, and only when GitHub verified it (scope user:email).
 */
import { fetchProtectedResource, type Configuration } from 'openid-client';
import { z } from 'zod';
import { MalformedResponseError, UpstreamAuthnFailedError, UpstreamUnavailableError } from '../../core/errors.js';
import type { Claims } from './claims.js';

const user = z.object({
  id: z.number().int().nonnegative(),
  name: z.string().nullish(),
});

const emails = z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }));

const API_HEADERS = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };

async function getJson<T>(configuration: Configuration, accessToken: string, url: URL, shape: z.ZodType<T>): Promise<T> {
  const response = await fetchProtectedResource(configuration, accessToken, url, 'GET', undefined, new Headers(API_HEADERS));
  if (response.status >= 500) throw new UpstreamUnavailableError(`GitHub API ${url.pathname} answered HTTP ${response.status}`);
  if (!response.ok) throw new UpstreamAuthnFailedError(`GitHub API ${url.pathname} answered HTTP ${response.status}`);
  let body: unknown;
  try {
    body = await response.json();
  } catch (err) {
    throw new MalformedResponseError(`GitHub API ${url.pathname} answered with something that is not JSON`, { cause: err });
  }
  const parsed = shape.safeParse(body);
  if (!parsed.success) {
    throw new MalformedResponseError(`GitHub API ${url.pathname} answered in an unexpected shape: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** The user behind `accessToken`, as OIDC-style claims (sub, name, email, email_verified). */
export async function githubClaims(configuration: Configuration, accessToken: string, apiBase: string): Promise<Claims & { sub: string }> {
  const api = (path: string) => new URL(`${apiBase.replace(/\/+$/, '')}${path}`);
  const [profile, addresses] = await Promise.all([
    getJson(configuration, accessToken, api('/user'), user),
    getJson(configuration, accessToken, api('/user/emails'), emails),
  ]);
  const primary = addresses.find((a) => a.primary && a.verified);
  return {
    sub: String(profile.id),
    ...(profile.name ? { name: profile.name } : {}),
    ...(primary ? { email: primary.email, email_verified: true } : {}),
  };
}
