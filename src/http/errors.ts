/**
 * The one place where failures become responses: a FedgateError is shown as a page with its
 * user message and a reference id, and logged with its reason under the same id, so support can
 * find the cause from what the user reports.
 */
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  FedgateError,
  MalformedRequestError,
  NotFoundError,
  PayloadTooLargeError,
  RequestHeadersTooLargeError,
  RequestTimeoutError,
  TooManyRequestsError,
} from '../core/errors.js';
import { referenceId } from '../core/reference.js';
import { html, page } from './html.js';
import { SECURITY_HEADERS } from './security.js';

export { referenceId };

/** The login a request belongs to: its error page quotes the login's ref. */
interface RequestLogin {
  ref: string;
  /** The failure was already logged and counted (by src/http/operations.ts). */
  reported: boolean;
}

const requestLogins = new WeakMap<FastifyRequest, RequestLogin>();

/** Ties `request` to the login `ref`; true the first time, so callers bind the ref to the request's logger once. */
export function tagLogin(request: FastifyRequest, ref: string, reported = false): boolean {
  const known = requestLogins.get(request);
  requestLogins.set(request, { ref, reported: reported || (known?.reported ?? false) });
  return known === undefined;
}

export interface ErrorHandlingOptions {
  /** Told of every failure no one reported yet (logins refused before the flow knew them). */
  onUnreportedFailure?(request: FastifyRequest, error: unknown): void;
  /** Requests answered in JSON, as OAuth errors (RFC 6749 §5.2), rather than with a page. */
  wantsJson?(request: FastifyRequest): boolean;
}

/** Fastify's own errors (body limits, content types, bad URLs) in fedgate's terms. */
function toFedgateError(err: FastifyError | Error): FedgateError | undefined {
  if (err instanceof FedgateError) return err;
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new PayloadTooLargeError(err.message);
  const status = (err as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new MalformedRequestError(`${code ?? 'client error'}: ${err.message}`);
  return undefined;
}

export function errorPage(error: FedgateError, ref: string): string {
  const heading = error instanceof NotFoundError ? 'Page not found' : 'Sorry, the login did not work';
  return page({
    title: heading,
    body: html`<h1>${heading}</h1>
<p>${error.userMessage}</p>
<p class="muted">If this keeps happening, contact the service you came from and quote this reference: <code>${ref}</code>.</p>`,
  });
}

/**
 * The token endpoints' only Fastify-made error is the rate limit's: RFC 6749 §5.2 has no code
 * for it (temporarily_unavailable is the authorization endpoint's, slow_down only RFC 8628's
 * device polling, which cannot be told apart before the body is read), so invalid_request with
 * HTTP 429 and Retry-After.
 */
function oauthError(error: FedgateError | undefined, ref: string) {
  if (error && error.httpStatus < 500) {
    return { error: 'invalid_request', error_description: `${error instanceof TooManyRequestsError ? 'too many requests' : error.code} (reference ${ref})` };
  }
  return { error: 'server_error', error_description: `reference ${ref}` };
}

function sendError(request: FastifyRequest, reply: FastifyReply, err: FastifyError | Error, options: ErrorHandlingOptions) {
  const login = requestLogins.get(request);
  const ref = login?.ref ?? referenceId();
  const known = toFedgateError(err);
  // A tagged request's logger already carries the ref.
  const refField = login ? {} : { ref };
  if (!login?.reported) options.onUnreportedFailure?.(request, known ?? err);
  if (known instanceof TooManyRequestsError) reply.header('retry-after', String(known.retryAfterSeconds));
  if (options.wantsJson?.(request)) {
    if (!known) request.log.error({ ...refField, err }, 'unexpected error');
    return reply.code(known?.httpStatus ?? 500).header('cache-control', 'no-store').send(oauthError(known, ref));
  }
  if (known) {
    // Refused floods are counted (fedgate_rate_limited_total), not logged line by line.
    if (!login?.reported && !(known instanceof TooManyRequestsError)) request.log.warn({ ...refField, code: known.code, reason: known.message }, 'request failed');
    return reply.code(known.httpStatus).type('text/html; charset=utf-8').send(errorPage(known, ref));
  }
  request.log.error({ ...refField, err }, 'unexpected error');
  const body = page({
    title: 'Internal error',
    body: html`<h1>Something went wrong</h1><p>fedgate hit an unexpected problem. Please try again.</p><p class="muted">Reference: <code>${ref}</code></p>`,
  });
  return reply.code(500).type('text/html; charset=utf-8').send(body);
}

export function registerErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions = {}): void {
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err as FastifyError, options));
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new NotFoundError(`${request.method} ${request.url.split('?')[0]} not found`), options),
  );
}

/** What Node's HTTP parser refused, in fedgate's terms. */
function parserError(err: Error & { code?: string }): FedgateError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return new RequestHeadersTooLargeError(`request line and headers over the HTTP parser's limit (${err.code})`);
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new RequestTimeoutError(`the request did not arrive within the server's request timeout (${err.code})`);
  return new MalformedRequestError(`HTTP request the parser refused: ${err.code ?? err.message}`);
}

/**
 * Fastify's clientErrorHandler: requests Node's HTTP parser refuses before Fastify sees them (a
 * Redirect-binding URL over 16 kB, malformed HTTP, a request that never finishes) get fedgate's
 * error page with a reference id, logged with the reason, instead of Fastify's bare JSON. The
 * connection is closed afterwards: the parser cannot find the next request on it.
 */
export function clientErrorHandler(log: FastifyBaseLogger): (err: Error & { code?: string }, socket: Duplex) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const error = parserError(err);
    const ref = referenceId();
    if (error instanceof RequestTimeoutError) log.info({ ref, code: error.code, reason: error.message }, 'request refused');
    else log.warn({ ref, code: error.code, reason: error.message }, 'request refused');
    if (socket.writable) {
      const body = errorPage(error, ref);
      const headers = {
        ...SECURITY_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        connection: 'close',
      };
      const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      socket.write(`HTTP/1.1 ${error.httpStatus} ${STATUS_CODES[error.httpStatus] ?? ''}\r\n${head}\r\n${body}`);
    }
    socket.destroy();
  };
}
