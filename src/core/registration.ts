/**
 * What the pipeline may know about the two parties of a login, in protocol-neutral terms: the
 * service the user is going to (from verified SAML metadata or OIDC client configuration) and the
 * upstream the identity came from (from verified metadata or provider configuration).
 */
import type { Localized, Scope } from '../metadata/types.js';
import type { UpstreamInfo } from './model.js';

export const ENTITY_ATTRIBUTE = {
  category: 'http://macedir.org/entity-category',
  categorySupport: 'http://macedir.org/entity-category-support',
  assuranceCertification: 'urn:oasis:names:tc:SAML:attribute:assurance-certification',
  subjectIdRequirement: 'urn:oasis:names:tc:SAML:profiles:subject-id:req',
} as const;

export interface RequestedAttribute {
  /** Internal attribute name. */
  name: string;
  required: boolean;
}

export interface ServiceRegistration {
  /** SP entityID or OIDC client_id. */
  id: string;
  protocol: 'saml' | 'oidc';
  name: Localized;
  /** Entity categories the service is a member of (REFEDS R&S, CoCo, Personalized, …). */
  entityCategories: string[];
  /** Attributes the service asked for in its metadata, by internal name. */
  requestedAttributes: RequestedAttribute[];
  /** SAML subject-id:req entity attribute (SAML2int SDP-IDP15..17), when published. */
  subjectIdRequirement?: 'subject-id' | 'pairwise-id' | 'any' | 'none';
}

export interface UpstreamRegistration extends UpstreamInfo {
  protocol: 'saml' | 'oidc' | 'oauth2';
  /**
   * A social or otherwise low-assurance provider (Google, GitHub, ORCID, …) rather than a home
   * organisation's IdP: the assurance filter treats its logins accordingly (AARC-G021 "Assam").
   */
  social: boolean;
  /** shibmd:Scope of a SAML IdP; empty for OIDC providers (their identifiers are scoped by issuer). */
  scopes: Scope[];
  registrationAuthority?: string;
  /** Every mdattr:EntityAttributes value, by attribute Name (categories, support, certifications). */
  entityAttributes: Record<string, string[]>;
}
