/** Sending a SAML Response through the browser with the HTTP-POST binding (SAML bindings §3.5). */
import type { FastifyReply } from 'fastify';
import { autoPostPage } from '../../http/html.js';

/** `acsUrl` must come from the SP's verified metadata. */
export function postResponse(reply: FastifyReply, acsUrl: string, SAMLResponse: string, RelayState: string | undefined): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(autoPostPage(acsUrl, { SAMLResponse, RelayState }, 'Returning to the service…'));
}
