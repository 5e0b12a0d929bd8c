/**
 * The compact per-entity record the proxy keeps from verified SAML metadata: only what routing,
 * signature checks, discovery and release policy need, never the DOM.
 */

/** Localised text: language tag (or "" when none was given) → text. */
export type Localized = Record<string, string>;

export interface Endpoint {
  binding: string;
  location: string;
  index?: number;
  isDefault?: boolean;
}

export interface EntityKey {
  /** From KeyDescriptor@use; absent in metadata means both (IIP-MD11). */
  use: 'signing' | 'encryption' | 'both';
  /** PEM "CERTIFICATE" block. Only the key inside matters (IIP-MD12): dates and issuer are ignored. */
  certPem: string;
}

export interface Scope {
  value: string;
  regexp: boolean;
}

export interface UiInfo {
  displayName: Localized;
  description: Localized;
  logos: { url: string; width?: number; height?: number; lang?: string }[];
  informationUrl: Localized;
  privacyStatementUrl: Localized;
  /** mdui:Keywords per language (a "+" inside a keyword stands for a space); absent when none are published. */
  keywords?: Record<string, string[]>;
}

/** mdui:DiscoHints of an IdP: who its users are, for discovery suggestions and search. */
export interface DiscoHints {
  /** mdui:DomainHint: DNS names (lower case, no trailing dot) of the organisation's users. */
  domainHints: string[];
  /** mdui:IPHint: address blocks in CIDR notation. */
  ipHints: string[];
  /** mdui:GeolocationHint: geo: URIs (RFC 5870). */
  geolocationHints: string[];
}

export interface RequestedAttribute {
  name: string;
  nameFormat?: string;
  isRequired: boolean;
}

export interface IdpRole {
  singleSignOnServices: Endpoint[];
  wantAuthnRequestsSigned: boolean;
  nameIdFormats: string[];
  keys: EntityKey[];
  /** shibmd:Scope of the role joined with those of the entity. */
  scopes: Scope[];
  ui: UiInfo;
  errorUrl?: string;
  /** Present when the IdP publishes usable mdui:DiscoHints. */
  discoHints?: DiscoHints;
}

export interface SpRole {
  assertionConsumerServices: Endpoint[];
  authnRequestsSigned: boolean;
  wantAssertionsSigned: boolean;
  nameIdFormats: string[];
  keys: EntityKey[];
  requestedAttributes: RequestedAttribute[];
  discoveryResponses: Endpoint[];
  ui: UiInfo;
}

export interface EntityRecord {
  entityId: string;
  idp?: IdpRole;
  sp?: SpRole;
  /** mdattr:EntityAttributes: attribute Name → values (trimmed). */
  entityAttributes: Record<string, string[]>;
  registrationAuthority?: string;
  organizationDisplayName: Localized;
  /** The earliest validUntil on the path from the document root to this entity, if any. */
  validUntil?: Date;
  /** Where the record came from (file path or URL), for logs. */
  source: string;
}

export const BINDINGS = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

export const ENTITY_CATEGORY = 'http://macedir.org/entity-category';
export const HIDE_FROM_DISCOVERY = 'http://refeds.org/category/hide-from-discovery';
