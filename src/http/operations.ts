/**
 * What operators see of logins: one log line per step, all carrying the login's reference id
 * (which the error page quotes too), the audit line of each completed login, and the login
 * metrics. The flow tells this observer what happens; failures the flow never saw (a service's
 * request refused before a login exists) are reported by the error handler.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { AssuranceTooLowError, LoginDeniedError, NoAuthnContextError, NoUsableIdentifierError, TooManyRequestsError } from '../core/errors.js';
import type { LoginObserver, LoginRecord, LoginResult } from '../core/flow.js';
import type { UpstreamInfo } from '../core/model.js';
import { auditLine } from './audit.js';
import type { Endpoints } from './endpoints.js';
import { errorCode, type LoginOutcome, type Metrics } from './metrics.js';
import { tagLogin } from './errors.js';

type Login = Omit<LoginRecord, 'id'>;

/** Refusals by policy (the user authenticated, the service may not have them): `denied`, not `failed`. */
const DENIALS = [LoginDeniedError, AssuranceTooLowError, NoAuthnContextError, NoUsableIdentifierError];

function outcomeOf(error: unknown): LoginOutcome {
  return DENIALS.some((denial) => error instanceof denial) ? 'denied' : 'failed';
}

export interface LoginOperationsOptions {
  /** The application logger; audit lines go there, without request bindings. */
  log: FastifyBaseLogger;
  metrics?: Metrics;
  endpoints: Endpoints;
}

export class LoginOperations implements LoginObserver {
  constructor(private readonly opts: LoginOperationsOptions) {}

  onLoginStarted(login: Login, req: FastifyRequest): void {
    this.tag(req, login.ref);
    req.log.info({ frontend: login.request.frontend, requester: login.request.requester }, 'login started');
  }

  onUpstreamChosen(login: Login, upstream: UpstreamInfo, req: FastifyRequest): void {
    this.tag(req, login.ref);
    req.log.info({ upstream: upstream.id, backend: upstream.backend }, 'upstream chosen');
  }

  onLoginFinished(login: Login, result: LoginResult, req: FastifyRequest): void {
    this.tag(req, login.ref);
    const backend = result.upstream?.backend;
    req.log.info(
      { frontend: login.request.frontend, requester: login.request.requester, upstream: result.released.issuer, backend, fromSession: result.fromSession },
      'login finished',
    );
    this.opts.log.info(auditLine(login, result), 'login audit');
    this.opts.metrics?.login({ frontend: login.request.frontend, backend }, 'success', '', (Date.now() - login.startedAt) / 1000);
  }

  onLoginFailed(login: Login, error: unknown, req: FastifyRequest): void {
    this.tag(req, login.ref, true);
    const code = errorCode(error);
    const outcome = outcomeOf(error);
    req.log.warn(
      { frontend: login.request.frontend, requester: login.request.requester, code, outcome, reason: error instanceof Error ? error.message : String(error) },
      'login failed',
    );
    // The backend is known from where the failure happened (its ACS or callback); the login record does not keep the choice.
    const endpoint = this.opts.endpoints.classify(req);
    const labels = { frontend: login.request.frontend, backend: endpoint?.backend };
    this.opts.metrics?.login(labels, outcome, code, (Date.now() - login.startedAt) / 1000);
  }

  /** From the error handler: a failure on a login endpoint that the flow never reported. */
  requestFailed(req: FastifyRequest, error: unknown): void {
    const endpoint = this.opts.endpoints.classify(req);
    if (endpoint?.kind !== 'login' || error instanceof TooManyRequestsError) return;
    this.opts.metrics?.login({ frontend: endpoint.frontend, backend: endpoint.backend }, outcomeOf(error), errorCode(error), undefined);
  }

  /** Binds the ref to the request's logger (once) and to its error page. */
  private tag(req: FastifyRequest, ref: string, reported = false): void {
    if (tagLogin(req, ref, reported)) req.log = req.log.child({ ref });
  }
}
