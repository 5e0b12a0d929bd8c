/**
 * The checks node-saml does not make (dependencies.md §4), made on the assertion exactly as its
 * signature verified it: the XML node-saml hands back from the signed reference, never the
 * posted document, so a wrapped or altered copy elsewhere in the message cannot be read instead.
 */
import {
  ExpiredMessageError,
  MalformedResponseError,
  WrongDestinationError,
  WrongIssuerError,
} from '../../core/errors.js';
import type { ResponseEnvelope } from './envelope.js';
import { NS, attr, child, children, parseSamlXml, textOf, type ParsedElement } from './xml.js';

export const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

export interface BearerConfirmation {
  recipient?: string;
  inResponseTo?: string;
  notBefore?: string;
  notOnOrAfter?: string;
}

export interface VerifiedAssertion {
  id: string;
  issuer?: string;
  bearer: BearerConfirmation[];
  conditionsNotOnOrAfter?: string;
  authnInstant?: string;
  contextClassRefs: string[];
}

/** Facts of the verified assertion XML (as returned by node-saml's `profile.getAssertionXml()`). */
export function readVerifiedAssertion(xml: string): VerifiedAssertion {
  return assertionFacts(parseSamlXml(xml).documentElement);
}

/** Facts of a verified assertion already parsed (from the canonical XML its signature covers). */
export function assertionFacts(assertion: ParsedElement): VerifiedAssertion {
  if (assertion.namespaceURI !== NS.saml || assertion.localName !== 'Assertion') {
    throw new MalformedResponseError(`the signed element is a ${assertion.localName}, not an Assertion`);
  }
  const id = attr(assertion, 'ID');
  if (!id) throw new MalformedResponseError('the assertion has no ID');
  const subject = child(assertion, NS.saml, 'Subject');
  const bearer = (subject ? children(subject, NS.saml, 'SubjectConfirmation') : [])
    .filter((c) => attr(c, 'Method') === BEARER)
    .map((c) => {
      const data = child(c, NS.saml, 'SubjectConfirmationData');
      return {
        recipient: attr(data, 'Recipient'),
        inResponseTo: attr(data, 'InResponseTo'),
        notBefore: attr(data, 'NotBefore'),
        notOnOrAfter: attr(data, 'NotOnOrAfter'),
      };
    });
  const statements = children(assertion, NS.saml, 'AuthnStatement');
  const contextClassRefs = statements.flatMap((s) => {
    const context = child(s, NS.saml, 'AuthnContext');
    const ref = context && textOf(child(context, NS.saml, 'AuthnContextClassRef'));
    return ref ? [ref] : [];
  });
  return {
    id,
    issuer: textOf(child(assertion, NS.saml, 'Issuer')),
    bearer,
    conditionsNotOnOrAfter: attr(child(assertion, NS.saml, 'Conditions'), 'NotOnOrAfter'),
    authnInstant: attr(statements[0], 'AuthnInstant'),
    contextClassRefs,
  };
}

export interface Expected {
  issuer: string;
  acsUrl: string;
  inResponseTo: string;
  clockSkewMs: number;
  now?: number;
}

/**
 * Response Destination (SAML bindings §3.5.5.2: required on a signed Response), the assertion's
 * Issuer, and every bearer SubjectConfirmation (SAML profiles §4.1.4.3: Recipient = our ACS,
 * InResponseTo = our request, NotOnOrAfter in the future).
 */
export function checkVerifiedResponse(envelope: ResponseEnvelope, assertion: VerifiedAssertion, expected: Expected): void {
  checkDestination(envelope, expected.acsUrl);
  if (assertion.issuer !== expected.issuer) {
    throw new WrongIssuerError(`assertion issued by ${assertion.issuer ?? '(none)'}, expected ${expected.issuer}`);
  }
  if (assertion.bearer.length === 0) throw new MalformedResponseError('the assertion has no bearer SubjectConfirmation');
  const now = expected.now ?? Date.now();
  for (const bearer of assertion.bearer) {
    if (bearer.recipient !== expected.acsUrl) {
      throw new WrongDestinationError(`SubjectConfirmationData Recipient ${bearer.recipient ?? '(none)'} is not ${expected.acsUrl}`);
    }
    if (bearer.inResponseTo !== expected.inResponseTo) {
      throw new MalformedResponseError(
        `SubjectConfirmationData InResponseTo ${bearer.inResponseTo ?? '(none)'} does not match the Response's ${expected.inResponseTo}`,
      );
    }
    const notOnOrAfter = instant(bearer.notOnOrAfter, 'SubjectConfirmationData NotOnOrAfter');
    if (notOnOrAfter === undefined) throw new MalformedResponseError('bearer SubjectConfirmationData has no NotOnOrAfter');
    if (now - expected.clockSkewMs >= notOnOrAfter) throw new ExpiredMessageError(`bearer confirmation expired at ${bearer.notOnOrAfter}`);
    const notBefore = instant(bearer.notBefore, 'SubjectConfirmationData NotBefore');
    if (notBefore !== undefined && now + expected.clockSkewMs < notBefore) {
      throw new ExpiredMessageError(`bearer confirmation not valid before ${bearer.notBefore}`);
    }
  }
}

export function checkDestination(envelope: ResponseEnvelope, acsUrl: string): void {
  if (envelope.destination === undefined) {
    if (envelope.signed) throw new WrongDestinationError('signed Response without Destination');
    return;
  }
  if (envelope.destination !== acsUrl) throw new WrongDestinationError(`Response Destination ${envelope.destination} is not ${acsUrl}`);
}

/** Until when the assertion could be accepted: the replay cache must remember it that long. */
export function acceptableUntil(assertion: VerifiedAssertion): number {
  const instants = [assertion.conditionsNotOnOrAfter, ...assertion.bearer.map((b) => b.notOnOrAfter)]
    .map((v) => instant(v, 'NotOnOrAfter'))
    .filter((v): v is number => v !== undefined);
  return Math.max(...instants);
}

function instant(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new MalformedResponseError(`${name} ${value} is not a dateTime`);
  return ms;
}
