/**
 * Signature, decryption, validity window and audience of an upstream Response, with keys from the
 * IdP's verified metadata only, checked on the one DOM parse of the posted message
 * (signature.ts); then fedgate's own checks on what the signature covered (assertion.ts). Every
 * fact is read from an element whose signature verified (which then holds exactly what was
 * signed), never from the rest of the posted document.
 */
import type { KeyObject } from 'node:crypto';
// node-saml's own decryption (xml-encryption): the same code that decrypted upstream assertions before.
import { decryptXml } from '@node-saml/node-saml/lib/xml.js';
import {
  ExpiredMessageError,
  FedgateError,
  InvalidSignatureError,
  MalformedResponseError,
  UnknownLoginError,
  UnsignedResponseError,
  WrongAudienceError,
} from '../../core/errors.js';
import type { EntityRecord } from '../../metadata/types.js';
import { serializeElement } from '../../xml/tree.js';
import { assertionFacts, checkVerifiedResponse, type VerifiedAssertion } from './assertion.js';
import type { ResponseEnvelope } from './envelope.js';
import { verifySignature } from './signature.js';
import { NS, attr, child, children, parseSamlXml, type ParsedDocument, type ParsedElement } from './xml.js';

export interface ServiceProviderSide {
  entityId: string;
  acsUrl: string;
  /** Parsed once: parsing a PEM private key costs about as much as the RSA decryption itself. */
  decryptionKey: KeyObject;
  clockSkewMs: number;
}

/** What the signed assertion says about the user. */
export interface AssertionProfile {
  nameID?: string;
  nameIDFormat?: string;
  nameQualifier?: string;
  spNameQualifier?: string;
  sessionIndex?: string;
  /** SAML attribute Name → its values: text, or undefined for a value with child elements. */
  attributes: Record<string, (string | undefined)[]>;
}

export interface VerifiedResponse {
  profile: AssertionProfile;
  assertion: VerifiedAssertion;
}

/** Certificates of the IdP's keys usable for signing (KeyDescriptor use="signing" or no use). */
export function signingCerts(idp: EntityRecord): string[] {
  return (idp.idp?.keys ?? []).filter((k) => k.use !== 'encryption').map((k) => k.certPem);
}

/** The one Assertion or EncryptedAssertion child of a (verified) Response. */
function assertionOf(response: ParsedElement): { assertion?: ParsedElement; encrypted?: ParsedElement } {
  const assertions = children(response, NS.saml, 'Assertion');
  const encrypted = children(response, NS.saml, 'EncryptedAssertion');
  if (assertions.length + encrypted.length > 1) throw new MalformedResponseError('Invalid signature: multiple assertions');
  if (assertions.length + encrypted.length === 0) throw new MalformedResponseError('the Response carries no assertion');
  return { assertion: assertions[0], encrypted: encrypted[0] };
}

async function decrypt(encrypted: ParsedElement, key: KeyObject): Promise<ParsedElement> {
  let xml: string;
  try {
    xml = await decryptXml(serializeElement(encrypted), key as unknown as string);
  } catch (err) {
    throw new MalformedResponseError(`cannot decrypt the assertion: ${(err as Error).message}`, { cause: err });
  }
  const assertion = parseSamlXml(xml).documentElement;
  if (assertion.namespaceURI !== NS.saml || assertion.localName !== 'Assertion') throw new MalformedResponseError('Invalid EncryptedAssertion content');
  return assertion;
}

/**
 * Every signature present must verify with a metadata key, and at least one must cover the
 * assertion: either the Response's (which covers the assertion inside it, encrypted or not) or the
 * assertion's own.
 */
export async function verifyResponse(
  doc: ParsedDocument,
  envelope: ResponseEnvelope,
  idp: EntityRecord,
  inResponseTo: string,
  sp: ServiceProviderSide,
): Promise<VerifiedResponse> {
  const certs = signingCerts(idp);
  if (certs.length === 0) throw new InvalidSignatureError(`${idp.entityId} publishes no signing key in its metadata`);
  const response = doc.documentElement;
  const responseSigned = verifySignature(response, certs);
  const { assertion: plain, encrypted } = assertionOf(response);
  const assertion = plain ?? (await decrypt(encrypted!, sp.decryptionKey));
  // Every signature present must verify; one of the two must cover the assertion read below.
  const assertionSigned = verifySignature(assertion, certs);
  if (!responseSigned && !assertionSigned) {
    if (encrypted) throw new InvalidSignatureError('neither the Response nor the decrypted assertion is signed');
    throw new UnsignedResponseError('neither the Response nor the assertion is signed');
  }

  const facts = assertionFacts(assertion);
  checkConditions(assertion, sp);
  checkVerifiedResponse(envelope, facts, { issuer: idp.entityId, acsUrl: sp.acsUrl, inResponseTo, clockSkewMs: sp.clockSkewMs });
  return { profile: profileOf(assertion), assertion: facts };
}

