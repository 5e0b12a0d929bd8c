/**
 * The one place where failures become responses: a FedgateError is shown as a page with its
 * user message and a reference id, and logged with its reason under the same id, so support can
 * find the cause from what the user reports.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FedgateError, MalformedRequestError, NotFoundError, PayloadTooLargeError } from '../core/errors.js';
import { html, page } from './html.js';

/** A short id a user can quote: base32-like, no ambiguous characters. */
export function referenceId(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(10)].map((b) => alphabet[b % alphabet.length]).join('');
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

function sendError(request: FastifyRequest, reply: FastifyReply, err: FastifyError | Error) {
  const ref = referenceId();
  const known = toFedgateError(err);
  if (known) {
    request.log.warn({ ref, code: known.code, reason: known.message }, 'request failed');
    return reply.code(known.httpStatus).type('text/html; charset=utf-8').send(errorPage(known, ref));
  }
  request.log.error({ ref, err }, 'unexpected error');
  const body = page({
    title: 'Internal error',
    body: html`<h1>Something went wrong</h1><p>fedgate hit an unexpected problem. Please try again.</p><p class="muted">Reference: <code>${ref}</code></p>`,
  });
  return reply.code(500).type('text/html; charset=utf-8').send(body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err as FastifyError));
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new NotFoundError(`${request.method} ${request.url.split('?')[0]} not found`)),
  );
}
