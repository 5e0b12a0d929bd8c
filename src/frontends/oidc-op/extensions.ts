/**
 * How further OAuth features plug into the provider without touching its core: each extension
 * (one module under grants/) may change the oidc-provider configuration before the Provider is
 * built (features, policies) and then use the built Provider (registerGrantType, events).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Configuration, Provider } from 'oidc-provider';
import type { Store } from '../../store/store.js';
import type { OidcFrontendConfig } from './config.js';
import type { ReleaseStore } from './releases.js';

export interface ExtensionContext {
  issuer: string;
  config: OidcFrontendConfig;
  store: Store;
  /** What each grant may show of its user (findAccount): a new grant needs a release to have claims. */
  releases: ReleaseStore;
  log: FastifyBaseLogger;
}

export interface OidcOpExtension {
  readonly name: string;
  /** Changes the configuration object passed to `new Provider` (e.g. `features.deviceFlow`). */
  configure?(configuration: Configuration, context: ExtensionContext): void;
  /** Uses the built provider, e.g. `provider.registerGrantType(…)`. */
  attach?(provider: Provider, context: ExtensionContext): void;
}