function instant(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new MalformedResponseError(`${name} ${value} is not a dateTime`);
  return ms;
}

/** Conditions: one element, its validity window (with the allowed skew) and our audience in every AudienceRestriction. */
function checkConditions(assertion: ParsedElement, sp: ServiceProviderSide, now = Date.now()): void {
  const all = children(assertion, NS.saml, 'Conditions');
  if (all.length > 1) throw new MalformedResponseError('Unable to process multiple conditions in SAML assertion');
  const conditions = all[0];
  if (!conditions) throw new MalformedResponseError('the assertion has no Conditions');
  const notBefore = instant(attr(conditions, 'NotBefore'), 'Conditions NotBefore');
  if (notBefore !== undefined && now + sp.clockSkewMs < notBefore) throw new ExpiredMessageError('SAML assertion not yet valid');
  const notOnOrAfter = instant(attr(conditions, 'NotOnOrAfter'), 'Conditions NotOnOrAfter');
  if (notOnOrAfter !== undefined && now - sp.clockSkewMs >= notOnOrAfter) throw new ExpiredMessageError('SAML assertion expired: clocks skewed too much');
  const restrictions = children(conditions, NS.saml, 'AudienceRestriction');
  if (restrictions.length === 0) throw new WrongAudienceError('SAML assertion has no AudienceRestriction');
  for (const restriction of restrictions) {
    const audiences = children(restriction, NS.saml, 'Audience').map((a) => a.textContent ?? '');
    if (audiences.length === 0 || audiences.some((a) => a === '')) throw new WrongAudienceError('SAML assertion AudienceRestriction has no Audience value');
    if (!audiences.includes(sp.entityId)) {
      throw new WrongAudienceError(`SAML assertion audience mismatch. Expected: ${sp.entityId} Received: ${audiences.join(', ')}`);
    }
  }
}

/** The subject and attributes, as node-saml's profile read them. */
function profileOf(assertion: ParsedElement): AssertionProfile {
  const profile: AssertionProfile = { attributes: {} };
  const subject = child(assertion, NS.saml, 'Subject');
  const nameId = subject && child(subject, NS.saml, 'NameID');
  if (nameId?.textContent) {
    profile.nameID = nameId.textContent;
    const format = attr(nameId, 'Format');
    if (format) {
      profile.nameIDFormat = format;
      profile.nameQualifier = attr(nameId, 'NameQualifier');
      profile.spNameQualifier = attr(nameId, 'SPNameQualifier');
    }
  }
  const sessionIndex = attr(children(assertion, NS.saml, 'AuthnStatement')[0], 'SessionIndex');
  if (sessionIndex) profile.sessionIndex = sessionIndex;
  for (const statement of children(assertion, NS.saml, 'AttributeStatement')) {
    for (const attribute of children(statement, NS.saml, 'Attribute')) {
      const name = attr(attribute, 'Name');
      const values = children(attribute, NS.saml, 'AttributeValue');
      if (!name || values.length === 0) continue;
      profile.attributes[name] = values.map((v) => (hasElementChild(v) ? undefined : v.textContent || undefined));
    }
  }
  return profile;
}

function hasElementChild(el: ParsedElement): boolean {
  for (const n of el.childNodes) if (n.nodeType === 1) return true;
  return false;
}

/** The typed error for a node-saml failure, its message kept as the reason. */
export function fromNodeSamlError(err: unknown, envelope: Pick<ResponseEnvelope, 'signed' | 'assertionSigned' | 'encrypted'>): FedgateError {
  if (err instanceof FedgateError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const reason = `node-saml: ${message}`;
  const options = { cause: err };
  if (/expired|not yet valid/i.test(message)) return new ExpiredMessageError(reason, options);
  if (/audience/i.test(message)) return new WrongAudienceError(reason, options);
  if (/InResponseTo/.test(message)) return new UnknownLoginError(reason, options);
  if (/multiple assertions/i.test(message)) return new MalformedResponseError(reason, options);
  if (/^Invalid signature$/.test(message) && !envelope.signed && !envelope.assertionSigned && !envelope.encrypted) {
    return new UnsignedResponseError(`${reason} (neither the Response nor the assertion is signed)`, options);
  }
  if (/signature|signed data/i.test(message)) return new InvalidSignatureError(reason, options);
  return new MalformedResponseError(reason, options);
}
