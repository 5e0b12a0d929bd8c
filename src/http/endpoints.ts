/**
 * Which requests are login or token endpoints, for rate limits, request timings and failures
 * that happen before the login flow knows the login. Matched on Fastify's route pattern (not the
 * raw URL, which percent-encoding could disguise); under the OIDC provider's mount, which is one
 * wildcard route, on the decoded path after the issuer's prefix.
 */
import type { FastifyRequest } from 'fastify';
import { CALLBACK_PATH } from '../backends/oidc-rp/backend.js';
import { ACS_PATH } from '../backends/saml-sp/backend.js';
import { DISCOVERY_PATH, DISCOVERY_RETURN_PATH, SEARCH_PATH } from '../discovery/paths.js';
import { SSO_PATH } from '../frontends/saml-idp/frontend.js';

/**
 * `login`: a browser takes part in a login (HTML answers); `token`: a client's back-channel call
 * (JSON answers); `search`: the discovery page's search API (JSON answers).
 */
export type EndpointKind = 'login' | 'token' | 'search';

export interface Endpoint {
  /** Stable name, a metrics label. */
  name: string;
  kind: EndpointKind;
  /** The frontend or backend (by its name in the flow) that owns the endpoint, when one does. */
  frontend?: string;
  backend?: string;
}

const ROUTES = new Map<string, Endpoint>([
  [SSO_PATH, { name: 'saml_sso', kind: 'login', frontend: 'saml-idp' }],
  [ACS_PATH, { name: 'saml_acs', kind: 'login', backend: 'saml' }],
  [DISCOVERY_PATH, { name: 'discovery', kind: 'login' }],
  [DISCOVERY_RETURN_PATH, { name: 'discovery_return', kind: 'login' }],
  [SEARCH_PATH, { name: 'discovery_search', kind: 'search' }],
  [`${CALLBACK_PATH}/:provider`, { name: 'oidc_rp_callback', kind: 'login', backend: 'oidc' }],
]);

/** oidc-provider 9's default routes (provider.ts keeps them), below the issuer's path. */
const PROVIDER_ROUTES = new Map<string, Endpoint>([
  ['/auth', { name: 'oidc_authorization', kind: 'login', frontend: 'oidc-op' }],
  ['/device', { name: 'oidc_device_verification', kind: 'login', frontend: 'oidc-op' }],
  ['/token', { name: 'oauth_token', kind: 'token' }],
  ['/token/introspection', { name: 'oauth_introspection', kind: 'token' }],
  ['/token/revocation', { name: 'oauth_revocation', kind: 'token' }],
  ['/device/auth', { name: 'oauth_device_authorization', kind: 'token' }],
]);

function decodedPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = path;
  }
  return decoded.replace(/\/+$/, '') || '/';
}

export class Endpoints {
  private readonly routes = new Map(ROUTES);

  /** `opPrefix`: the OIDC provider's issuer path (e.g. "/oidc"), when the OIDC frontend is on. */
  constructor(private readonly opPrefix?: string) {
    if (opPrefix) {
      const interaction = { name: 'oidc_interaction', kind: 'login', frontend: 'oidc-op' } as const;
      this.routes.set(`${opPrefix}/interaction/:uid`, interaction);
      this.routes.set(`${opPrefix}/interaction/:uid/complete`, interaction);
    }
  }

  classify(request: FastifyRequest): Endpoint | undefined {
    const route = request.routeOptions.url;
    if (route === undefined) return undefined;
    const known = this.routes.get(route);
    if (known || !this.opPrefix || !route.startsWith(`${this.opPrefix}/`)) return known;
    const path = decodedPath(request.url);
    if (!path.startsWith(`${this.opPrefix}/`)) return undefined;
    const rest = path.slice(this.opPrefix.length);
    // The authorization endpoint resumes at /auth/<uid> after the interaction.
    return PROVIDER_ROUTES.get(rest) ?? (rest.startsWith('/auth/') ? PROVIDER_ROUTES.get('/auth') : undefined);
  }
}
