/**
 * IdPs for the discovery tests, as metadata: names in several languages and scripts, DomainHints,
 * scopes, keywords, entity categories and certifications. None of them is reachable; logins in
 * these tests go to a live peer (test/helpers/saml-idp-peer.ts) listed beside them.
 */
import { upstreamFromEntity } from '../../src/metadata/registration.js';
import { parseMetadata } from '../../src/metadata/parse.js';
import type { UpstreamRegistration } from '../../src/core/registration.js';
import { aggregate } from '../fixtures/metadata/build.js';

export const RS = 'http://refeds.org/category/research-and-scholarship';
export const SIRTFI = 'https://refeds.org/sirtfi';
export const HIDE = 'http://refeds.org/category/hide-from-discovery';
export const DFN = 'https://www.aai.dfn.de';
export const GAKUNIN = 'https://www.gakunin.jp';

export interface DiscoveryIdp {
  entityId: string;
  names: Record<string, string>;
  domainHints?: string[];
  scopes?: string[];
  /** Keywords per language, space-separated as in metadata. */
  keywords?: Record<string, string>;
  categories?: string[];
  categorySupport?: string[];
  certifications?: string[];
  registrationAuthority?: string;
  logo?: string;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function attribute(name: string, values: string[] | undefined): string {
  if (!values?.length) return '';
  return `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">${values.map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`;
}

/** One IdP's EntityDescriptor, for `aggregate()` (which declares the namespaces). */
export function discoveryIdpEntity(idp: DiscoveryIdp): string {
  const attributes =
    attribute('http://macedir.org/entity-category', idp.categories) +
    attribute('http://macedir.org/entity-category-support', idp.categorySupport) +
    attribute('urn:oasis:names:tc:SAML:attribute:assurance-certification', idp.certifications);
  const entityExtensions =
    (idp.registrationAuthority ? `<mdrpi:RegistrationInfo registrationAuthority="${esc(idp.registrationAuthority)}"/>` : '') +
    (attributes ? `<mdattr:EntityAttributes>${attributes}</mdattr:EntityAttributes>` : '');
  const names = Object.entries(idp.names).map(([lang, name]) => `<mdui:DisplayName xml:lang="${lang}">${esc(name)}</mdui:DisplayName>`);
  const keywords = Object.entries(idp.keywords ?? {}).map(([lang, words]) => `<mdui:Keywords xml:lang="${lang}">${esc(words)}</mdui:Keywords>`);
  const logo = idp.logo ? `<mdui:Logo width="64" height="64">${esc(idp.logo)}</mdui:Logo>` : '';
  const hints = idp.domainHints?.length ? `<mdui:DiscoHints>${idp.domainHints.map((d) => `<mdui:DomainHint>${esc(d)}</mdui:DomainHint>`).join('')}</mdui:DiscoHints>` : '';
  const scopes = (idp.scopes ?? []).map((s) => `<shibmd:Scope regexp="false">${esc(s)}</shibmd:Scope>`).join('');
  return `<md:EntityDescriptor entityID="${esc(idp.entityId)}">${entityExtensions ? `<md:Extensions>${entityExtensions}</md:Extensions>` : ''}
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:Extensions>${scopes}<mdui:UIInfo>${names.join('')}${keywords.join('')}${logo}</mdui:UIInfo>${hints}</md:Extensions>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${esc(new URL('/sso', idp.entityId).toString())}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
}

export function discoveryAggregate(idps: DiscoveryIdp[]): string {
  return aggregate(idps.map(discoveryIdpEntity));
}

/** The IdPs as the SAML backend offers them to discovery. */
export function upstreamsOf(idps: DiscoveryIdp[]): UpstreamRegistration[] {
  return parseMetadata(discoveryAggregate(idps), 'discovery fixtures').records.flatMap((r) => upstreamFromEntity(r, 'saml', false) ?? []);
}

export const HEIDELBERG: DiscoveryIdp = {
  entityId: 'https://idp.uni-heidelberg.de/idp/shibboleth',
  names: { de: 'Universität Heidelberg', en: 'Heidelberg University' },
  domainHints: ['uni-heidelberg.de'],
  scopes: ['uni-heidelberg.de'],
  keywords: { de: 'Ruprecht-Karls-Universität Medizinische+Fakultät' },
  categorySupport: [RS],
  certifications: [SIRTFI],
  registrationAuthority: DFN,
  logo: 'https://idp.uni-heidelberg.de/logo.png',
};

export const MUNICH: DiscoveryIdp = {
  entityId: 'https://login.tum.de/idp/shibboleth',
  names: { de: 'Technische Universität München', en: 'Technical University of Munich' },
  scopes: ['tum.de'],
  registrationAuthority: DFN,
};

export const TOKYO: DiscoveryIdp = {
  entityId: 'https://idp.u-tokyo.ac.jp/idp/shibboleth',
  names: { ja: '東京大学', en: 'The University of Tokyo' },
  scopes: ['u-tokyo.ac.jp'],
  categorySupport: [RS],
  registrationAuthority: GAKUNIN,
};

/** Known by a Japanese name only. */
export const KYOTO: DiscoveryIdp = {
  entityId: 'https://sso.kyoto-u.ac.jp/idp',
  names: { ja: '京都大学' },
  domainHints: ['kyoto-u.ac.jp'],
  certifications: [SIRTFI],
  registrationAuthority: GAKUNIN,
};

/** Carries hide-from-discovery: never listed, never found. */
export const HIDDEN: DiscoveryIdp = {
  entityId: 'https://idp.hidden-college.example.org/idp',
  names: { en: 'Hidden College', de: 'Verborgene Hochschule' },
  domainHints: ['hidden-college.example.org'],
  categories: [HIDE],
  certifications: [SIRTFI],
};

export const FEDERATION = [HEIDELBERG, MUNICH, TOKYO, KYOTO, HIDDEN];
