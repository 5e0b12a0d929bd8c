/**
 * The protocol-neutral model of a login. Frontends translate their protocol's request into an
 * AuthnRequest; backends translate the upstream answer into an Identity. Nothing else knows
 * about SAML or OIDC wire formats.
 */

/** Internal attribute names (spec/attributes.md) mapped to string-array values. */
export type Attributes = Record<string, string[]>;

export type RequestedAuthnContext = {
  /** SAML Comparison; OIDC acr_values behave as "exact" with a preference order. */
  comparison: 'exact' | 'minimum' | 'maximum' | 'better';
  classRefs: string[];
};

export interface AuthnRequest {
  /** Name of the frontend that owns the answer, e.g. "saml-idp". */
  frontend: string;
  /** SP entityID or OIDC client_id. */
  requester: string;
  /** Human name of the requester for pages (mdui DisplayName), when known. */
  requesterName?: string;
  forceAuthn: boolean;
  isPassive: boolean;
  requestedAuthnContext?: RequestedAuthnContext;
  /** Upstream identifiers the service named (SAML Scoping/IDPList, idphint). Only honoured when known. */
  idpHints: string[];
  /** Opaque, JSON-serialisable state the frontend needs to finish its answer. */
  frontendState: Record<string, unknown>;
}

export interface UpstreamSubject {
  /** NameID value (SAML) or `sub` (OIDC). */
  id: string;
  /** NameID Format, absent for OIDC. */
  format?: string;
  nameQualifier?: string;
  spNameQualifier?: string;
}

export interface AuthenticationFacts {
  /** ISO-8601 instant the upstream authenticated the user. */
  instant: string;
  /** AuthnContextClassRef(s) (SAML) or acr (OIDC) asserted by the upstream. */
  contextClassRefs: string[];
  /** The upstream session index, when given (for logout later). */
  sessionIndex?: string;
  /**
   * OIDC `amr` (authentication methods such as pwd, otp, mfa; RFC 8176) as the upstream asserted
   * them. Kept apart from contextClassRefs: they are not class references and must never be
   * asserted downstream as one.
   */
  amr?: string[];
}

export interface Identity {
  /** IdP entityID or OP issuer. */
  issuer: string;
  protocol: 'saml' | 'oidc' | 'oauth2';
  subject: UpstreamSubject;
  attributes: Attributes;
  authn: AuthenticationFacts;
  /**
   * fedgate's own persistent identifier of the user (pipeline filter community-id). Frontends
   * derive per-service NameIDs and OIDC subjects from it; it stays here whatever the release
   * policy lets a service see.
   */
  communityId?: string;
}

/** What an upstream identity provider looks like to the flow and the discovery page. */
export interface UpstreamInfo {
  /** entityID or issuer: the value used by hints and the discovery choice. */
  id: string;
  /** Name of the backend that talks to it, e.g. "saml". */
  backend: string;
  displayName: Record<string, string>;
  logo?: string;
  /** Never listed on the discovery page, still usable by hint. */
  hidden: boolean;
  /** Known but not reachable right now (e.g. OIDC discovery failed): listed, but not selectable. */
  unavailable?: boolean;
  /** Further words discovery finds it by (mdui:Keywords, every language). */
  keywords?: string[];
  /** DNS domains of its users (mdui:DomainHint), so discovery finds it by domain or e-mail address. */
  domainHints?: string[];
}
