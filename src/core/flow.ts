/**
 * The only place that sequences a login: a frontend hands over a verified service request, the
 * user picks (or a hint names) an upstream, a backend authenticates the user there and hands back
 * an Identity, the pipeline filters it, and the owning frontend answers the service.
 *
 * Everything that must survive between two HTTP requests lives in the Store, so any instance can
 * continue a login another instance started.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BrowserBinding } from './browser-binding.js';
import {
  FedgateError,
  LoginFromAnotherBrowserError,
  NoPassiveError,
  NoUpstreamAvailableError,
  UnknownIdentityProviderError,
  UnknownLoginError,
  UpstreamNotAllowedError,
} from './errors.js';
import type { AuthnRequest, Identity, UpstreamInfo } from './model.js';
import { referenceId } from './reference.js';
import type { ServiceRegistration, UpstreamRegistration } from './registration.js';
import type { SessionManager } from './session.js';
import type { Store } from '../store/store.js';

/** A login waiting for the user to authenticate upstream. */
export interface PendingLogin {
  id: string;
  request: AuthnRequest;
}

/** A login as the flow keeps it: the pending login plus what operations report about it. */
export interface LoginRecord extends PendingLogin {
  /** Short reference for logs, the audit line and error pages (the id itself is a secret handle). */
  ref: string;
  /** When the service's request reached fedgate (epoch ms). */
  startedAt: number;
}

/** A completed login as operations see it: who, from which upstream, to which service, with what. */
export interface LoginResult {
  service: ServiceRegistration;
  upstream: UpstreamRegistration | undefined;
  /** The identity after the pipeline: what the service was sent. */
  released: Identity;
  /** True when answered from the SSO session, without an upstream login. */
  fromSession: boolean;
}

/**
 * Told about every step of a login (logs, metrics, audit live in src/http/operations.ts). `login`
 * omits the secret id; `req` is the request in which the step happened.
 */
export interface LoginObserver {
  onLoginStarted(login: Omit<LoginRecord, 'id'>, req: FastifyRequest): void;
  onUpstreamChosen(login: Omit<LoginRecord, 'id'>, upstream: UpstreamInfo, req: FastifyRequest): void;
  onLoginFinished(login: Omit<LoginRecord, 'id'>, result: LoginResult, req: FastifyRequest): void;
  /** Called before the service is answered with an error status or the error page is shown. */
  onLoginFailed(login: Omit<LoginRecord, 'id'>, error: unknown, req: FastifyRequest): void;
}

const quietObserver: LoginObserver = {
  onLoginStarted: () => {},
  onUpstreamChosen: () => {},
  onLoginFinished: () => {},
  onLoginFailed: () => {},
};

/** A downstream protocol end (fedgate as IdP or OP). */
export interface Frontend {
  readonly name: string;
  /** Sends the successful answer for `request` to the service through the browser. */
  respond(request: AuthnRequest, identity: Identity, reply: FastifyReply): Promise<void>;
  /**
   * Offered every failure of a login the frontend owns. Answers the service with an error (a SAML
   * status, an OAuth error) when its protocol has one for this failure and that is safe, i.e. the
   * request was verified and its return address comes from metadata. Returns false when the user
   * is to be shown the error page instead (it may still tell the service, e.g. a polling device).
   */
  respondError(request: AuthnRequest, error: FedgateError, reply: FastifyReply): Promise<boolean>;
  /** What the pipeline knows about the requesting service (its request was verified, so it exists). */
  service(request: AuthnRequest): ServiceRegistration;
}

/** An upstream protocol end (fedgate as SP or RP). */
export interface Backend {
  readonly name: string;
  /**
   * The upstream identity providers this backend can send users to. Returns the same array as
   * long as they are unchanged, so callers may keep what they derive from it (discovery's search
   * index) until it changes.
   */
  upstreams(): UpstreamRegistration[];
  /** One upstream by entityID or issuer, with what the pipeline may know about it. */
  upstream(id: string): UpstreamRegistration | undefined;
  /**
   * Like `upstream`, but may also ask on-demand sources (an MDQ service) for upstreams not loaded
   * yet; used where a login names an upstream (discovery choice, hint).
   */
  resolveUpstream?(id: string): Promise<UpstreamRegistration | undefined>;
  /**
   * Sends the browser to `upstreamId` to authenticate. The backend binds its own request
   * identifier to `login.id` in the store, and later calls `LoginFlow.finish` with that id.
   */
  startLogin(login: PendingLogin, upstreamId: string, reply: FastifyReply): Promise<void>;
}

/** The parties of one login, as the pipeline sees them. */
export interface PipelineInput {
  request: AuthnRequest;
  service: ServiceRegistration;
  /** Undefined only when the upstream was removed from configuration since the session began. */
  upstream: UpstreamRegistration | undefined;
}

/** Runs the configured attribute filters; see src/pipeline/. */
export interface IdentityPipeline {
  run(identity: Identity, input: PipelineInput): Promise<Identity>;
}

