/**
 * The small HTTP API through which an operator's tooling manages the stored group memberships:
 *
 *   PUT    /admin/groups/:userKey   body: JSON list of memberships (see membership.ts); replaces the list
 *   GET    /admin/groups/:userKey   → { userKey, memberships }
 *   DELETE /admin/groups/:userKey
 *
 * Every call needs `Authorization: Bearer <adminToken>`. Answers, errors included, are JSON: the
 * callers are scripts, not browsers.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { formatPath } from '../../../config/load.js';
import { FedgateError } from '../../../core/errors.js';
import { equivalenceKey } from '../urn.js';
import { membershipSchema, userKey as userKeySchema } from './membership.js';
import type { RedisGroupSource } from './redis-source.js';

export const ADMIN_GROUPS_PATH = '/admin/groups';
const REALM = 'Bearer realm="fedgate-admin"';

export interface GroupAdminApiOptions {
  source: RedisGroupSource;
  token: string;
  /** Namespace of memberships given as a group path. */
  namespace: string;
}

/** Hashing first gives both sides one length, so the comparison time says nothing about the token. */
function sameToken(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function bearerToken(request: FastifyRequest): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

function sendProblem(reply: FastifyReply, status: number, error: string, message: string, problems?: string[]) {
  return reply.code(status).type('application/json; charset=utf-8').send({ error, message, ...(problems ? { problems } : {}) });
}

export function registerGroupAdminApi(app: FastifyInstance, options: GroupAdminApiOptions): void {
  const body = z.array(membershipSchema(options.namespace));
  const { source, token } = options;

  app.register(
    async (scope) => {
      scope.setErrorHandler((err: FastifyError, request, reply) => {
        if (err instanceof FedgateError) {
          request.log.warn({ code: err.code, reason: err.message }, 'group admin API request failed');
          return sendProblem(reply, err.httpStatus, err.code, err.message);
        }
        if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
          return sendProblem(reply, err.statusCode, 'invalid_request', err.message);
        }
        request.log.error({ err }, 'group admin API: unexpected error');
        return sendProblem(reply, 500, 'internal_error', 'unexpected error; the fedgate log has the details');
      });
      scope.setNotFoundHandler((request, reply) =>
        sendProblem(reply, 404, 'not_found', `${request.method} ${request.url.split('?')[0]} is not part of the group admin API`),
      );
      // Before the body is read: an unauthenticated caller gets nothing parsed.
      scope.addHook('onRequest', async (request, reply) => {
        const given = bearerToken(request);
        if (given === undefined) {
          reply.header('WWW-Authenticate', REALM);
          return sendProblem(reply, 401, 'unauthorized', 'send Authorization: Bearer <admin token>');
        }
        if (!sameToken(given, token)) {
          reply.header('WWW-Authenticate', `${REALM}, error="invalid_token"`);
          return sendProblem(reply, 401, 'invalid_token', 'the admin token is not valid');
        }
        return undefined;
      });

      const userKeyOf = (request: FastifyRequest<{ Params: { userKey: string } }>, reply: FastifyReply) => {
        const parsed = userKeySchema.safeParse(request.params.userKey);
        if (parsed.success) return parsed.data;
        sendProblem(reply, 400, 'invalid_request', `user key: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        return undefined;
      };

      scope.get<{ Params: { userKey: string } }>('/:userKey', async (request, reply) => {
        const userKey = userKeyOf(request, reply);
        if (userKey === undefined) return reply;
        const memberships = await source.read(userKey);
        if (memberships === null) return sendProblem(reply, 404, 'not_found', `no groups are stored for ${userKey}`);
        return { userKey, memberships: memberships.map((m) => equivalenceKey(m)) };
      });

      scope.put<{ Params: { userKey: string } }>('/:userKey', async (request, reply) => {
        const userKey = userKeyOf(request, reply);
        if (userKey === undefined) return reply;
        const parsed = body.safeParse(request.body);
        if (!parsed.success) {
          const problems = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
          return sendProblem(reply, 400, 'invalid_request', 'the body must be a JSON list of valid group memberships', problems);
        }
        const memberships = await source.write(userKey, parsed.data);
        request.log.info({ userKey, memberships: memberships.length }, 'group memberships stored');
        return { userKey, memberships };
      });

      scope.delete<{ Params: { userKey: string } }>('/:userKey', async (request, reply) => {
        const userKey = userKeyOf(request, reply);
        if (userKey === undefined) return reply;
        await source.remove(userKey);
        request.log.info({ userKey }, 'group memberships deleted');
        return reply.code(204).send();
      });
    },
    { prefix: ADMIN_GROUPS_PATH },
  );
}
