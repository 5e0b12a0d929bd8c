/**
 * SAML metadata of a service provider served by this process: fedgate's upstream SP and the demo
 * service. Written out here rather than by node-saml's generator, which has no place for the
 * mdui and entity-attribute extensions SAML2int asks an SP to publish (SDP-SP15, SDP-SP39).
 */
import { certBody } from '../../crypto/keys.js';
import { NS } from '../../metadata/namespaces.js';
import { BINDINGS } from '../../metadata/types.js';

export interface SpMetadataOptions {
  entityId: string;
  acsUrl: string;
  signingCertPem: string;
  encryptionCertPem: string;
  authnRequestsSigned: boolean;
  /** mdui:DisplayName per language tag. */
  displayName: Record<string, string>;
  technicalContact?: string;
  /** idpdisc:DiscoveryResponse: where a discovery service sends the user back with the chosen IdP. */
  discoveryResponse?: string;
}

/** SAML2int SDP-SP15: the SP can use whichever subject identifier the IdP offers. */
export const SUBJECT_ID_REQ = 'urn:oasis:names:tc:SAML:profiles:subject-id:req';

/** Accepted for inbound encryption, strongest first (SDP-ALG01). */
const ENCRYPTION_METHODS = [
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
];

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function keyDescriptor(use: 'signing' | 'encryption', certPem: string, extra = ''): string {
  return `<md:KeyDescriptor use="${use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBody(certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>${extra}</md:KeyDescriptor>`;
}

export function spMetadataXml(o: SpMetadataOptions): string {
  const names = Object.entries(o.displayName)
    .map(([lang, name]) => `<mdui:DisplayName xml:lang="${esc(lang || 'en')}">${esc(name)}</mdui:DisplayName>`)
    .join('');
  const encryptionMethods = ENCRYPTION_METHODS.map((alg) => `<md:EncryptionMethod Algorithm="${alg}"/>`).join('');
  const discovery = o.discoveryResponse
    ? `<idpdisc:DiscoveryResponse Binding="${NS.idpdisc}" Location="${esc(o.discoveryResponse)}" index="0" isDefault="true"/>`
    : '';
  const contact = o.technicalContact
    ? `<md:ContactPerson contactType="technical"><md:EmailAddress>mailto:${esc(o.technicalContact)}</md:EmailAddress></md:ContactPerson>`
    : '';
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ` +
    `xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute" ` +
    `xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" xmlns:idpdisc="${NS.idpdisc}" entityID="${esc(o.entityId)}">` +
    `<md:Extensions><mdattr:EntityAttributes>` +
    `<saml:Attribute Name="${SUBJECT_ID_REQ}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue>any</saml:AttributeValue></saml:Attribute>` +
    `</mdattr:EntityAttributes></md:Extensions>` +
    `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="${o.authnRequestsSigned}" WantAssertionsSigned="true">` +
    `<md:Extensions>${discovery}<mdui:UIInfo>${names}</mdui:UIInfo></md:Extensions>` +
    keyDescriptor('signing', o.signingCertPem) +
    keyDescriptor('encryption', o.encryptionCertPem, encryptionMethods) +
    `<md:AssertionConsumerService Binding="${BINDINGS.post}" Location="${esc(o.acsUrl)}" index="0" isDefault="true"/>` +
    `</md:SPSSODescriptor>${contact}</md:EntityDescriptor>\n`
  );
}
