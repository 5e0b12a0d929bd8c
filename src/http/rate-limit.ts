/**
 * Rate limits per client IP (Fastify's req.ip, so X-Forwarded-For counts only from trustProxy
 * addresses) on login and token endpoints, with @fastify/rate-limit's in-memory store: each
 * instance counts on its own.
 *
 * One root onRequest hook applies the limits, rather than per-route options: the OIDC provider's
 * mount answers in an onRequest hook of its own encapsulated plugin and hijacks the reply, so a
 * route-level limit would never run there. Root hooks run before any plugin's, so this one sees
 * every request first. Over the limit it throws TooManyRequestsError: an HTML page on browser
 * endpoints, an OAuth JSON error on token endpoints (src/http/errors.ts), both 429 with Retry-After.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperationsConfig } from '../config/schema.js';
import { TooManyRequestsError } from '../core/errors.js';
import type { Endpoints } from './endpoints.js';
import type { Metrics } from './metrics.js';

type Limiter = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

export async function registerRateLimits(
  app: FastifyInstance,
  config: OperationsConfig['rateLimits'],
  endpoints: Endpoints,
  metrics: Metrics | undefined,
): Promise<void> {
  await app.register(rateLimit, { global: false });
  const limiter = (kind: 'login' | 'token'): Limiter => {
    const { max, windowSeconds } = config[kind];
    return app.rateLimit({
      max,
      timeWindow: windowSeconds * 1000,
      onExceeded: () => metrics?.limited(kind),
      errorResponseBuilder: (req, context) =>
        new TooManyRequestsError(`${req.ip} exceeded ${context.max} ${kind} requests per ${windowSeconds} s`, Math.max(1, Math.ceil(context.ttl / 1000))),
    }) as Limiter;
  };
  const limiters = { login: limiter('login'), token: limiter('token') };
  app.addHook('onRequest', async (req, reply) => {
    const endpoint = endpoints.classify(req);
    if (endpoint) await limiters[endpoint.kind](req, reply);
  });
}
