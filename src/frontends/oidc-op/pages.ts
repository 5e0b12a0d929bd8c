/**
 * The pages oidc-provider renders itself, in fedgate's look: errors that cannot go back to the
 * relying party (unknown client, unregistered redirect_uri, expired login), and the logout
 * confirmation and result. API endpoints keep oidc-provider's RFC-conformant JSON errors.
 */
import type { FastifyBaseLogger } from 'fastify';
import { errors, type ErrorOut, type OidcContext } from 'oidc-provider';
import {
  type FedgateError,
  MalformedRequestError,
  ResponseBuildError,
  UnknownLoginError,
  UnknownServiceProviderError,
  UnregisteredAcsUrlError,
} from '../../core/errors.js';
import { errorPage, referenceId } from '../../http/errors.js';
import { Html, html, page } from '../../http/html.js';

/** The fedgate error whose user message fits an OAuth error shown in the browser. */
function asFedgateError(out: ErrorOut, error: Error): FedgateError {
  const reason = `${out.error}: ${out.error_description ?? ''}`;
  if (error instanceof errors.SessionNotFound) return new UnknownLoginError(reason);
  switch (out.error) {
    case 'invalid_client':
      return new UnknownServiceProviderError(reason);
    case 'invalid_redirect_uri':
      return new UnregisteredAcsUrlError(reason);
    case 'server_error':
      return new ResponseBuildError(reason);
    default:
      return new MalformedRequestError(reason);
  }
}

export function pageRenderers(log: FastifyBaseLogger) {
  return {
    /** oidc-provider's `renderError`: the status is already set; the reason goes to the log under the page's reference. */
    async renderError(ctx: OidcContext, out: ErrorOut, error: Error): Promise<void> {
      const ref = referenceId();
      const known = asFedgateError(out, error);
      log.warn({ ref, code: known.code, reason: known.message, client: ctx.oidc?.client?.clientId }, 'OIDC request failed');
      ctx.type = 'html';
      ctx.body = errorPage(known, ref);
    },

    /** `features.rpInitiatedLogout.logoutSource`: `form` is oidc-provider's hidden form (xsrf token). */
    async logoutSource(ctx: OidcContext, form: string): Promise<void> {
      const client = ctx.oidc?.client;
      const from = client ? (client.clientName ?? client.clientId) : undefined;
      ctx.type = 'html';
      ctx.body = page({
        title: 'Log out',
        body: html`<h1>Log out</h1>
<p>${from ? `${from} asks to log you out.` : 'A service asks to log you out.'} Log out of this login service as well? The next service will then ask you to log in again.</p>
${new Html(form)}
<p><button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Log out</button>
<button type="submit" form="op.logoutForm" class="button" style="background:#fff;color:#0b5cad">Stay logged in</button></p>`,
      });
    },

    /** `features.rpInitiatedLogout.postLogoutSuccessSource`: shown when the client named no post_logout_redirect_uri. */
    async postLogoutSuccessSource(ctx: OidcContext): Promise<void> {
      ctx.type = 'html';
      ctx.body = page({ title: 'Logged out', body: html`<h1>You are logged out</h1><p>You can close this window.</p>` });
    },
  };
}
