/** Which AuthnContextClassRef fedgate asserts downstream, given what the upstream asserted. */
import type { RequestedAuthnContext } from '../../core/model.js';

export const UNSPECIFIED_AUTHN_CONTEXT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified';

/**
 * The upstream's first class reference (or `unspecified`); for an "exact" request the first
 * upstream one the service asked for, or undefined when none was. Other comparisons need an order
 * of contexts fedgate does not define, so they pass the upstream's context through.
 */
export function assertedClassRef(requested: RequestedAuthnContext | undefined, upstream: string[]): string | undefined {
  if (requested?.comparison === 'exact') return upstream.find((ref) => requested.classRefs.includes(ref));
  return upstream[0] ?? UNSPECIFIED_AUTHN_CONTEXT;
}
