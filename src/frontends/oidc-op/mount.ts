/**
 * oidc-provider (a Koa app) inside Fastify: every request under the issuer path is handed to it
 * in an onRequest hook, before Fastify parses a body (oidc-provider reads the raw stream itself,
 * and Fastify would refuse content types it has no parser for). The reply is hijacked, so
 * Fastify's hooks and error pages stay out of the provider's answers.
 *
 * Only fedgate's interaction routes under the same path are Fastify's own: they are more
 * specific routes, and the hook lives in an encapsulated plugin that does not see them.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Provider } from 'oidc-provider';

export interface MountOptions {
  /** The issuer's path, e.g. "/oidc" (never empty: the provider must not swallow the whole server). */
  prefix: string;
  /** Fastify trusts X-Forwarded-* from configured proxies: the provider gets Fastify's verdict. */
  trustProxy: boolean;
}

export function mountProvider(app: FastifyInstance, provider: Provider, options: MountOptions): void {
  const callback = provider.callback();
  const { prefix } = options;

  async function handOver(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const raw = req.raw as IncomingMessage & { originalUrl?: string };
    const url = raw.url ?? '/';
    reply.hijack();
    if (!url.startsWith(prefix)) {
      // Matched through some encoding of the prefix: nothing of the provider's lives there.
      reply.raw.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found');
      return;
    }
    // oidc-provider derives its mount path from originalUrl; without it resumed requests lose their parameters.
    raw.originalUrl = url;
    const rest = url.slice(prefix.length);
    raw.url = rest.startsWith('/') ? rest : `/${rest}`;
    if (options.trustProxy) {
      // Koa's proxy mode trusts these headers from anyone; replace them with what Fastify accepted.
      raw.headers['x-forwarded-proto'] = req.protocol;
      raw.headers['x-forwarded-host'] = req.host;
      raw.headers['x-forwarded-for'] = req.ip;
    }
    await callback(raw, reply.raw);
  }

  void app.register(
    async (scope) => {
      scope.addHook('onRequest', handOver);
      // Never reached (the hook answers); the routes only make the hook run for these paths.
      const unreachable = async () => undefined;
      scope.all('/', unreachable);
      scope.all('/*', unreachable);
    },
    { prefix },
  );
}
