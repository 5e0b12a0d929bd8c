/**
 * The one mapping table between internal attribute names, their SAML names and their OIDC claims
 * (spec/attributes.md §2). Frontends and backends translate through it; nothing else sees urn:oid
 * or claim names. `sub`, `email_verified` and `acr` are not attributes: the OIDC ends derive them.
 */

export const NAME_FORMAT_URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';

export interface AttributeDefinition {
  /** Internal name, also the FriendlyName emitted. */
  name: string;
  /** SAML Attribute Name emitted. */
  saml: string;
  /** Older SAML names accepted inbound only (voPerson 1.x arc, SAML1-style urn:mace names). */
  samlInbound?: string[];
  /** At most one value on output. */
  single?: boolean;
  /** Values have the form value@scope and must be checked against the IdP's shibmd:Scope. */
  scoped?: boolean;
  /** The whole value is a domain that must be one of the IdP's shibmd:Scope (schacHomeOrganization). */
  valueIsScope?: boolean;
  /** OIDC claim name (spec/attributes.md §2); absent when no claim carries it. */
  claim?: string;
  /** The claim is one string (the first value); otherwise a JSON array. */
  claimSingle?: boolean;
}

const oid = (n: string) => `urn:oid:${n}`;
const mace = (friendly: string) => `urn:mace:dir:attribute-def:${friendly}`;
const voPersonV1 = (n: number) => oid(`1.3.6.1.4.1.34998.3.3.1.${n}`);

export const ATTRIBUTES: readonly AttributeDefinition[] = [
  { name: 'eduPersonPrincipalName', saml: oid('1.3.6.1.4.1.5923.1.1.1.6'), single: true, scoped: true, claim: 'eduperson_principal_name', claimSingle: true },
  { name: 'eduPersonUniqueId', saml: oid('1.3.6.1.4.1.5923.1.1.1.13'), single: true, scoped: true, claim: 'eduperson_unique_id', claimSingle: true },
  { name: 'subject-id', saml: 'urn:oasis:names:tc:SAML:attribute:subject-id', single: true, scoped: true },
  { name: 'pairwise-id', saml: 'urn:oasis:names:tc:SAML:attribute:pairwise-id', single: true, scoped: true },
  { name: 'voPersonID', saml: oid('1.3.6.1.4.1.25178.4.1.6'), samlInbound: [voPersonV1(6)], single: true, scoped: true, claim: 'voperson_id', claimSingle: true },
  { name: 'mail', saml: oid('0.9.2342.19200300.100.1.3'), claim: 'email', claimSingle: true },
  { name: 'voPersonVerifiedEmail', saml: oid('1.3.6.1.4.1.25178.4.1.14'), claim: 'voperson_verified_email' },
  { name: 'displayName', saml: oid('2.16.840.1.113730.3.1.241'), single: true, claim: 'name', claimSingle: true },
  { name: 'givenName', saml: oid('2.5.4.42'), claim: 'given_name', claimSingle: true },
  { name: 'sn', saml: oid('2.5.4.4'), claim: 'family_name', claimSingle: true },
  { name: 'cn', saml: oid('2.5.4.3') },
  { name: 'uid', saml: oid('0.9.2342.19200300.100.1.1'), claim: 'preferred_username', claimSingle: true },
  { name: 'eduPersonAffiliation', saml: oid('1.3.6.1.4.1.5923.1.1.1.1'), claim: 'eduperson_affiliation' },
  { name: 'eduPersonScopedAffiliation', saml: oid('1.3.6.1.4.1.5923.1.1.1.9'), scoped: true, claim: 'eduperson_scoped_affiliation' },
  { name: 'eduPersonPrimaryAffiliation', saml: oid('1.3.6.1.4.1.5923.1.1.1.5'), single: true },
  { name: 'voPersonExternalAffiliation', saml: oid('1.3.6.1.4.1.25178.4.1.11'), samlInbound: [voPersonV1(11)], scoped: true, claim: 'voperson_external_affiliation' },
  { name: 'eduPersonEntitlement', saml: oid('1.3.6.1.4.1.5923.1.1.1.7'), claim: 'eduperson_entitlement' },
  { name: 'eduPersonAssurance', saml: oid('1.3.6.1.4.1.5923.1.1.1.11'), claim: 'eduperson_assurance' },
  { name: 'eduPersonOrcid', saml: oid('1.3.6.1.4.1.5923.1.1.1.16'), claim: 'orcid', claimSingle: true },
  { name: 'schacHomeOrganization', saml: oid('1.3.6.1.4.1.25178.1.2.9'), single: true, valueIsScope: true, claim: 'schac_home_organization', claimSingle: true },
  { name: 'schacHomeOrganizationType', saml: oid('1.3.6.1.4.1.25178.1.2.10') },
  { name: 'voPersonExternalID', saml: oid('1.3.6.1.4.1.25178.4.1.5'), samlInbound: [voPersonV1(5)], scoped: true, claim: 'voperson_external_id' },
  { name: 'voPersonPolicyAgreement', saml: oid('1.3.6.1.4.1.25178.4.1.7'), samlInbound: [voPersonV1(7)], claim: 'voperson_policy_agreement' },
  { name: 'sshPublicKey', saml: oid('1.3.6.1.4.1.24552.500.1.1.1.13'), claim: 'ssh_public_key' },
  { name: 'isMemberOf', saml: oid('1.3.6.1.4.1.5923.1.5.1.1') },
  { name: 'o', saml: oid('2.5.4.10') },
  { name: 'ou', saml: oid('2.5.4.11') },
];

const byInternal = new Map(ATTRIBUTES.map((a) => [a.name, a]));
const bySaml = new Map<string, AttributeDefinition>();
for (const a of ATTRIBUTES) {
  bySaml.set(a.saml, a);
  bySaml.set(mace(a.name), a);
  for (const alias of a.samlInbound ?? []) bySaml.set(alias, a);
}

/** The definition for a SAML Attribute Name as received, or undefined when fedgate does not know it. */
export function fromSamlName(samlName: string): AttributeDefinition | undefined {
  return bySaml.get(samlName);
}

export function definitionOf(internalName: string): AttributeDefinition | undefined {
  return byInternal.get(internalName);
}

const byClaim = new Map(ATTRIBUTES.filter((a) => a.claim).map((a) => [a.claim as string, a]));

/** The definition for an OIDC claim name, or undefined when fedgate does not map it. */
export function fromClaimName(claim: string): AttributeDefinition | undefined {
  return byClaim.get(claim);
}
