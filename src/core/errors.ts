/**
 * Typed errors, one class per failure. Each carries once and for all how it is shown: the HTTP
 * status of the error page, the SAML status to answer a service with (when the service may be
 * answered at all), and a short message safe to show to a user. The reason (`message`) goes to
 * the log only.
 */

export const SAML_STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  versionMismatch: 'urn:oasis:names:tc:SAML:2.0:status:VersionMismatch',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
  noAuthnContext: 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext',
  noPassive: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
  requestDenied: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
  invalidNameIdPolicy: 'urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy',
  noAvailableIdp: 'urn:oasis:names:tc:SAML:2.0:status:NoAvailableIDP',
} as const;

export interface SamlStatus {
  top: string;
  second?: string;
}

export abstract class FedgateError extends Error {
  /** Stable machine name, used in logs and metrics. */
  abstract readonly code: string;
  /** HTTP status of the error page. */
  abstract readonly httpStatus: number;
  /** Text shown to the user: what went wrong, in their terms. */
  abstract readonly userMessage: string;
  /**
   * SAML status to send back to a downstream SP once its request was verified and its ACS is
   * known; undefined means the error is shown as a page only.
   */
  readonly samlStatus?: SamlStatus;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = new.target.name;
  }
}

// ---- Downstream requests (fedgate as IdP) ----

export class MalformedRequestError extends FedgateError {
  readonly code = 'malformed_request';
  readonly httpStatus = 400;
  readonly userMessage = 'The service sent a login request fedgate cannot read.';
}

export class UnknownServiceProviderError extends FedgateError {
  readonly code = 'unknown_service_provider';
  readonly httpStatus = 403;
  readonly userMessage = 'The service you came from is not registered with this login proxy.';
}

export class UnregisteredAcsUrlError extends FedgateError {
  readonly code = 'unregistered_acs_url';
  readonly httpStatus = 403;
  readonly userMessage =
    'The service asked for the answer to go to an address its registered metadata does not list.';
}

export class RequestSignatureRequiredError extends FedgateError {
  readonly code = 'request_signature_required';
  readonly httpStatus = 403;
  readonly userMessage = 'The service must sign its login requests, and this one was not signed.';
}

export class InvalidRequestSignatureError extends FedgateError {
  readonly code = 'invalid_request_signature';
  readonly httpStatus = 403;
  readonly userMessage = 'The signature on the service’s login request is not valid.';
}

/** A downstream request issued too long ago or in the future (beyond the clock skew). */
export class ExpiredRequestError extends FedgateError {
  readonly code = 'expired_request';
  readonly httpStatus = 400;
  readonly userMessage = 'The service’s login request is too old or not yet valid. Go back to the service and try again; if this keeps happening, a clock is wrong.';
}

/** The answer to a service could not be built, e.g. its metadata's encryption key is unusable. */
export class ResponseBuildError extends FedgateError {
  readonly code = 'response_build_failed';
  readonly httpStatus = 500;
  readonly userMessage = 'fedgate could not prepare its answer for the service. Please contact the service’s support.';
}

export class NoPassiveError extends FedgateError {
  readonly code = 'no_passive';
  readonly httpStatus = 400;
  readonly userMessage = 'The service asked for a login without interaction, and you have no session here.';
  override readonly samlStatus = { top: SAML_STATUS.responder, second: SAML_STATUS.noPassive };
}

export class UnsupportedNameIdFormatError extends FedgateError {
  readonly code = 'invalid_nameid_policy';
  readonly httpStatus = 400;
  readonly userMessage = 'The service asked for a kind of user identifier this proxy does not issue to it.';
  override readonly samlStatus = { top: SAML_STATUS.requester, second: SAML_STATUS.invalidNameIdPolicy };
}

// ---- Upstream responses (fedgate as SP) ----

export class MalformedResponseError extends FedgateError {
  readonly code = 'malformed_response';
  readonly httpStatus = 400;
  readonly userMessage = 'Your identity provider sent an answer fedgate cannot read.';
}

export class InvalidSignatureError extends FedgateError {
  readonly code = 'invalid_signature';
  readonly httpStatus = 403;
  readonly userMessage = 'The answer from your identity provider is not signed with a key it has registered.';
}

export class UnsignedResponseError extends FedgateError {
  readonly code = 'unsigned_response';
  readonly httpStatus = 403;
  readonly userMessage = 'The answer from your identity provider was not signed.';
}

export class ExpiredMessageError extends FedgateError {
  readonly code = 'expired';
  readonly httpStatus = 403;
  readonly userMessage = 'The answer from your identity provider has expired or is not yet valid. Check your clock and try again.';
}

