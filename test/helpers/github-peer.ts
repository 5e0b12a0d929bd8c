/**
 * A stand-in for GitHub's OAuth2 endpoints and the two REST API calls fedgate makes, on
 * http://127.0.0.1:<port>, speaking the shapes GitHub documents:
 *
 *   GET  /login/oauth/authorize?client_id&redirect_uri&scope&state[&code_challenge&code_challenge_method=S256]
 *        → 302 <redirect_uri>?code=<code>&state=<state>
 *          (denied: <redirect_uri>?error=access_denied&error_description=…&error_uri=…&state=<state>)
 *   POST /login/oauth/access_token   (form: client_id, client_secret, code, redirect_uri[, code_verifier];
 *                                     Accept: application/json)
 *        → 200 {"access_token":"gho_…","token_type":"bearer","scope":"read:user,user:email"}
 *        → errors ALSO with 200: {"error":"bad_verification_code","error_description":"…","error_uri":"…"}
 *   GET  /api/user          (Authorization: Bearer <token>)
 *        → 200 {"login":"octocat","id":583231,"node_id":"MDQ6VXNlcjU4MzIzMQ==","name":"The Octocat","email":null,…}
 *   GET  /api/user/emails   (Authorization: Bearer <token>; scope user:email)
 *        → 200 [{"email":"octocat@github.com","primary":true,"verified":true,"visibility":"public"},…]
 *   Bad or missing token → 401 {"message":"Bad credentials","documentation_url":"…"}
 *
 * The API lives under /api here (api.github.com serves it at the root); fedgate's `endpoints.api`
 * points at it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface GithubUser {
  id: number;
  login: string;
  name: string | null;
  emails: { email: string; primary: boolean; verified: boolean; visibility: 'public' | 'private' | null }[];
}

export interface GithubPeer {
  base: string;
  /** fedgate's `endpoints` for the github preset. */
  endpoints: { authorization: string; token: string; api: string };
  /** Refuse the next authorizations (the user clicked Cancel). */
  deny: boolean;
  /** Answer the token request with this OAuth error, with HTTP 200 as GitHub does. */
  tokenError: string | undefined;
  /** What the authorize endpoint received, in order. */
  readonly authorizations: URLSearchParams[];
  close(): Promise<void>;
}

export async function startGithubPeer(options: { clientId: string; clientSecret: string; user: GithubUser }): Promise<GithubPeer> {
  const codes = new Map<string, { redirectUri: string; challenge?: string }>();
  const tokens = new Set<string>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => json(res, 500, { message: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const { user } = options;

  const peer: GithubPeer = {
    base,
    endpoints: { authorization: `${base}/login/oauth/authorize`, token: `${base}/login/oauth/access_token`, api: `${base}/api` },
    deny: false,
    tokenError: undefined,
    authorizations: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  function json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  }

  async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
    let body = '';
    for await (const chunk of req) body += (chunk as Buffer).toString();
    return new URLSearchParams(body);
  }

  function authorized(req: IncomingMessage): boolean {
    const m = /^(?:Bearer|token) (.+)$/.exec(req.headers.authorization ?? '');
    return !!m?.[1] && tokens.has(m[1]);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const q = url.searchParams;
      peer.authorizations.push(q);
      const redirectUri = q.get('redirect_uri');
      if (q.get('client_id') !== options.clientId || !redirectUri) return json(res, 404, { message: 'Not Found' });
      const back = new URL(redirectUri);
      if (peer.deny) {
        back.searchParams.set('error', 'access_denied');
        back.searchParams.set('error_description', 'The user has denied your application access.');
        back.searchParams.set('error_uri', 'https://docs.github.com/apps/troubleshooting-authorization-request-errors/#access-denied');
      } else {
        const code = randomBytes(10).toString('hex');
        const challenge = q.get('code_challenge_method') === 'S256' ? (q.get('code_challenge') ?? undefined) : undefined;
        codes.set(code, { redirectUri, ...(challenge ? { challenge } : {}) });
        back.searchParams.set('code', code);
      }
      const state = q.get('state');
      if (state) back.searchParams.set('state', state);
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const form = await readForm(req);
      const error = (code: string, description: string) =>
        json(res, 200, { error: code, error_description: description, error_uri: 'https://docs.github.com/apps/troubleshooting-oauth-app-access-token-request-errors' });
      if (peer.tokenError) return error(peer.tokenError, 'The code passed is incorrect or expired.');
      if (form.get('client_id') !== options.clientId || form.get('client_secret') !== options.clientSecret) {
        return error('incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
      }
      const grant = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (!grant || grant.redirectUri !== form.get('redirect_uri')) return error('bad_verification_code', 'The code passed is incorrect or expired.');
      if (grant.challenge) {
        const computed = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
        if (computed !== grant.challenge) return error('bad_verification_code', 'The code_verifier does not match the code_challenge.');
      }
      const token = `gho_${randomBytes(18).toString('hex')}`;
      tokens.add(token);
      return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    if (req.method === 'GET' && (url.pathname === '/api/user' || url.pathname === '/api/user/emails')) {
      if (!authorized(req)) return json(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      if (url.pathname === '/api/user/emails') return json(res, 200, user.emails);
      const publicEmail = user.emails.find((e) => e.visibility === 'public')?.email ?? null;
      return json(res, 200, {
        login: user.login,
        id: user.id,
        node_id: Buffer.from(`04:User${user.id}`).toString('base64'),
        avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
        type: 'User',
        name: user.name,
        email: publicEmail,
      });
    }
    return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  }

  return peer;
}
