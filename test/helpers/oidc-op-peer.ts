/**
 * An upstream OpenID Provider for tests: panva's oidc-provider 9 in the test process, on
 * http://127.0.0.1:<port>, with one client (fedgate) and one test user. Its interaction logs the
 * test user in at once (or refuses, when told to), so a browser passes through without forms.
 *
 * It can misbehave on purpose, the way a broken or hostile provider would: rewrite or re-sign the
 * ID token it issues (expired, other nonce, signed by a key it never published), answer the
 * token request with garbage, or hang at an endpoint (take the request, never answer). It records
 * every authorization request it receives.
 *
 * oidc-provider warns "Unsupported runtime" on Node 20; that is expected.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, decodeJwt, decodeProtectedHeader, type JWK, type CryptoKey } from 'jose';
// Typed by src/frontends/oidc-op/oidc-provider.d.ts (the library ships no declarations).
import Provider from 'oidc-provider';

export interface OpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

/** fedgate as a client of a test provider, for its upstream `providerId` (secret `op-secret`, as the tests configure it). */
export function fedgateAsClient(fedgateUrl: string, providerId: string): OpClient {
  return { client_id: 'fedgate', client_secret: 'op-secret', redirect_uris: [`${fedgateUrl}/oidc/rp/callback/${providerId}`] };
}

export interface OpUser {
  /** The subject (accountId). */
  sub: string;
  /** Claims released by scope: openid → sub; profile → name, given_name, …; email → email, email_verified. */
  claims: Record<string, unknown>;
  /** What the interaction reports as the authentication: becomes acr (when requested) and amr. */
  acr?: string;
  amr?: string[];
}

export interface OidcOpPeerOptions {
  /** Port to listen on; known before start so fedgate can be configured with the issuer first. */
  port?: number;
  clients: OpClient[];
  user: OpUser;
  /** acr values the provider supports (oidc-provider only asserts acr values listed here). */
  acrValues?: string[];
}

/** Endpoints that can be made to hang. */
export type PeerEndpoint = 'discovery' | 'token' | 'userinfo';
const ENDPOINT_PATHS: Record<PeerEndpoint, string> = { discovery: '/.well-known/openid-configuration', token: '/token', userinfo: '/me' };

/** How the token endpoint misbehaves; `undefined` means it behaves. */
export type TokenTamper =
  | { kind: 'garbage'; body: string; contentType: string; status?: number }
  | { kind: 'idToken'; claims?: (claims: Record<string, unknown>) => Record<string, unknown>; key?: 'wrong' | 'wrong-same-kid' };

export interface OidcOpPeer {
  issuer: string;
  /** The query of every authorization request received, in order. */
  readonly authorizations: URLSearchParams[];
  /** Refuse the next logins with access_denied at the interaction. */
  deny: boolean;
  /** Misbehave at the token endpoint from now on. */
  tamper: TokenTamper | undefined;
  /** Endpoints that from now on accept a request and never answer it (the connection stays open until close). */
  readonly hung: Set<PeerEndpoint>;
  close(): Promise<void>;
}

const SIGNING_KID = 'peer-signing-key';

async function rsaKey(): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, jwk: await exportJWK(privateKey) };
}

export async function startOidcOpPeer(options: OidcOpPeerOptions): Promise<OidcOpPeer> {
  const signing = await rsaKey();
  const stranger = await rsaKey();
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const { user } = options;

  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      ...c,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    async findAccount(_ctx: unknown, sub: string) {
      if (sub !== user.sub) return undefined;
      return { accountId: sub, claims: async () => ({ ...user.claims, sub }) };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
      entitlements: ['eduperson_entitlement'],
    },
    acrValues: options.acrValues ?? [],
    jwks: { keys: [{ ...signing.jwk, kid: SIGNING_KID, alg: 'RS256', use: 'sig' }] },
    cookies: { keys: ['oidc-op-peer-cookie-key'] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
  });

  const peer: OidcOpPeer = {
    issuer,
    authorizations: [],
    deny: false,
    tamper: undefined,
    hung: new Set(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  provider.use(async (ctx, next) => {
    await next();
    const tamper = peer.tamper;
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200 || !tamper) return;
    if (tamper.kind === 'garbage') {
      ctx.status = tamper.status ?? 200;
      ctx.type = tamper.contentType;
      ctx.body = tamper.body;
      return;
    }
    const body = ctx.body as { id_token?: string };
    if (!body.id_token) return;
    const claims = (tamper.claims ?? ((c) => c))(decodeJwt(body.id_token) as Record<string, unknown>);
    const { alg } = decodeProtectedHeader(body.id_token);
    const key = tamper.key ? stranger.privateKey : signing.privateKey;
    const kid = tamper.key === 'wrong' ? 'never-published' : SIGNING_KID;
    body.id_token = await new SignJWT(claims).setProtectedHeader({ alg: alg ?? 'RS256', kid }).sign(key);
  });

  const handle = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    if ([...peer.hung].some((endpoint) => ENDPOINT_PATHS[endpoint] === url.pathname)) return;
    if (url.pathname === '/auth') peer.authorizations.push(url.searchParams);
    if (url.pathname.startsWith('/interaction/')) {
      interact(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`interaction failed: ${String(err)}`);
      });
      return;
    }
    void handle(req, res);
  });

  /** Logs the test user in (or refuses) and grants what the client asked for, without a form. */
  async function interact(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (peer.deny) {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user declined' }, { mergeWithLastSubmission: false });
    }
    if (details.prompt.name === 'login') {
      const login = { accountId: user.sub, ...(user.acr ? { acr: user.acr } : {}), ...(user.amr ? { amr: user.amr } : {}) };
      return provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
    }
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId: details.session?.accountId ?? user.sub, clientId: String(details.params.client_id) });
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
  }

  return peer;
}