export class WrongAudienceError extends FedgateError {
  readonly code = 'wrong_audience';
  readonly httpStatus = 403;
  readonly userMessage = 'The answer from your identity provider was meant for another service.';
}

export class WrongDestinationError extends FedgateError {
  readonly code = 'wrong_destination';
  readonly httpStatus = 403;
  readonly userMessage = 'The answer from your identity provider was addressed to another endpoint.';
}

export class WrongIssuerError extends FedgateError {
  readonly code = 'wrong_issuer';
  readonly httpStatus = 403;
  readonly userMessage = 'The answer came from a different identity provider than the one you were sent to.';
}

export class UnknownIdentityProviderError extends FedgateError {
  readonly code = 'unknown_identity_provider';
  readonly httpStatus = 403;
  readonly userMessage = 'That identity provider is not known to this login proxy.';
}

export class ReplayedMessageError extends FedgateError {
  readonly code = 'replayed';
  readonly httpStatus = 403;
  readonly userMessage = 'This answer was already used. Please start the login again from the service.';
}

export class UnsolicitedResponseError extends FedgateError {
  readonly code = 'unsolicited_response';
  readonly httpStatus = 403;
  readonly userMessage = 'fedgate received a login answer it did not ask for. Please start from the service.';
}

export class UnknownLoginError extends FedgateError {
  readonly code = 'unknown_login';
  readonly httpStatus = 400;
  readonly userMessage = 'This login is unknown or has expired. Please start again from the service.';
}

/**
 * A pending login acted on (its upstream's answer, its choice of upstream) by a browser other
 * than the one that started it, or by one that did not send back fedgate's login cookie (see
 * src/core/browser-binding.ts). The login stays pending for its own browser.
 */
export class LoginFromAnotherBrowserError extends FedgateError {
  readonly code = 'login_from_another_browser';
  readonly httpStatus = 403;
  readonly userMessage =
    'This login was started in another browser or tab that fedgate cannot see, or your browser blocked fedgate’s cookie. Go back to the service and start again.';
}

export class UpstreamAuthnFailedError extends FedgateError {
  readonly code = 'upstream_failed';
  readonly httpStatus = 502;
  readonly userMessage = 'Your identity provider did not log you in.';
  override readonly samlStatus = { top: SAML_STATUS.responder, second: SAML_STATUS.authnFailed };
}

/**
 * An upstream provider that cannot be reached (network, timeout, 5xx, discovery not yet done). No
 * SAML status: the user is shown the page and may go back and choose another provider.
 */
export class UpstreamUnavailableError extends FedgateError {
  readonly code = 'upstream_unavailable';
  readonly httpStatus = 503;
  readonly userMessage = 'Your identity provider cannot be reached right now. Please try again in a few minutes, or go back and choose another way to log in.';
}

// ---- Proxy state and policy ----

/** A discovery choice outside the per-service filter (discovery.filters) of the requesting service. */
export class UpstreamNotAllowedError extends FedgateError {
  readonly code = 'upstream_not_allowed';
  readonly httpStatus = 403;
  readonly userMessage = 'This service does not accept logins from that identity provider. Please go back and choose another one.';
}

/**
 * An IdP Discovery Service request whose `return` URL is not among the idpdisc:DiscoveryResponse
 * locations in the service's verified metadata (open-redirect defence): no redirect is made.
 */
export class UnregisteredDiscoveryResponseError extends FedgateError {
  readonly code = 'unregistered_discovery_response';
  readonly httpStatus = 403;
  readonly userMessage = 'The service asked for your choice of identity provider to be sent to an address its registered metadata does not list.';
}

export class NoUpstreamAvailableError extends FedgateError {
  readonly code = 'no_upstream';
  readonly httpStatus = 400;
  readonly userMessage = 'No identity provider is available for this service.';
  override readonly samlStatus = { top: SAML_STATUS.responder, second: SAML_STATUS.noAvailableIdp };
}

export class LoginDeniedError extends FedgateError {
  readonly code = 'login_denied';
  readonly httpStatus = 403;
  readonly userMessage: string;
  override readonly samlStatus = { top: SAML_STATUS.responder, second: SAML_STATUS.requestDenied };
  constructor(reason: string, userMessage: string) {
    super(reason);
    this.userMessage = userMessage;
  }
}