export interface LoginFlowDeps {
  store: Store;
  sessions: SessionManager;
  /** Ties each upstream login to the browser that started it. */
  browsers: BrowserBinding;
  pipeline: IdentityPipeline;
  frontends: Frontend[];
  backends: Backend[];
  flowTtlMs: number;
  observer?: LoginObserver;
}

/** Discovery: how the user chooses the upstream, and which upstreams a service accepts. */
export interface UpstreamChoice {
  /**
   * Answers the request that started a login with the choice of upstream (discovery's page, or a
   * redirect to an external discovery service), in that same response: a redirect to the page
   * would cost every login one more round trip.
   */
  present(login: LoginRecord, req: FastifyRequest, reply: FastifyReply): Promise<unknown>;
  /** Whether the service that asked accepts `upstream` (its discovery filter), for choices and hints alike. */
  accepts(upstream: UpstreamRegistration, request: AuthnRequest): boolean;
}

const loginKey = (id: string) => `login:${id}`;
const withoutId = ({ id: _id, ...rest }: LoginRecord): Omit<LoginRecord, 'id'> => rest;

/** A login as the store keeps it: with the hash of the browser that started it (BrowserBinding). */
type StoredLogin = Omit<LoginRecord, 'id'> & { browser?: string };

export class LoginFlow {
  private readonly frontends = new Map<string, Frontend>();
  private readonly backends = new Map<string, Backend>();
  private readonly observer: LoginObserver;
  private upstreamLists?: { lists: UpstreamRegistration[][]; all: UpstreamRegistration[] };
  private attachedChoice?: UpstreamChoice;

  constructor(private readonly deps: LoginFlowDeps) {
    this.observer = deps.observer ?? quietObserver;
    for (const f of deps.frontends) this.frontends.set(f.name, f);
    for (const b of deps.backends) this.backends.set(b.name, b);
  }

  /** Discovery attaches itself here once its routes exist (it needs the flow's upstreams first). */
  chooseUpstreamsWith(choice: UpstreamChoice): void {
    this.attachedChoice = choice;
  }

  private get choice(): UpstreamChoice {
    if (!this.attachedChoice) throw new Error('LoginFlow: no upstream choice attached (chooseUpstreamsWith)');
    return this.attachedChoice;
  }

  /** Every upstream of every backend, for discovery and hints; the same array while no backend's list changed. */
  upstreams(): UpstreamRegistration[] {
    const lists = [...this.backends.values()].map((b) => b.upstreams());
    const known = this.upstreamLists;
    if (known && lists.every((list, i) => list === known.lists[i])) return known.all;
    this.upstreamLists = { lists, all: lists.flat() };
    return this.upstreamLists.all;
  }

  findUpstream(id: string): UpstreamRegistration | undefined {
    for (const backend of this.backends.values()) {
      const found = backend.upstream(id);
      if (found) return found;
    }
    return undefined;
  }

