/**
 * Where the answer to an AuthnRequest may go: only to an HTTP-POST AssertionConsumerService
 * listed in the SP's verified metadata (SAML2int SDP-IDP06: exact, case-sensitive comparison).
 */
import { UnregisteredAcsUrlError } from '../../core/errors.js';
import { defaultEndpoint } from '../../metadata/default-endpoint.js';
import { BINDINGS, type Endpoint, type SpRole } from '../../metadata/types.js';

export interface AcsChoice {
  acsUrl?: string;
  acsIndex?: number;
}

function postEndpoints(sp: SpRole): Endpoint[] {
  return sp.assertionConsumerServices.filter((e) => e.binding === BINDINGS.post);
}

export function chooseAcs(entityId: string, sp: SpRole, choice: AcsChoice): string {
  const endpoints = postEndpoints(sp);
  if (choice.acsUrl !== undefined) {
    if (endpoints.some((e) => e.location === choice.acsUrl)) return choice.acsUrl;
    throw new UnregisteredAcsUrlError(`${entityId} asked for ACS ${choice.acsUrl}, which is no HTTP-POST ACS in its metadata`);
  }
  if (choice.acsIndex !== undefined) {
    const indexed = sp.assertionConsumerServices.find((e) => e.index === choice.acsIndex);
    if (indexed?.binding === BINDINGS.post) return indexed.location;
    throw new UnregisteredAcsUrlError(`${entityId} asked for ACS index ${choice.acsIndex}, which is no HTTP-POST ACS in its metadata`);
  }
  const fallback = defaultEndpoint(endpoints);
  if (fallback) return fallback.location;
  throw new UnregisteredAcsUrlError(`${entityId} has no HTTP-POST ACS in its metadata`);
}

/** Whether `url` (e.g. remembered from an earlier request) is still an HTTP-POST ACS of the SP. */
export function isPostAcs(sp: SpRole, url: string): boolean {
  return postEndpoints(sp).some((e) => e.location === url);
}
