/**
 * The protocol-neutral Identity from what an upstream OpenID / OAuth2 provider said: the user
 * claims (ID token and userinfo, or GitHub's API) and, for OpenID providers, the authentication
 * facts of the validated ID token.
 */
import type { IDToken } from 'openid-client';
import type { Identity } from '../../core/model.js';
import { attributesFromClaims, type Claims, type ClaimsLog } from './claims.js';
import type { OidcProvider } from './config.js';

export function identityFromClaims(provider: OidcProvider, subject: string, claims: Claims, idToken: IDToken | undefined, log: ClaimsLog): Identity {
  const amr = Array.isArray(idToken?.amr) ? idToken.amr.filter((m): m is string => typeof m === 'string') : [];
  return {
    issuer: provider.issuer,
    protocol: provider.protocol,
    subject: { id: subject },
    attributes: attributesFromClaims(provider, subject, claims, log),
    authn: {
      // auth_time is when the user authenticated; without it, the time of this answer is the best known.
      instant: new Date(typeof idToken?.auth_time === 'number' ? idToken.auth_time * 1000 : Date.now()).toISOString(),
      contextClassRefs: typeof idToken?.acr === 'string' && idToken.acr !== '' ? [idToken.acr] : [],
      ...(amr.length > 0 ? { amr } : {}),
    },
  };
}
