/**
 * fedgate as an OpenID Provider to downstream relying parties, on panva's oidc-provider: the
 * provider does the protocol (discovery, JWKS, authorization, token, userinfo, introspection,
 * revocation, logout, registration); whenever it needs a user it sends the browser to fedgate's
 * interaction route, which hands the login to the flow (discovery → upstream → pipeline), and
 * the released identity comes back through `respond`.
 *
 * Finishing happens in a second request to the interaction route: `respond` runs in whatever
 * request ends the flow (an upstream's answer, say), which does not carry the provider's
 * interaction cookie. Only the browser holding that cookie — the one that started the
 * authorization — can finish it, so a login cannot be slipped into someone else's authorization.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Provider, { errors, type InteractionDetails } from 'oidc-provider';
import type { Config } from '../../config/schema.js';
import {
  ConfigError,
  type FedgateError,
  LoginDeniedError,
  MalformedRequestError,
  NoAuthnContextError,
  NoPassiveError,
  NoUpstreamAvailableError,
  UnknownLoginError,
  UnknownServiceProviderError,
  UpstreamAuthnFailedError,
} from '../../core/errors.js';
import type { Frontend, LoginFlow } from '../../core/flow.js';
import type { AuthnRequest, Identity } from '../../core/model.js';
import type { ServiceRegistration } from '../../core/registration.js';
import type { SessionManager } from '../../core/session.js';
import { loadOrCreateSecret } from '../../crypto/keys.js';
import { REFEDS_MFA } from '../../pipeline/assurance-vocabulary.js';
import type { Store } from '../../store/store.js';
import { parseIdpHint } from '../saml-idp/query.js';
import { accountIdOf, claimsOf } from './claims.js';
import { DEVICE_CODE_GRANT, issuerOf, type OidcClientConfig, type OidcFrontendConfig } from './config.js';
import type { OidcOpExtension } from './extensions.js';
import { EXTENSIONS } from './grants/index.js';
import { loadSigningKeys } from './keys.js';
import { mountProvider } from './mount.js';
import { createProvider } from './provider.js';
import { ReleaseStore } from './releases.js';

export interface OidcOpFrontendOptions {
  config: Config;
  store: Store;
  sessions: SessionManager;
  /** The deployment's identifier salt: account ids without a community ID, pairwise subjects. */
  identifierSalt: string;
  log: FastifyBaseLogger;
  /** Default: every extension in grants/index.ts. */
  extensions?: readonly OidcOpExtension[];
  /** Clients fedgate itself brings (the demo's), added to the configured ones. */
  extraClients?: readonly OidcClientConfig[];
}

/** What the frontend keeps in AuthnRequest.frontendState; `scopes` is read by the release policy. */
interface OidcFrontendState {
  uid: string;
  /** Requested scopes plus those the client's grant already holds: the release covers all its tokens. */
  scopes: string[];
  /** The `claims` request parameter, when given. */
  claims?: ClaimsRequest;
}

type ClaimsRequest = Partial<Record<'userinfo' | 'id_token', Record<string, { essential?: boolean; value?: unknown; values?: unknown } | null>>>;

/** How the flow ended, kept until the browser comes back to finish the interaction. */
type Outcome =
  | { kind: 'login'; accountId: string; acr?: string; amr?: string[]; authTime?: number; claims: Record<string, unknown> }
  | { kind: 'error'; error: string; description: string };

const UID = /^[A-Za-z0-9_-]{1,64}$/;
/** oidc-provider 9's descriptions of a token or device authorization request for a grant type the client was not given. */
const GRANT_TYPE_NOT_ALLOWED = new Set(['requested grant type is not allowed for this client', `${DEVICE_CODE_GRANT} is not allowed for this client`]);
/** oidc-provider 9's description of a token, introspection or revocation request without client authentication. */
const NO_CLIENT_AUTH = 'no client authentication mechanism provided';
const outcomeKey = (uid: string) => `oidc-op:outcome:${uid}`;

function stateOf(request: AuthnRequest): OidcFrontendState | undefined {
  const s = request.frontendState;
  const ok = typeof s.uid === 'string' && Array.isArray(s.scopes) && s.scopes.every((x) => typeof x === 'string');
  return ok ? (s as unknown as OidcFrontendState) : undefined;
}

function parseClaimsRequest(value: unknown): ClaimsRequest | undefined {
  if (typeof value !== 'string') return undefined;
  // oidc-provider has validated it as a JSON object before the interaction began.
  return JSON.parse(value) as ClaimsRequest;
}

const strings = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The acr values named by `acr_values` or the claims request, in the order given. */
function requestedAcrs(acrValues: unknown, claims: ClaimsRequest | undefined): string[] {
  const acr = claims?.id_token?.acr;
  const fromClaims = acr ? [...strings(acr.value), ...strings(acr.values)] : [];
  return [...new Set([...(typeof acrValues === 'string' ? acrValues.split(' ').filter(Boolean) : []), ...fromClaims])];
}