  /** findUpstream, then the backends' on-demand sources. */
  private async resolveUpstream(id: string): Promise<UpstreamRegistration | undefined> {
    const known = this.findUpstream(id);
    if (known) return known;
    for (const backend of this.backends.values()) {
      const found = await backend.resolveUpstream?.(id);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * Called by a frontend once it has verified the service's request. Answers from the SSO session
   * when there is one (and the service did not force a new authentication), otherwise starts an
   * upstream login.
   */
  async start(request: AuthnRequest, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const login: LoginRecord = { id: randomBytes(16).toString('base64url'), ref: referenceId(), startedAt: Date.now(), request };
    this.observer.onLoginStarted(withoutId(login), req);
    try {
      if (!request.forceAuthn) {
        const session = await this.deps.sessions.current(req);
        if (session) return await this.complete(login, session.identity, true, reply);
      }
      if (request.isPassive) throw new NoPassiveError(`IsPassive request from ${request.requester} and no SSO session`);

      const stored: StoredLogin = { ...withoutId(login), browser: this.deps.browsers.bind(req, reply) };
      await this.deps.store.set(loginKey(login.id), JSON.stringify(stored), this.deps.flowTtlMs);

      const upstream = await this.preselectedUpstream(request);
      if (upstream) return await this.startUpstream(login, upstream, reply);
      return void (await this.choice.present(login, req, reply));
    } catch (err) {
      return this.fail(login, err, reply);
    }
  }

  /** The login waiting for an upstream choice, or UnknownLoginError; LoginFromAnotherBrowserError when `req` is not from its browser. */
  async pending(loginId: string, req: FastifyRequest): Promise<LoginRecord> {
    const login = await this.boundLogin(loginId, req);
    if (!login) throw new UnknownLoginError(`no pending login ${loginId}`);
    return login;
  }

  /** Called by discovery with the user's choice. */
  async chooseUpstream(loginId: string, upstreamId: string, reply: FastifyReply): Promise<void> {
    const login = await this.pending(loginId, reply.request);
    try {
      const upstream = await this.resolveUpstream(upstreamId);
      if (!upstream) throw new UnknownIdentityProviderError(`discovery choice ${upstreamId} is not a configured upstream`);
      if (!this.choice.accepts(upstream, login.request)) throw new UpstreamNotAllowedError(`discovery choice ${upstreamId} is outside the discovery filter of ${login.request.requester}`);
      await this.startUpstream(login, upstream, reply);
    } catch (err) {
      return this.fail(login, err, reply);
    }
  }

  /**
   * Called by a backend with the verified upstream identity. Refuses a browser other than the one
   * that started the login, leaving the login to its own browser; then takes it atomically, so of
   * two concurrent answers for one login exactly one continues.
   */
  async finish(loginId: string, identity: Identity, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const unknown = () => new UnknownLoginError(`login ${loginId} is unknown, expired or already finished`);
    if (!(await this.boundLogin(loginId, req))) throw unknown();
    const login = await this.takeLogin(loginId);
    if (!login) throw unknown();
    try {
      await this.deps.sessions.create(identity, reply);
      return await this.complete(login, identity, false, reply);
    } catch (err) {
      return this.fail(login, err, reply);
    }
  }

  /**
   * Called by a backend when the upstream answered the login with an error: the service gets an
   * error status when it can be answered, the user an error page otherwise.
   */
  async abort(loginId: string, error: FedgateError, reply: FastifyReply): Promise<void> {
    // Another browser must not end someone else's login, nor answer its service with an error.
    const login = (await this.boundLogin(loginId, reply.request)) && (await this.takeLogin(loginId));
    if (!login) throw error;
    return this.fail(login, error, reply);
  }

  /** The pending login, if any; LoginFromAnotherBrowserError when `req` does not come from the browser that started it. */
  private async boundLogin(loginId: string, req: FastifyRequest): Promise<LoginRecord | undefined> {
    const raw = await this.deps.store.get(loginKey(loginId));
    if (!raw) return undefined;
    const { browser, ...login } = JSON.parse(raw) as StoredLogin;
    const mismatch = this.deps.browsers.mismatch(req, browser);
    if (mismatch) throw new LoginFromAnotherBrowserError(`login ${login.ref} was started in another browser: ${mismatch}`);
    return { id: loginId, ...login };
  }

  private async takeLogin(loginId: string): Promise<LoginRecord | undefined> {
    const raw = await this.deps.store.take(loginKey(loginId));
    if (!raw) return undefined;
    const { browser: _browser, ...login } = JSON.parse(raw) as StoredLogin;
    return { id: loginId, ...login };
  }

  private async startUpstream(login: LoginRecord, upstream: UpstreamInfo, reply: FastifyReply): Promise<void> {
    const backend = this.backendFor(upstream);
    this.observer.onUpstreamChosen(withoutId(login), upstream, reply.request);
    await backend.startLogin(login, upstream.id, reply);
  }

  private async complete(login: LoginRecord, identity: Identity, fromSession: boolean, reply: FastifyReply): Promise<void> {
    const { request } = login;
    const frontend = this.frontendFor(request);
    const service = frontend.service(request);
    const upstream = this.findUpstream(identity.issuer);
    const released = await this.deps.pipeline.run(identity, { request, service, upstream });
    await frontend.respond(request, released, reply);
    this.observer.onLoginFinished(withoutId(login), { service, upstream, released, fromSession }, reply.request);
  }

  /** Reports the failure, then lets the owning frontend answer the service; else rethrows for the error page. */
  private async fail(login: LoginRecord, err: unknown, reply: FastifyReply): Promise<void> {
    this.observer.onLoginFailed(withoutId(login), err, reply.request);
    if (err instanceof FedgateError && (await this.frontendFor(login.request).respondError(login.request, err, reply))) return;
    throw err;
  }

  /**
   * The first hinted upstream that is known and that the service accepts (a hint outside its
   * filter is passed over like an unknown one: the user may have edited it), or the only upstream.
   */
  private async preselectedUpstream(request: AuthnRequest): Promise<UpstreamInfo | undefined> {
    for (const hint of request.idpHints) {
      const hinted = await this.resolveUpstream(hint);
      if (hinted && this.choice.accepts(hinted, request)) return hinted;
    }
    const upstreams = this.upstreams();
    if (upstreams.length === 0) throw new NoUpstreamAvailableError('no upstream identity provider is configured');
    return upstreams.length === 1 && this.choice.accepts(upstreams[0]!, request) ? upstreams[0] : undefined;
  }

  private backendFor(upstream: UpstreamInfo): Backend {
    const backend = this.backends.get(upstream.backend);
    if (!backend) throw new UnknownIdentityProviderError(`no backend ${upstream.backend} for ${upstream.id}`);
    return backend;
  }

  private frontendFor(request: AuthnRequest): Frontend {
    const frontend = this.frontends.get(request.frontend);
    // A stored request names a frontend of this build; anything else means the store was tampered with.
    if (!frontend) throw new UnknownLoginError(`login names unknown frontend ${request.frontend}`);
    return frontend;
  }
}