/** The upstream released no identifier stable enough to derive the community user ID from. */
export class NoUsableIdentifierError extends FedgateError {
  readonly code = 'no_usable_identifier';
  readonly httpStatus = 403;
  readonly userMessage =
    'Your organisation did not release a persistent identifier for you, so services cannot recognise you from one login to the next. ' +
    'Please contact your organisation’s IT helpdesk and ask them to release a persistent identifier (subject-id or pairwise-id) to this login service.';
  // No samlStatus on purpose: only this page tells the user what to ask their organisation for;
  // a service receiving RequestDenied would show a generic error instead.
}

/**
 * The service requires a higher authentication level or more identity assurance than this login
 * has (spec/assurance.md §5 rule 6); the message, built from the facts, says which and what to do.
 */
export class AssuranceTooLowError extends FedgateError {
  readonly code = 'assurance_too_low';
  readonly httpStatus = 403;
  readonly userMessage: string;
  // No samlStatus on purpose (issue: "denies the login with a page that tells the user why and
  // what to do"): a service answered with NoAuthnContext would show its own generic error.
  constructor(reason: string, userMessage: string) {
    super(reason);
    this.userMessage = userMessage;
  }
}

export class StoreUnavailableError extends FedgateError {
  readonly code = 'store_unavailable';
  readonly httpStatus = 503;
  readonly userMessage = 'The login service is temporarily unavailable. Please try again in a minute.';
}

/** The group source of the entitlements filter did not answer, and it is configured to fail closed. */
export class GroupSourceUnavailableError extends FedgateError {
  readonly code = 'group_source_unavailable';
  readonly httpStatus = 503;
  readonly userMessage = 'Your group memberships cannot be looked up right now, so the login cannot continue. Please try again in a few minutes.';
}

/** A client sent more requests than the configured rate limit allows (src/http/rate-limit.ts). */
export class TooManyRequestsError extends FedgateError {
  readonly code = 'too_many_requests';
  readonly httpStatus = 429;
  readonly userMessage = 'Too many login attempts from your network. Please wait a minute and try again.';
  constructor(
    reason: string,
    /** Seconds until the limit resets, sent as Retry-After. */
    readonly retryAfterSeconds: number,
  ) {
    super(reason);
  }
}

/** A client address outside an allow list (e.g. the metrics endpoint's). */
export class AddressNotAllowedError extends FedgateError {
  readonly code = 'address_not_allowed';
  readonly httpStatus = 403;
  readonly userMessage = 'This page is not available from your network.';
}

export class PayloadTooLargeError extends FedgateError {
  readonly code = 'payload_too_large';
  readonly httpStatus = 413;
  readonly userMessage = 'The message is too large.';
}

/** A URL or headers longer than Node's HTTP parser accepts (16 kB): a Redirect-binding message far beyond any real AuthnRequest. */
export class RequestHeadersTooLargeError extends FedgateError {
  readonly code = 'request_headers_too_large';
  readonly httpStatus = 431;
  readonly userMessage = 'The request is too long for fedgate to read: its address or its cookies are too large.';
}

/** The browser did not finish sending its request in time (server.requestTimeout of Node's HTTP server). */
export class RequestTimeoutError extends FedgateError {
  readonly code = 'request_timeout';
  readonly httpStatus = 408;
  readonly userMessage = 'The request took too long to arrive. Please try again.';
}

export class NotFoundError extends FedgateError {
  readonly code = 'not_found';
  readonly httpStatus = 404;
  readonly userMessage = 'There is nothing at this address.';
}

export class ConfigError extends Error {
  /** One line per problem, each naming the key path. */
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/**
 * What the configuration names cannot be used right now (a metadata URL down with no usable
 * backing copy, say): the process does not start. One line naming the configuration key; exit status 1.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** A command-line argument or input file the CLI cannot use; printed as one line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export class NoAuthnContextError extends FedgateError {
  readonly code = 'no_authn_context';
  readonly httpStatus = 403;
  readonly userMessage = 'Your login does not meet the authentication level the service requires.';
  override readonly samlStatus = { top: SAML_STATUS.responder, second: SAML_STATUS.noAuthnContext };
}

// ---- SAML metadata ----

/** A metadata document that must not be used: unreadable, unsigned, wrongly signed or out of date. */
export class InvalidMetadataError extends FedgateError {
  readonly code = 'invalid_metadata';
  readonly httpStatus = 500;
  readonly userMessage = 'The login service could not load the registry of trusted services. Please try again later.';
}

/** A metadata source that could not be read or fetched (file missing, network, HTTP status). */
export class MetadataUnavailableError extends FedgateError {
  readonly code = 'metadata_unavailable';
  readonly httpStatus = 503;
  readonly userMessage = 'The login service could not load the registry of trusted services. Please try again later.';
}
