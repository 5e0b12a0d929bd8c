/**
 * A real LoginFlow for tests of one protocol end: in-memory sessions, no pipeline filters, and in
 * place of discovery's page a redirect to /discovery?login=<id> that accepts every upstream.
 */
import { BrowserBinding } from '../../src/core/browser-binding.js';
import { LoginFlow, type Backend, type Frontend } from '../../src/core/flow.js';
import { SessionManager } from '../../src/core/session.js';
import type { Store } from '../../src/store/store.js';

export function testLoginFlow(store: Store, parts: { frontends: Frontend[]; backends: Backend[]; flowTtlMs?: number }): LoginFlow {
  const flowTtlMs = parts.flowTtlMs ?? 600_000;
  const flow = new LoginFlow({
    store,
    sessions: new SessionManager(store, { cookieName: 'fedgate_session', ttlMs: 3_600_000, secureCookies: false }),
    browsers: new BrowserBinding({ cookieName: 'fedgate_login', secureCookies: false, ttlMs: flowTtlMs }),
    pipeline: { run: async (identity) => identity },
    frontends: parts.frontends,
    backends: parts.backends,
    flowTtlMs,
  });
  flow.chooseUpstreamsWith({
    present: async (login, _req, reply) => reply.redirect(`/discovery?login=${encodeURIComponent(login.id)}`, 302),
    accepts: () => true,
  });
  return flow;
}
