/**
 * The SSO session: after one upstream login, further services in the same browser are answered
 * without going upstream again. The cookie carries only a random identifier; the identity stays
 * in the store and expires with it.
 */
import { randomBytes } from 'node:crypto';
import '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from './model.js';
import type { Store } from '../store/store.js';

export interface SsoSession {
  id: string;
  identity: Identity;
  createdAt: string;
}

export interface SessionOptions {
  cookieName: string;
  ttlMs: number;
  secureCookies: boolean;
}

const sessionKey = (id: string) => `session:${id}`;
const SESSION_ID = /^[A-Za-z0-9_-]{20,64}$/;

export class SessionManager {
  constructor(
    private readonly store: Store,
    private readonly options: SessionOptions,
  ) {}

  /** The live session of this browser, if any. */
  async current(req: FastifyRequest): Promise<SsoSession | undefined> {
    const id = req.cookies[this.options.cookieName];
    if (!id || !SESSION_ID.test(id)) return undefined;
    const raw = await this.store.get(sessionKey(id));
    return raw ? (JSON.parse(raw) as SsoSession) : undefined;
  }

  /** Starts a new session for `identity`, replacing whatever the browser had. */
  async create(identity: Identity, reply: FastifyReply): Promise<SsoSession> {
    const session: SsoSession = { id: randomBytes(24).toString('base64url'), identity, createdAt: new Date().toISOString() };
    await this.store.set(sessionKey(session.id), JSON.stringify(session), this.options.ttlMs);
    reply.setCookie(this.options.cookieName, session.id, {
      path: '/',
      httpOnly: true,
      secure: this.options.secureCookies,
      // SAML services reach the SSO endpoint by cross-site POST too: over https the cookie must be
      // SameSite=None to come along. Plain http (the local demo) cannot have None, so Lax there.
      sameSite: this.options.secureCookies ? 'none' : 'lax',
      maxAge: Math.floor(this.options.ttlMs / 1000),
    });
    return session;
  }

  /**
   * Ends the session whose cookie value is `id`, for a protocol end that answers outside Fastify's
   * reply (the OpenID Provider's logout); it clears the cookie itself.
   */
  async end(id: string | undefined): Promise<void> {
    if (id && SESSION_ID.test(id)) await this.store.delete(sessionKey(id));
  }

  async destroy(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    await this.end(req.cookies[this.options.cookieName]);
    reply.clearCookie(this.options.cookieName, { path: '/' });
  }
}
