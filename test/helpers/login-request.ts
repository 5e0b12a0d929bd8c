/** The AuthnRequest a backend test starts a login with, from the query of its /test/start route. */
import type { AuthnRequest } from '../../src/core/model.js';

export function testLoginRequest(query: Record<string, string | undefined>, upstream: string): AuthnRequest {
  return {
    frontend: 'test',
    requester: 'https://sp.example.org/shibboleth',
    forceAuthn: query.force === '1',
    isPassive: false,
    idpHints: [upstream],
    frontendState: {},
    ...(query.acr ? { requestedAuthnContext: { comparison: 'exact' as const, classRefs: query.acr.split(' ') } } : {}),
  };
}
