/**
 * oidc-provider 9 ships no type declarations and @types/oidc-provider is not installed: this
 * describes the part of its API fedgate uses, after the library's source (lib/provider.js,
 * lib/helpers/defaults.js). Widen it here when a new part is needed.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** What the adapter stores for one model instance; oidc-provider owns its fields. */
  export interface AdapterPayload {
    [key: string]: unknown;
    jti?: string;
    grantId?: string;
    userCode?: string;
    uid?: string;
    consumed?: unknown;
  }

  /** The storage contract for every model (Session, AccessToken, Grant, Interaction, …). */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface ClientInstance {
    clientId: string;
    clientName?: string;
    clientAuthMethod: string;
    sectorIdentifier?: string;
    subjectType?: string;
    grantTypeAllowed(grantType: string): boolean;
  }

  /** The tokens and codes findAccount and the policies see. */
  export interface TokenInstance {
    kind: string;
    jti: string;
    clientId?: string;
    accountId?: string;
    grantId?: string;
    scope?: string;
    isExpired?: boolean;
    /** Its lifetime in seconds from issue (ttl.*, unless set before save). */
    readonly expiration: number;
    expiresIn?: number;
    /** Seconds left until it expires. */
    readonly remainingTTL: number;
    save(): Promise<string>;
  }

  /** A device authorization (RFC 8628) as stored: approved (accountId) or refused (error), or neither yet. */
  export interface DeviceCodeInstance extends TokenInstance {
    error?: string;
    errorDescription?: string;
  }

  export interface GrantInstance {
    jti?: string;
    accountId?: string;
    clientId?: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    getOIDCScope(): string;
    save(): Promise<string>;
  }

  export interface InteractionDetails {
    uid: string;
    jti: string;
    exp: number;
    returnTo: string;
    grantId?: string;
    params: Record<string, unknown>;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    session?: { accountId?: string; uid?: string };
    result?: Record<string, unknown>;
    /** Saves the interaction (its result, say) for the rest of its lifetime. */
    persist(): Promise<string>;
  }

  /** The Koa context oidc-provider hands to its callbacks and middleware. */
  export interface OidcContext {
    req: IncomingMessage;
    res: ServerResponse;
    method: string;
    path: string;
    status: number;
    type: string;
    body: unknown;
    host: string;
    cookies: {
      get(name: string, options?: { signed?: boolean }): string | undefined;
      set(name: string, value: string | null, options?: Record<string, unknown>): void;
    };
    set(header: string, value: string): void;
    response: { get(header: string): string };
    oidc?: {
      route?: string;
      client?: ClientInstance;
      params?: Record<string, unknown>;
      entities: Record<string, unknown>;
      session?: { state?: Record<string, unknown> };
      urlFor?(name: string, query?: Record<string, string>): string;
    };
  }

  export type Middleware = (ctx: OidcContext, next: () => Promise<void>) => Promise<void>;

  export interface ErrorOut {
    error: string;
    error_description?: string;
    state?: string;
    iss?: string;
  }

  export class OIDCProviderError extends Error {
    error: string;
    error_description?: string;
    error_detail?: string;
    status: number;
    statusCode: number;
    expose: boolean;
  }

  type ErrorClass = new (description?: string, detail?: string) => OIDCProviderError;

  export const errors: {
    OIDCProviderError: typeof OIDCProviderError;
    InvalidGrant: ErrorClass;
    InvalidRequest: ErrorClass;
    InvalidTarget: ErrorClass;
    InvalidScope: new (description: string, scope?: string) => OIDCProviderError;
    InvalidClient: ErrorClass;
    /** invalid_client with HTTP 401 (and a Basic challenge when Basic was tried); the description stays generic. */
    InvalidClientAuth: ErrorClass;
    UnauthorizedClient: ErrorClass;
    AccessDenied: ErrorClass;
    SessionNotFound: ErrorClass;
    [name: string]: unknown;
  };

  /**
   * A signing key whose private half oidc-provider never sees: it asks `sign` for the signature
   * and `keyObject` for the public key (JWKS, verifying its own tokens). Needs
   * features.externalSigningSupport.
   */
  export class ExternalSigningKey {
    kid: string | undefined;
    alg: string | undefined;
    keyObject(): import('node:crypto').KeyObject;
    sign(data: Buffer): Promise<Buffer> | Buffer;
  }

  /** The configuration object; typed loosely so grant extensions can add features of their own. */
  export type Configuration = Record<string, unknown>;

  export class Provider {
    constructor(issuer: string, configuration: Configuration);
    /** The context of the request being handled (an AsyncLocalStorage), inside the provider's routes. */
    static readonly ctx: OidcContext | undefined;
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    use(middleware: Middleware): this;
    on(event: 'server_error', listener: (ctx: OidcContext, err: Error) => void): this;
    on(event: 'error', listener: (err: Error, ctx?: OidcContext) => void): this;
    on(event: string, listener: (ctx: OidcContext, ...rest: unknown[]) => void): this;
    urlFor(name: string, options?: Record<string, string>): string;
    registerGrantType(
      name: string,
      handler: (ctx: OidcContext, next: () => Promise<void>) => Promise<void>,
      params?: string | string[] | Set<string>,
      dupes?: string | string[] | Set<string>,
    ): void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    /** Stores the result and answers with a 303 to the URL that resumes the authorization. */
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    /** Stores the result and returns the URL that resumes the authorization (interactionFinished without the redirect). */
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
    readonly Grant: {
      new (init: { accountId: string; clientId: string }): GrantInstance;
      find(id: string): Promise<GrantInstance | undefined>;
    };
    readonly Client: {
      find(id: string): Promise<ClientInstance | undefined>;
      /** This provider's own client class: its methods may be wrapped without touching other providers. */
      prototype: ClientInstance & { compareClientSecret(actual: string): boolean | Promise<boolean> };
    };
    readonly Interaction: {
      /** `deviceCode`: the device code an interaction of the device flow logs in. */
      find(uid: string): Promise<{ uid: string; deviceCode?: string } | undefined>;
    };
    readonly DeviceCode: {
      find(id: string, options?: { ignoreExpiration?: boolean; ignoreSessionBinding?: boolean }): Promise<DeviceCodeInstance | undefined>;
    };
    readonly AccessToken: {
      new (init: { accountId: string; client: ClientInstance; grantId: string; gty: string; scope: string }): TokenInstance;
      find(value: string): Promise<TokenInstance | undefined>;
    };
  }

  export default Provider;
}
