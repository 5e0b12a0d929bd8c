/**
 * The SAML IdP Discovery Service Protocol (OASIS idp-discovery profile, spec/metadata.md §6),
 * both ways: reading a request to fedgate's own page, answering it, and the request fedgate's SP
 * sends to an external discovery service.
 *
 * A `return` URL is used only when it is one of the service's idpdisc:DiscoveryResponse
 * locations from verified metadata, exactly or followed by a query string of its own (as
 * Shibboleth SPs send: …/Login?SAMLDS=1&target=…); never a redirect anywhere else.
 */
import { MalformedRequestError, UnknownServiceProviderError, UnregisteredDiscoveryResponseError } from '../core/errors.js';
import { defaultEndpoint } from '../metadata/default-endpoint.js';
import { NS } from '../metadata/namespaces.js';
import type { EntityRecord } from '../metadata/types.js';

/** The only policy the profile defines, and the default. */
export const SINGLE_POLICY = 'urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol:single';
const DEFAULT_RETURN_ID_PARAM = 'entityID';

/** The query parameters of a discovery request, as received. */
export interface DiscoveryRequestParams {
  entityID?: string;
  return?: string;
  returnIDParam?: string;
  policy?: string;
  isPassive?: string;
}

/** A checked discovery request: `returnUrl` is registered for `sp`. */
export interface DiscoveryRequest {
  sp: EntityRecord;
  returnUrl: string;
  returnIdParam: string;
  isPassive: boolean;
}

function isRegistered(locations: string[], url: string): boolean {
  return locations.some((location) => url === location || url.startsWith(`${location}${location.includes('?') ? '&' : '?'}`));
}

/**
 * Checks a request against the requesting SP's verified metadata; `serviceProvider` finds the
 * SP by entityID. Throws a typed error for anything that must not be answered by a redirect.
 */
export function readDiscoveryRequest(params: DiscoveryRequestParams, serviceProvider: (entityId: string) => EntityRecord | undefined): DiscoveryRequest {
  const { entityID, policy, isPassive } = params;
  if (!entityID) throw new MalformedRequestError('discovery request without entityID');
  const sp = serviceProvider(entityID);
  if (!sp?.sp) throw new UnknownServiceProviderError(`discovery request from ${entityID}, which is no service provider in fedgate's metadata`);
  if (policy !== undefined && policy !== SINGLE_POLICY) throw new MalformedRequestError(`discovery request from ${entityID} with unsupported policy ${policy}`);
  if (isPassive !== undefined && isPassive !== 'true' && isPassive !== 'false') {
    throw new MalformedRequestError(`discovery request from ${entityID}: isPassive must be true or false, not ${isPassive}`);
  }
  const returnIdParam = params.returnIDParam ?? DEFAULT_RETURN_ID_PARAM;
  if (!/^[A-Za-z0-9._~-]+$/.test(returnIdParam)) throw new MalformedRequestError(`discovery request from ${entityID}: unusable returnIDParam ${returnIdParam}`);

  const locations = sp.sp.discoveryResponses.filter((e) => e.binding === NS.idpdisc);
  const returnUrl = params.return ?? defaultEndpoint(locations)?.location;
  if (!returnUrl) throw new UnregisteredDiscoveryResponseError(`discovery request from ${entityID} without return, and its metadata has no DiscoveryResponse`);
  if (!isRegistered(locations.map((l) => l.location), returnUrl)) {
    throw new UnregisteredDiscoveryResponseError(`discovery request from ${entityID}: return ${returnUrl} is no DiscoveryResponse in its metadata`);
  }
  let url: URL;
  try {
    url = new URL(returnUrl);
  } catch {
    throw new UnregisteredDiscoveryResponseError(`discovery request from ${entityID}: return ${returnUrl} is not a URL`);
  }
  if (url.hash !== '' || returnUrl.includes('#')) throw new MalformedRequestError(`discovery request from ${entityID}: return ${returnUrl} has a fragment`);
  if (url.searchParams.has(returnIdParam)) {
    throw new MalformedRequestError(`discovery request from ${entityID}: return ${returnUrl} already carries ${returnIdParam}`);
  }
  return { sp, returnUrl, returnIdParam, isPassive: isPassive === 'true' };
}

/**
 * Where the user goes back to: the return URL with `<returnIDParam>=<chosen IdP>` added to its
 * query (which is left as the service wrote it), or unchanged when there is no choice.
 */
export function discoveryAnswer(request: Pick<DiscoveryRequest, 'returnUrl' | 'returnIdParam'>, idp?: string): string {
  if (idp === undefined) return request.returnUrl;
  const separator = request.returnUrl.includes('?') ? '&' : '?';
  return `${request.returnUrl}${separator}${encodeURIComponent(request.returnIdParam)}=${encodeURIComponent(idp)}`;
}

/** The request fedgate's SP sends to an external discovery service. */
export function externalDiscoveryUrl(service: string, opts: { entityId: string; returnUrl: string; returnIdParam: string }): string {
  const url = new URL(service);
  url.searchParams.set('entityID', opts.entityId);
  url.searchParams.set('return', opts.returnUrl);
  url.searchParams.set('returnIDParam', opts.returnIdParam);
  return url.toString();
}
