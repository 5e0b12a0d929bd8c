/**
 * Rate limits per client address (Fastify's req.ip, so X-Forwarded-For counts only from trustProxy
 * addresses) on login and token endpoints and the discovery search API, with @fastify/rate-limit's
 * in-memory store: each instance counts on its own.
 *
 * One root onRequest hook applies the limits, rather than per-route options: the OIDC provider's
 * mount answers in an onRequest hook of its own encapsulated plugin and hijacks the reply, so a
 * route-level limit would never run there. Root hooks run before any plugin's, so this one sees
 * every request first. Over the limit it throws TooManyRequestsError: an HTML page on browser
 * endpoints, a JSON error on token endpoints and the search API (src/http/errors.ts), all 429
 * with Retry-After.
 */
import { isIPv4, isIPv6 } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperationsConfig } from '../config/schema.js';
import { TooManyRequestsError } from '../core/errors.js';
import type { EndpointKind, Endpoints } from './endpoints.js';
import type { Metrics } from './metrics.js';

type Limiter = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * The budget a client address counts against. An IPv4 client reaching a dual-stack listener shows
 * up as ::ffff:a.b.c.d and must share the budget of a.b.c.d; an IPv6 client usually holds a whole
 * /64 and could otherwise rotate addresses for a fresh budget per request.
 */
export function rateLimitKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped, embedded IPv4 tail converted). */
function expandIPv6(ip: string): string[] {
  let address = ip.split('%')[0]!.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    address = `${address.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => group.replace(/^0+(?=.)/, ''));
}

export async function registerRateLimits(
  app: FastifyInstance,
  config: OperationsConfig['rateLimits'],
  endpoints: Endpoints,
  metrics: Metrics | undefined,
): Promise<void> {
  await app.register(rateLimit, { global: false });
  const limiter = (kind: EndpointKind): Limiter => {
    const { max, windowSeconds } = config[kind];
    return app.rateLimit({
      max,
      timeWindow: windowSeconds * 1000,
      keyGenerator: (req) => rateLimitKey(req.ip),
      onExceeded: () => metrics?.limited(kind),
      errorResponseBuilder: (req, context) =>
        new TooManyRequestsError(`${rateLimitKey(req.ip)} exceeded ${context.max} ${kind} requests per ${windowSeconds} s`, Math.max(1, Math.ceil(context.ttl / 1000))),
    }) as Limiter;
  };
  const limiters: Record<EndpointKind, Limiter> = { login: limiter('login'), token: limiter('token'), search: limiter('search') };
  app.addHook('onRequest', async (req, reply) => {
    const endpoint = endpoints.classify(req);
    if (endpoint) await limiters[endpoint.kind](req, reply);
  });
}
