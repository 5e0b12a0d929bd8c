/**
 * fedgate's client configuration at one provider. OpenID providers are found by discovery; one
 * that cannot be reached at start-up does not hold up the others: it is shown as unavailable and
 * discovery is tried again with a growing wait (unref'd timers), and at once when a user wants it.
 * GitHub's OAuth2 endpoints are known in advance, so its configuration is built directly.
 *
 * ID token signatures are checked against the provider's JWKS (enableNonRepudiationChecks):
 * openid-client caches the key set for five minutes and fetches it again when a token names a
 * key it does not hold (at most once a minute), so a provider's key rotation needs nothing from
 * the operator.
 */
import type { FastifyBaseLogger } from 'fastify';
import {
  allowInsecureRequests,
  ClientSecretBasic,
  ClientSecretPost,
  Configuration,
  discovery,
  enableNonRepudiationChecks,
  type ClientAuth,
} from 'openid-client';
import { UpstreamUnavailableError } from '../../core/errors.js';
import type { OidcProvider } from './config.js';
import { upstreamFailure } from './failures.js';

export interface RetryPolicy {
  minMs: number;
  maxMs: number;
}

/**
 * client_secret_post when the provider lists it, otherwise client_secret_basic, the default of
 * OIDC Discovery and RFC 8414 when a provider lists nothing.
 */
function clientAuthentication(clientSecret: string): ClientAuth {
  const post = ClientSecretPost(clientSecret);
  const basic = ClientSecretBasic(clientSecret);
  return (as, client, body, headers) =>
    (as.token_endpoint_auth_methods_supported?.includes('client_secret_post') ? post : basic)(as, client, body, headers);
}

const isPlainHttp = (url: string) => new URL(url).protocol === 'http:';

export class ProviderConnection {
  private configuration?: Configuration;
  private attempt?: Promise<Configuration>;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;
  private lastFailure = 'not tried yet';
  private stopped = false;

  constructor(
    readonly provider: OidcProvider,
    private readonly retry: RetryPolicy,
    private readonly log: FastifyBaseLogger,
  ) {}

  get available(): boolean {
    return this.configuration !== undefined;
  }

  /** The first discovery; a failure is logged and retried, never thrown. */
  async start(): Promise<void> {
    await this.connect().catch(() => undefined);
  }

  /** The configuration, discovering the provider now when it is not known yet. */
  async ready(): Promise<Configuration> {
    if (this.configuration) return this.configuration;
    try {
      return await this.connect();
    } catch (err) {
      throw new UpstreamUnavailableError(`${this.provider.issuer} is not discovered yet: ${this.lastFailure}`, { cause: err });
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  /** One attempt at a time; concurrent callers share it. */
  private connect(): Promise<Configuration> {
    this.attempt ??= this.configure()
      .then(
        (configuration) => {
          this.configuration = configuration;
          if (this.failures > 0) this.log.info({ upstream: this.provider.issuer }, 'OIDC provider discovered after earlier failures');
          this.failures = 0;
          clearTimeout(this.retryTimer);
          return configuration;
        },
        (err: unknown) => {
          this.failures++;
          this.lastFailure = upstreamFailure(err, this.provider.issuer)?.message ?? String(err);
          const waitMs = this.scheduleRetry();
          this.log.warn(
            { upstream: this.provider.issuer, reason: this.lastFailure, retryInSeconds: waitMs / 1000 },
            'OIDC provider discovery failed; shown as unavailable',
          );
          throw err;
        },
      )
      .finally(() => {
        this.attempt = undefined;
      });
    return this.attempt;
  }

  private scheduleRetry(): number {
    const waitMs = Math.min(this.retry.maxMs, this.retry.minMs * 2 ** (this.failures - 1));
    if (this.stopped) return waitMs;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect().catch(() => undefined), waitMs).unref();
    return waitMs;
  }

  private async configure(): Promise<Configuration> {
    const { provider } = this;
    const auth = clientAuthentication(provider.clientSecret);
    if (provider.endpoints) {
      const { authorization, token } = provider.endpoints;
      const configuration = new Configuration(
        {
          issuer: provider.issuer,
          authorization_endpoint: authorization,
          token_endpoint: token,
          // GitHub takes the client credentials in the body (it documents no other way).
          token_endpoint_auth_methods_supported: ['client_secret_post'],
        },
        provider.clientId,
        { client_secret: provider.clientSecret },
        auth,
      );
      configuration.timeout = provider.timeoutSeconds;
      if ([authorization, token, provider.endpoints.api].some(isPlainHttp)) allowInsecureRequests(configuration);
      return configuration;
    }
    return discovery(new URL(provider.issuer), provider.clientId, { client_secret: provider.clientSecret }, auth, {
      // The schema admits http only for loopback issuers (tests, local development).
      execute: [enableNonRepudiationChecks, ...(isPlainHttp(provider.issuer) ? [allowInsecureRequests] : [])],
      timeout: provider.timeoutSeconds,
    });
  }
}
