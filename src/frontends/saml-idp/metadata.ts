/**
 * IdP metadata (SAML metadata §2.4.3) for fedgate's downstream frontend and for the demo IdPs:
 * entityID, signing key, SSO endpoints, NameID formats, mdui display name, scopes and a
 * technical contact, in schema order.
 */
import { certBody } from '../../crypto/keys.js';
import { escapeHtml } from '../../http/html.js';
import type { Localized } from '../../metadata/types.js';

export interface IdpMetadataOptions {
  entityId: string;
  certPem: string;
  /** Also publish the key for encryption (the demo IdPs; fedgate's frontend only signs). */
  encryptionKey?: boolean;
  ssoServices: { binding: string; location: string }[];
  nameIdFormats: string[];
  displayName: Localized;
  /** shibmd:Scope values (regexp="false"). */
  scopes?: string[];
  technicalContact?: string;
}

// Numeric character references are as valid in XML as in HTML.
const esc = escapeHtml;

function keyDescriptor(use: 'signing' | 'encryption', cert: string): string {
  return `<md:KeyDescriptor use="${use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
}

export function idpMetadataXml(o: IdpMetadataOptions): string {
  const cert = certBody(o.certPem);
  const names = Object.entries(o.displayName).map(
    ([lang, text]) => `<mdui:DisplayName xml:lang="${esc(lang || 'en')}">${esc(text)}</mdui:DisplayName>`,
  );
  const scopes = (o.scopes ?? []).map((s) => `<shibmd:Scope regexp="false">${esc(s)}</shibmd:Scope>`);
  const contact = o.technicalContact
    ? `<md:ContactPerson contactType="technical"><md:EmailAddress>mailto:${esc(o.technicalContact)}</md:EmailAddress></md:ContactPerson>`
    : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" entityID="${esc(o.entityId)}">` +
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
    `<md:Extensions>${scopes.join('')}<mdui:UIInfo>${names.join('')}</mdui:UIInfo></md:Extensions>` +
    keyDescriptor('signing', cert) +
    (o.encryptionKey ? keyDescriptor('encryption', cert) : '') +
    o.nameIdFormats.map((f) => `<md:NameIDFormat>${esc(f)}</md:NameIDFormat>`).join('') +
    o.ssoServices.map((s) => `<md:SingleSignOnService Binding="${esc(s.binding)}" Location="${esc(s.location)}"/>`).join('') +
    '</md:IDPSSODescriptor>' +
    contact +
    '</md:EntityDescriptor>\n'
  );
}
