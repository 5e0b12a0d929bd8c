/** What fedgate reads from a samlp:AuthnRequest (SAML core §3.4.1), checked for form only. */
import { MalformedRequestError } from '../../core/errors.js';
import type { RequestedAuthnContext } from '../../core/model.js';
import { SAML_NS } from '../../xml/untrusted.js';
import { attr, child, children, textOf, type ParsedElement } from './xml.js';

export interface AuthnRequestFields {
  id: string;
  issuer: string;
  issueInstant: Date;
  destination?: string;
  acsUrl?: string;
  acsIndex?: number;
  protocolBinding?: string;
  forceAuthn: boolean;
  isPassive: boolean;
  /** NameIDPolicy@Format as sent. */
  nameIdFormat?: string;
  requestedAuthnContext?: RequestedAuthnContext;
  /** Scoping/IDPList/IDPEntry@ProviderID. */
  idpEntries: string[];
}

const ENTITY_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity';
const XML_ID = /^[A-Za-z_][\w.-]{0,255}$/;
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const COMPARISONS = ['exact', 'minimum', 'maximum', 'better'] as const;

function bool(el: ParsedElement, name: string): boolean {
  const v = attr(el, name)?.trim();
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new MalformedRequestError(`${name}="${v}" is not a boolean`);
}

function requestedAuthnContext(root: ParsedElement): RequestedAuthnContext | undefined {
  const rac = child(root, SAML_NS.samlp, 'RequestedAuthnContext');
  if (!rac) return undefined;
  const comparison = attr(rac, 'Comparison') ?? 'exact';
  if (!(COMPARISONS as readonly string[]).includes(comparison)) {
    throw new MalformedRequestError(`RequestedAuthnContext Comparison="${comparison}" is not defined`);
  }
  return {
    comparison: comparison as RequestedAuthnContext['comparison'],
    // Only class references: fedgate never asserts declarations, so a request for one cannot be met.
    classRefs: children(rac, SAML_NS.saml, 'AuthnContextClassRef').flatMap((el) => textOf(el) ?? []),
  };
}

export function readAuthnRequest(root: ParsedElement): AuthnRequestFields {
  if (root.namespaceURI !== SAML_NS.samlp || root.localName !== 'AuthnRequest') {
    throw new MalformedRequestError(`expected samlp:AuthnRequest, got {${root.namespaceURI}}${root.localName}`);
  }
  if (attr(root, 'Version') !== '2.0') throw new MalformedRequestError(`AuthnRequest Version is not 2.0`);
  const id = attr(root, 'ID') ?? '';
  if (!XML_ID.test(id)) throw new MalformedRequestError('AuthnRequest ID is missing or not an xs:ID');
  const instant = attr(root, 'IssueInstant') ?? '';
  const issueInstant = new Date(instant);
  if (!DATE_TIME.test(instant) || Number.isNaN(issueInstant.getTime())) {
    throw new MalformedRequestError(`AuthnRequest IssueInstant "${instant}" is not an xs:dateTime`);
  }
  const issuerEl = child(root, SAML_NS.saml, 'Issuer');
  const issuer = textOf(issuerEl) ?? '';
  if (!issuerEl || issuer === '' || (attr(issuerEl, 'Format') ?? ENTITY_FORMAT) !== ENTITY_FORMAT) {
    throw new MalformedRequestError('AuthnRequest has no entity Issuer');
  }
  const indexText = attr(root, 'AssertionConsumerServiceIndex');
  if (indexText !== undefined && !/^\d{1,5}$/.test(indexText)) {
    throw new MalformedRequestError(`AssertionConsumerServiceIndex "${indexText}" is not an unsignedShort`);
  }
  const acsUrl = attr(root, 'AssertionConsumerServiceURL');
  if (acsUrl !== undefined && indexText !== undefined) {
    throw new MalformedRequestError('AuthnRequest names both AssertionConsumerServiceURL and AssertionConsumerServiceIndex');
  }
  const nameIdPolicy = child(root, SAML_NS.samlp, 'NameIDPolicy');
  const scoping = child(root, SAML_NS.samlp, 'Scoping');
  const idpList = scoping && child(scoping, SAML_NS.samlp, 'IDPList');
  return {
    id,
    issuer,
    issueInstant,
    destination: attr(root, 'Destination'),
    acsUrl,
    acsIndex: indexText === undefined ? undefined : Number(indexText),
    protocolBinding: attr(root, 'ProtocolBinding'),
    forceAuthn: bool(root, 'ForceAuthn'),
    isPassive: bool(root, 'IsPassive'),
    nameIdFormat: nameIdPolicy ? attr(nameIdPolicy, 'Format') : undefined,
    requestedAuthnContext: requestedAuthnContext(root),
    idpEntries: idpList
      ? children(idpList, SAML_NS.samlp, 'IDPEntry')
          .map((e) => attr(e, 'ProviderID')?.trim() ?? '')
          .filter(Boolean)
      : [],
  };
}
