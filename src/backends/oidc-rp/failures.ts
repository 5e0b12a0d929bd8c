/**
 * What went wrong with an upstream OpenID / OAuth2 provider, as fedgate's typed errors.
 * openid-client raises its own: the provider's OAuth error responses, ClientError with an OAUTH_*
 * code for every check it makes, and fetch's TypeError when the network fails. Each becomes the
 * one FedgateError that tells the user what happened; the reason keeps the library's detail.
 */
import { AuthorizationResponseError, ClientError, ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';
import {
  ExpiredMessageError,
  FedgateError,
  InvalidSignatureError,
  MalformedResponseError,
  NoPassiveError,
  UnsolicitedResponseError,
  UpstreamAuthnFailedError,
  UpstreamUnavailableError,
  WrongAudienceError,
  WrongIssuerError,
} from '../../core/errors.js';

/** An error response at the redirect URI (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6). */
export function authorizationFailure(issuer: string, error: string, description?: string): FedgateError {
  const reason = `${issuer} answered the authorization request with ${error}${description ? `: ${description}` : ''}`;
  switch (error) {
    // OIDC Core §3.1.2.6: the answers to prompt=none when the user would have to interact.
    case 'login_required':
    case 'interaction_required':
    case 'consent_required':
    case 'account_selection_required':
      return new NoPassiveError(reason);
    case 'temporarily_unavailable':
      return new UpstreamUnavailableError(reason);
    default:
      return new UpstreamAuthnFailedError(reason);
  }
}

/**
 * The typed error for anything an upstream exchange threw; undefined for errors that are not
 * about the provider (a bug in fedgate), to be reported as the internal errors they are.
 */
export function upstreamFailure(err: unknown, issuer: string): FedgateError | undefined {
  if (err instanceof FedgateError) return err;
  if (err instanceof AuthorizationResponseError) return authorizationFailure(issuer, err.error, err.error_description);
  if (err instanceof ResponseBodyError) {
    const reason = `${issuer} answered HTTP ${err.status} ${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
    return err.status >= 500 || err.error === 'temporarily_unavailable' ? new UpstreamUnavailableError(reason) : new UpstreamAuthnFailedError(reason);
  }
  if (err instanceof WWWAuthenticateChallengeError) {
    return new UpstreamAuthnFailedError(`${issuer} refused fedgate's access token (HTTP ${err.status})`, { cause: err });
  }
  // Node's fetch: connection refused, reset, DNS, TLS.
  if (err instanceof TypeError && err.message === 'fetch failed') {
    return new UpstreamUnavailableError(`${issuer} cannot be reached: ${causeText(err)}`, { cause: err });
  }
  if (err instanceof ClientError) return clientFailure(err, issuer);
  return undefined;
}

function clientFailure(err: ClientError, issuer: string): FedgateError {
  const inner = err.cause instanceof Error ? err.cause.message : err.message;
  const reason = `${issuer}: ${inner} (${err.code ?? 'no code'})`;
  const details = detailsOf(err);
  const options = { cause: err };
  switch (err.code) {
    case 'OAUTH_TIMEOUT':
    case 'OAUTH_ABORT':
      return new UpstreamUnavailableError(`${issuer} did not answer in time`, options);
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM': {
      const status = err.cause instanceof Response ? err.cause.status : undefined;
      const what = `${issuer} answered with unexpected HTTP status ${status ?? '?'}`;
      return status !== undefined && status >= 500 ? new UpstreamUnavailableError(what, options) : new MalformedResponseError(what, options);
    }
    case 'OAUTH_RESPONSE_IS_NOT_JSON': {
      const type = err.cause instanceof Response ? err.cause.headers.get('content-type') : undefined;
      return new MalformedResponseError(`${issuer} answered with ${type ?? 'no content-type'} where JSON was expected`, options);
    }
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return new ExpiredMessageError(`${reason}; claim ${String(details.claim)}`, options);
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      if (details.claim === 'nonce') return new UnsolicitedResponseError(`${issuer} issued an ID token for another login (nonce mismatch)`, options);
      if (details.claim === 'iss') return new WrongIssuerError(reason, options);
      if (details.claim === 'aud' || details.claim === 'azp') return new WrongAudienceError(reason, options);
      return new MalformedResponseError(reason, options);
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
      return details.attribute === 'issuer' ? new WrongIssuerError(reason, options) : new MalformedResponseError(reason, options);
    case 'OAUTH_KEY_SELECTION_FAILED':
      return new InvalidSignatureError(`${issuer} signed with a key its JWKS does not publish: ${inner}`, options);
    case 'OAUTH_INVALID_RESPONSE': {
      if (/signature/i.test(inner)) return new InvalidSignatureError(reason, options);
      // Some providers (GitHub) send OAuth errors with HTTP 200.
      const body = details.body as { error?: unknown; error_description?: unknown } | undefined;
      if (typeof body?.error === 'string') {
        return new UpstreamAuthnFailedError(`${issuer} answered ${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}`, options);
      }
      if (/"iss"/.test(inner)) return new WrongIssuerError(reason, options);
      return new MalformedResponseError(reason, options);
    }
    default:
      return new MalformedResponseError(reason, options);
  }
}

/** The structured detail openid-client attaches (claim, attribute, body), one or two causes deep. */
function detailsOf(err: ClientError): Record<string, unknown> {
  let cause: unknown = err.cause;
  if (cause instanceof Error) cause = cause.cause;
  return cause && typeof cause === 'object' && !(cause instanceof Response) ? (cause as Record<string, unknown>) : {};
}

function causeText(err: Error): string {
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  return String(cause?.code ?? cause?.message ?? err.message);
}
