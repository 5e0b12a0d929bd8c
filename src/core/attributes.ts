/**
 * The one mapping table between internal attribute names and their SAML names (spec/attributes.md
 * §2). Frontends and backends translate through it; nothing else sees urn:oid names.
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
}

const oid = (n: string) => `urn:oid:${n}`;
const mace = (friendly: string) => `urn:mace:dir:attribute-def:${friendly}`;
const voPersonV1 = (n: number) => oid(`1.3.6.1.4.1.34998.3.3.1.${n}`);

export const ATTRIBUTES: readonly AttributeDefinition[] = [
  { name: 'eduPersonPrincipalName', saml: oid('1.3.6.1.4.1.5923.1.1.1.6'), single: true, scoped: true },
  { name: 'eduPersonUniqueId', saml: oid('1.3.6.1.4.1.5923.1.1.1.13'), single: true, scoped: true },
  { name: 'subject-id', saml: 'urn:oasis:names:tc:SAML:attribute:subject-id', single: true, scoped: true },
  { name: 'pairwise-id', saml: 'urn:oasis:names:tc:SAML:attribute:pairwise-id', single: true, scoped: true },
  { name: 'voPersonID', saml: oid('1.3.6.1.4.1.25178.4.1.6'), samlInbound: [voPersonV1(6)], single: true, scoped: true },
  { name: 'mail', saml: oid('0.9.2342.19200300.100.1.3') },
  { name: 'voPersonVerifiedEmail', saml: oid('1.3.6.1.4.1.25178.4.1.14') },
  { name: 'displayName', saml: oid('2.16.840.1.113730.3.1.241'), single: true },
  { name: 'givenName', saml: oid('2.5.4.42') },
  { name: 'sn', saml: oid('2.5.4.4') },
  { name: 'cn', saml: oid('2.5.4.3') },
  { name: 'uid', saml: oid('0.9.2342.19200300.100.1.1') },
  { name: 'eduPersonAffiliation', saml: oid('1.3.6.1.4.1.5923.1.1.1.1') },
  { name: 'eduPersonScopedAffiliation', saml: oid('1.3.6.1.4.1.5923.1.1.1.9'), scoped: true },
  { name: 'eduPersonPrimaryAffiliation', saml: oid('1.3.6.1.4.1.5923.1.1.1.5'), single: true },
  { name: 'voPersonExternalAffiliation', saml: oid('1.3.6.1.4.1.25178.4.1.11'), samlInbound: [voPersonV1(11)], scoped: true },
  { name: 'eduPersonEntitlement', saml: oid('1.3.6.1.4.1.5923.1.1.1.7') },
  { name: 'eduPersonAssurance', saml: oid('1.3.6.1.4.1.5923.1.1.1.11') },
  { name: 'eduPersonOrcid', saml: oid('1.3.6.1.4.1.5923.1.1.1.16') },
  { name: 'schacHomeOrganization', saml: oid('1.3.6.1.4.1.25178.1.2.9'), single: true },
  { name: 'schacHomeOrganizationType', saml: oid('1.3.6.1.4.1.25178.1.2.10') },
  { name: 'voPersonExternalID', saml: oid('1.3.6.1.4.1.25178.4.1.5'), samlInbound: [voPersonV1(5)], scoped: true },
  { name: 'voPersonPolicyAgreement', saml: oid('1.3.6.1.4.1.25178.4.1.7'), samlInbound: [voPersonV1(7)] },
  { name: 'sshPublicKey', saml: oid('1.3.6.1.4.1.24552.500.1.1.1.13') },
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
