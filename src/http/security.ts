/**
 * Response headers every page gets. Scripts only from this origin (auto-POST and search are
 * static files), no framing (clickjacking of login forms), no referrer leaking SAML messages.
 */
import type { FastifyInstance } from 'fastify';
import { AUTO_SUBMIT_PATH, AUTO_SUBMIT_SCRIPT } from './html.js';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' https: data:; connect-src 'self'; form-action *; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      if (!reply.hasHeader(name)) reply.header(name, value);
    }
  });
  app.get(AUTO_SUBMIT_PATH, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(AUTO_SUBMIT_SCRIPT),
  );
}
