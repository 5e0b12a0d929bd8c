/**
 * Ties a login in progress to the browser that started it, so that a login started elsewhere
 * cannot be finished here (login CSRF: an attacker's valid upstream answer posted from the
 * victim's browser would give the victim a session under the attacker's identity), nor a leaked
 * login id be used to choose the upstream from another browser.
 *
 * The browser keeps one random id in a cookie, reused by every login it starts (several tabs may
 * have logins going at once); the store keeps only its hash beside each login.
 */
import { createHash, randomBytes } from 'node:crypto';
import '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface BrowserBindingOptions {
  /** session.loginCookieName; over https the cookie is sent as `__Host-<name>`. */
  cookieName: string;
  secureCookies: boolean;
  /** How long a login may take (session.flowTtlSeconds): the cookie outlives every login it binds. */
  ttlMs: number;
}

const BROWSER_ID = /^[A-Za-z0-9_-]{22}$/;
const digest = (id: string) => createHash('sha256').update(id).digest('base64url');

export class BrowserBinding {
  /** The cookie's full name. */
  readonly cookieName: string;
  /** Ids set during a request, for a login that finishes in the request that started it. */
  private readonly issued = new WeakMap<FastifyRequest, string>();

  constructor(private readonly options: BrowserBindingOptions) {
    // __Host-: only this origin over https can set it, so a sibling subdomain cannot plant an id it knows.
    this.cookieName = options.secureCookies ? `__Host-${options.cookieName}` : options.cookieName;
  }

  /** The hash to store with a login `req` starts; gives the browser its id, or extends the one it has. */
  bind(req: FastifyRequest, reply: FastifyReply): string {
    const id = this.browserId(req) ?? randomBytes(16).toString('base64url');
    this.issued.set(req, id);
    reply.setCookie(this.cookieName, id, {
      path: '/',
      httpOnly: true,
      secure: this.options.secureCookies,
      // The SAML ACS is a cross-site POST from the IdP: over https the cookie must be SameSite=None
      // to come along. Plain http (the local demo, its IdPs on the same host) cannot have None.
      sameSite: this.options.secureCookies ? 'none' : 'lax',
      maxAge: Math.ceil(this.options.ttlMs / 1000),
    });
    return digest(id);
  }

  /** Why `req` does not come from the browser whose hash is `bound`; undefined when it does. */
  mismatch(req: FastifyRequest, bound: string | undefined): string | undefined {
    if (!bound) return 'the login carries no browser binding';
    const id = this.browserId(req);
    if (!id) return `the request carries no ${this.cookieName} cookie`;
    // Hashes of a random id: comparing them in variable time tells nothing about the id.
    return digest(id) === bound ? undefined : `the ${this.cookieName} cookie is another browser's`;
  }

  private browserId(req: FastifyRequest): string | undefined {
    const id = this.issued.get(req) ?? req.cookies[this.cookieName];
    return id && BROWSER_ID.test(id) ? id : undefined;
  }
}