/** Acr values the client marked essential: a login without one of them must not be answered. */
function essentialAcrs(claims: ClaimsRequest | undefined): string[] {
  const acr = claims?.id_token?.acr;
  return acr?.essential ? [...strings(acr.value), ...strings(acr.values)] : [];
}

/** Names of the claims the claims request asks for, to be granted with the scopes. */
function requestedClaimNames(claims: ClaimsRequest | undefined): string[] {
  return [...new Set([...Object.keys(claims?.userinfo ?? {}), ...Object.keys(claims?.id_token ?? {})])];
}

/**
 * The OAuth error a relying party is sent for a failed login (spec/oidc.md §2), or undefined when
 * the user is shown fedgate's page instead: advice only fedgate can give (assurance, identifiers)
 * or trouble the user may retry (an unreachable upstream, an expired login).
 */
function oauthError(error: FedgateError): string | undefined {
  if (error instanceof NoPassiveError) return 'login_required';
  if (error instanceof NoAuthnContextError) return 'unmet_authentication_requirements';
  if (error instanceof UpstreamAuthnFailedError || error instanceof LoginDeniedError || error instanceof NoUpstreamAvailableError) return 'access_denied';
  return undefined;
}

function epochSeconds(instant: string): number | undefined {
  const ms = Date.parse(instant);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** The issuer's path, where the provider is mounted: the issuer must live under baseUrl's origin, below its root. */
function mountPrefix(issuer: string, baseUrl: string): string {
  const url = new URL(issuer);
  const prefix = url.pathname.replace(/\/+$/, '');
  if (url.origin !== new URL(baseUrl).origin || prefix === '' || url.search !== '') {
    throw new ConfigError([`frontends.oidc.issuer: must be server.baseUrl's origin plus a path, e.g. ${baseUrl}/oidc (got ${issuer})`]);
  }
  return prefix;
}

/** Fastify trusts X-Forwarded-* from the configured proxies; the provider follows its verdict. */
const trustsProxy = (config: Config) => config.server.trustProxy.length > 0;

function withExtraClients(oidc: OidcFrontendConfig, extra: readonly OidcClientConfig[]): OidcFrontendConfig {
  const taken = new Set([...oidc.clients.map((c) => c.clientId), ...oidc.resourceServers.map((r) => r.id)]);
  const clash = extra.find((c) => taken.has(c.clientId));
  if (clash) throw new ConfigError([`frontends.oidc.clients: ${clash.clientId} is reserved for fedgate's own client`]);
  return { ...oidc, clients: [...oidc.clients, ...extra] };
}

export class OidcOpFrontend implements Frontend {
  readonly name = 'oidc-op';
  private readonly interactionPath: string;

  private constructor(
    private readonly options: OidcOpFrontendOptions,
    readonly issuer: string,
    /** Where the provider is mounted: the issuer's path. */
    private readonly prefix: string,
    readonly provider: Provider,
    readonly releases: ReleaseStore,
  ) {
    this.interactionPath = `${prefix}/interaction`;
  }

  static async create(options: OidcOpFrontendOptions): Promise<OidcOpFrontend> {
    const { config, store, log } = options;
    const oidc = withExtraClients(config.frontends.oidc, options.extraClients ?? []);
    const issuer = issuerOf(oidc, config.server.baseUrl);
    const prefix = mountPrefix(issuer, config.server.baseUrl);
    const releases = new ReleaseStore(store, (oidc.ttl.Grant + oidc.ttl.AccessToken) * 1000);
    const provider = createProvider(
      {
        issuer,
        config: oidc,
        store,
        releases,
        log,
        signing: await loadSigningKeys(oidc, config.dataDir),
        cookieKeys: oidc.cookieKeys ?? [loadOrCreateSecret(config.dataDir, 'oidc-cookie-key')],
        pairwiseSalt: options.identifierSalt,
        interactionPath: `${prefix}/interaction`,
        trustProxy: trustsProxy(config),
      },
      options.extensions ?? EXTENSIONS,
    );
    const frontend = new OidcOpFrontend(options, issuer, prefix, provider, releases);
    frontend.watch(provider);
    return frontend;
  }

  /** Logs what the provider does not answer itself, and ends fedgate's session on RP-initiated logout. */
  private watch(provider: Provider): void {
    const { log, sessions, config } = this.options;
    const cookieName = config.session.cookieName;
    provider.on('server_error', (ctx, err) => log.error({ err, route: ctx.oidc?.route }, 'OIDC provider error'));
    provider.on('error', (err) => log.error({ err }, 'OIDC provider error'));
    provider.on('grant.error', (ctx, err) => {
      // error_detail is what oidc-provider keeps from the client (why authentication failed, say).
      const e = err as { error?: string; error_description?: string; error_detail?: string };
      log.info({ error: e.error, reason: e.error_description, detail: e.error_detail, client: ctx.oidc?.client?.clientId }, 'OIDC token request refused');
    });
    provider.use(async (ctx, next) => {
      await next();
      for (const [name, value] of [
        ['x-content-type-options', 'nosniff'],
        ['x-frame-options', 'DENY'],
        ['referrer-policy', 'no-referrer'],
      ] as const) {
        if (!ctx.response.get(name)) ctx.set(name, value);
      }
      const body = ctx.body as { error?: string; error_description?: string } | undefined;
      if (ctx.status === 400 && body?.error === 'invalid_request' && body.error_description === NO_CLIENT_AUTH) {
        // RFC 6749 §5.2 (and RFC 7662 for introspection): no client authentication at all is invalid_client, 401.
        ctx.status = 401;
        ctx.body = { ...body, error: 'invalid_client' };
      }
      if (ctx.status === 400 && body?.error === 'invalid_request' && GRANT_TYPE_NOT_ALLOWED.has(body.error_description ?? '')) {
        // RFC 6749 §5.2: a grant type the client is not authorized for is unauthorized_client.
        ctx.body = { ...body, error: 'unauthorized_client' };
      }
      if (ctx.oidc?.route === 'end_session_confirm' && ctx.oidc.params?.logout && ctx.status === 303) {
        await sessions.end(ctx.cookies.get(cookieName, { signed: false }));
        ctx.cookies.set(cookieName, null, { path: '/', signed: false });
        log.info({ client: ctx.oidc.client?.clientId }, 'logged out through the OIDC end_session endpoint');
      }
    });
  }

  register(app: FastifyInstance, flow: LoginFlow): void {
    mountProvider(app, this.provider, { prefix: this.prefix, trustProxy: trustsProxy(this.options.config) });
    app.get<{ Params: { uid: string } }>(`${this.interactionPath}/:uid`, async (req, reply) => {
      const details = await this.details(req, reply);
      const request = await this.authnRequest(details);
      req.log.info({ requester: request.requester, prompt: details.prompt.name }, 'OIDC authorization needs a login');
      await flow.start(request, req, reply);
      return reply;
    });
    app.get<{ Params: { uid: string } }>(`${this.interactionPath}/:uid/complete`, async (req, reply) => {
      const details = await this.details(req, reply);
      const raw = await this.options.store.take(outcomeKey(details.uid));
      if (raw === null) throw new UnknownLoginError(`interaction ${details.uid} has no finished login`);
      // provider.interactionResult (mergeWithLastSubmission: false) on the interaction this request has
      // already loaded and checked against its cookie, instead of loading and checking it again; and
      // without interactionFinished's own write: Fastify answers, so a failure still gets fedgate's error page.
      details.result = await this.interactionResult(details, JSON.parse(raw) as Outcome);
      await details.persist();
      return reply.redirect(details.returnTo, 303);
    });
  }

  /** The interaction of this browser (its cookie) named by the URL, or UnknownLoginError. */
  private async details(req: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply): Promise<InteractionDetails> {
    const { uid } = req.params;
    if (!UID.test(uid)) throw new MalformedRequestError('malformed interaction id');
    let details: InteractionDetails;
    try {
      details = await this.provider.interactionDetails(req.raw, reply.raw);
    } catch (err) {
      if (err instanceof errors.SessionNotFound) throw new UnknownLoginError(`interaction ${uid}: ${(err as Error).message}`);
      throw err;
    }
    if (details.uid !== uid) throw new UnknownLoginError(`interaction ${uid} is not the one this browser started (${details.uid})`);
    return details;
  }

  private async authnRequest(details: InteractionDetails): Promise<AuthnRequest> {
    const { params } = details;
    const clientId = String(params.client_id);
    const client = await this.provider.Client.find(clientId);
    if (!client) throw new UnknownServiceProviderError(`OIDC client ${clientId} is no longer registered`);
    const prompts = new Set(typeof params.prompt === 'string' ? params.prompt.split(' ') : []);
    const claims = parseClaimsRequest(params.claims);
    const granted = details.grantId ? ((await this.provider.Grant.find(details.grantId))?.getOIDCScope() ?? '') : '';
    const scopes = [...new Set(`${typeof params.scope === 'string' ? params.scope : ''} ${granted}`.split(' ').filter(Boolean))];
    const acrs = requestedAcrs(params.acr_values, claims);
    const state: OidcFrontendState = { uid: details.uid, scopes, ...(claims ? { claims } : {}) };
    return {
      frontend: this.name,
      requester: clientId,
      requesterName: client.clientName,
      forceAuthn: prompts.has('login') || details.prompt.reasons.includes('max_age'),
      isPassive: prompts.has('none'),
      requestedAuthnContext: acrs.length > 0 ? { comparison: 'exact', classRefs: acrs } : undefined,
      idpHints: parseIdpHint(typeof params.idphint === 'string' ? params.idphint : undefined),
      frontendState: { ...state },
    };
  }

  /** The result oidc-provider resumes the authorization with: a login and its grant, or an error. */
  private async interactionResult(details: InteractionDetails, outcome: Outcome): Promise<Record<string, unknown>> {
    if (outcome.kind === 'error') return { error: outcome.error, error_description: outcome.description };
    const { accountId } = outcome;
    const clientId = String(details.params.client_id);
    const existing = details.grantId ? await this.provider.Grant.find(details.grantId) : undefined;
    const grant =
      existing && existing.accountId === accountId && existing.clientId === clientId ? existing : new this.provider.Grant({ accountId, clientId });
    // Configured clients get what they asked for without a consent screen: the release policy decides what leaves.
    if (typeof details.params.scope === 'string') grant.addOIDCScope(details.params.scope);
    const claimNames = requestedClaimNames(parseClaimsRequest(details.params.claims));
    if (claimNames.length > 0) grant.addOIDCClaims(claimNames);
    const grantId = await grant.save();
    await this.releases.save(grantId, { accountId, claims: outcome.claims });
    return {
      login: { accountId, remember: true, ...(outcome.acr ? { acr: outcome.acr } : {}), ...(outcome.amr ? { amr: outcome.amr } : {}), ...(outcome.authTime ? { ts: outcome.authTime } : {}) },
      consent: { grantId },
    };
  }

  async respond(request: AuthnRequest, identity: Identity, reply: FastifyReply): Promise<void> {
    const state = stateOf(request);
    if (!state) throw new UnknownLoginError(`login for ${request.requester} carries no OIDC frontend state`);
    const acr = identity.authn.contextClassRefs[0];
    const essential = essentialAcrs(state.claims);
    if (essential.length > 0 && (acr === undefined || !essential.includes(acr))) {
      // The flow answers the client with unmet_authentication_requirements.
      throw new NoAuthnContextError(`${request.requester} requires acr ${essential.join(' or ')}; the login has ${acr ?? 'none'}`);
    }
    const outcome: Outcome = {
      kind: 'login',
      accountId: accountIdOf(identity, this.options.identifierSalt),
      ...(acr ? { acr } : {}),
      // RFC 8176 names multi-factor authentication; fedgate knows no finer method than that.
      ...(acr === REFEDS_MFA ? { amr: ['mfa'] } : {}),
      ...(epochSeconds(identity.authn.instant) ? { authTime: epochSeconds(identity.authn.instant) } : {}),
      claims: claimsOf(identity.attributes),
    };
    await this.finishLater(state.uid, outcome, reply);
  }

  async respondError(request: AuthnRequest, error: FedgateError, reply: FastifyReply): Promise<boolean> {
    const state = stateOf(request);
    if (!state) return false;
    const deviceCode = (await this.provider.Interaction.find(state.uid))?.deviceCode;
    if (deviceCode) {
      // A device shows no page: its polling ends in access_denied now, and the user reads why on fedgate's page.
      await this.denyDevice(deviceCode, error);
      return false;
    }
    const oauth = oauthError(error);
    if (!oauth) return false;
    // oidc-provider sends it to the redirect_uri it verified, with state and iss.
    await this.finishLater(state.uid, { kind: 'error', error: oauth, description: error.userMessage }, reply);
    return true;
  }

  /** Refuses a device authorization still waiting for its login (RFC 8628 §3.5 access_denied). */
  private async denyDevice(deviceCodeId: string, error: FedgateError): Promise<void> {
    const code = await this.provider.DeviceCode.find(deviceCodeId, { ignoreSessionBinding: true });
    if (!code || code.accountId || code.error) return;
    // error_description is ASCII only (RFC 6749 §5.2); the user's message is on the page.
    Object.assign(code, { error: 'access_denied', errorDescription: `the login was refused (${error.code})` });
    await code.save();
  }

  service(request: AuthnRequest): ServiceRegistration {
    return {
      id: request.requester,
      protocol: 'oidc',
      name: { en: request.requesterName ?? request.requester },
      entityCategories: [],
      requestedAttributes: [],
    };
  }

  /** Keeps the outcome and sends the browser back to its interaction (a plain redirect keeps the session cookie the flow set). */
  private async finishLater(uid: string, outcome: Outcome, reply: FastifyReply): Promise<void> {
    await this.options.store.set(outcomeKey(uid), JSON.stringify(outcome), this.options.config.frontends.oidc.ttl.Interaction * 1000);
    await reply.redirect(`${this.interactionPath}/${encodeURIComponent(uid)}/complete`, 303);
  }
}
