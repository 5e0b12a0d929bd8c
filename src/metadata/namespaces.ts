/** XML namespaces read from SAML metadata (spec/metadata.md §3). */
export const NS = {
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  mdui: 'urn:oasis:names:tc:SAML:metadata:ui',
  mdrpi: 'urn:oasis:names:tc:SAML:metadata:rpi',
  mdattr: 'urn:oasis:names:tc:SAML:metadata:attribute',
  shibmd: 'urn:mace:shibboleth:metadata:1.0',
  idpdisc: 'urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol',
  xml: 'http://www.w3.org/XML/1998/namespace',
} as const;

export const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
