/**
 * An AuthnRequest from the wire to a verified request, in the order that lets nothing unverified
 * steer the answer: decode and parse, identify the SP from metadata, check the signature with its
 * keys, then Destination, age and the ACS. Every failure is a typed error.
 */
import {
  ExpiredRequestError,
  MalformedRequestError,
  RequestSignatureRequiredError,
  UnknownServiceProviderError,
} from '../../core/errors.js';
import { BINDINGS, type EntityRecord, type SpRole } from '../../metadata/types.js';
import { chooseAcs } from './acs.js';
import { readAuthnRequest, type AuthnRequestFields } from './authn-request.js';
import { decodePostMessage, decodeRedirectMessage } from './decode.js';
import type { RedirectQuery } from './query.js';
import { verifyEnvelopedSignature, verifyRedirectSignature } from './request-signature.js';
import { signingCerts } from './sp-keys.js';
import { SAML_NS } from '../../xml/untrusted.js';
import { child, parseDom, parseXml, type ParsedElement } from './xml.js';

export type InboundMessage =
  | { binding: 'redirect'; query: RedirectQuery }
  | { binding: 'post'; SAMLRequest?: string; RelayState?: string };

export interface ReceiveOptions {
  /** The SPs that may use this IdP, by entityID, from verified metadata. */
  findSp(entityId: string): EntityRecord | undefined;
  /** Whether unsigned requests from this SP are refused (beyond its metadata's AuthnRequestsSigned). */
  requireSignature(sp: EntityRecord): boolean;
  /** This IdP's SSO endpoint: the only acceptable Destination. */
  ssoUrl: string;
  clockSkewSeconds: number;
  /** Largest message accepted, after inflating an HTTP-Redirect one (server.bodyLimitBytes). */
  maxMessageBytes: number;
  now?: Date;
}

export interface VerifiedAuthnRequest {
  fields: AuthnRequestFields;
  sp: EntityRecord & { sp: SpRole };
  /** From the SP's metadata. */
  acsUrl: string;
  relayState?: string;
  signed: boolean;
}

/** The longest RelayState kept; the binding allows 80 bytes, some SPs send more. */
const MAX_RELAY_STATE = 1024;
/** How old a request may be beyond the clock skew: the user may have waited on the SP's page. */
const MAX_AGE_SECONDS = 300;

/** Decodes and parses the message, with no trust decision yet. */
export function decodeAuthnRequest(message: InboundMessage, maxBytes: number): { xml: string; root: ParsedElement; relayState?: string } {
  const encoded = message.binding === 'redirect' ? message.query.SAMLRequest : message.SAMLRequest;
  if (!encoded) throw new MalformedRequestError('no SAMLRequest');
  const relayState = message.binding === 'redirect' ? message.query.RelayState : message.RelayState;
  if (relayState !== undefined && relayState.length > MAX_RELAY_STATE) {
    throw new MalformedRequestError(`RelayState is longer than ${MAX_RELAY_STATE} characters`);
  }
  const xml = message.binding === 'redirect' ? decodeRedirectMessage(encoded, maxBytes) : decodePostMessage(encoded, maxBytes);
  return { xml, root: parseXml(xml).documentElement, relayState: relayState || undefined };
}

function verifySignature(message: InboundMessage, xml: string, root: ParsedElement, sp: EntityRecord & { sp: SpRole }, required: boolean): { root: ParsedElement; signed: boolean } {
  const certs = signingCerts(sp.sp.keys);
  if (message.binding === 'redirect') {
    const { SigAlg, Signature, signedOctets } = message.query;
    if (SigAlg === undefined && Signature === undefined) {
      if (required) throw new RequestSignatureRequiredError(`unsigned Redirect AuthnRequest from ${sp.entityId}`);
      return { root, signed: false };
    }
    if (!SigAlg || !Signature || !signedOctets) throw new MalformedRequestError('Redirect signature needs both SigAlg and Signature');
    verifyRedirectSignature(signedOctets, SigAlg, Signature, certs);
    return { root, signed: true };
  }
  if (!child(root, SAML_NS.ds, 'Signature')) {
    if (required) throw new RequestSignatureRequiredError(`unsigned POST AuthnRequest from ${sp.entityId}`);
    return { root, signed: false };
  }
  // xml-crypto's SignedXml walks the signature with XPath, which needs xmldom's DOM of the same text.
  return { root: verifyEnvelopedSignature(xml, parseDom(xml).documentElement, certs), signed: true };
}

export function receiveAuthnRequest(message: InboundMessage, options: ReceiveOptions): VerifiedAuthnRequest {
  const decoded = decodeAuthnRequest(message, options.maxMessageBytes);
  const claimed = readAuthnRequest(decoded.root);
  const record = options.findSp(claimed.issuer);
  if (!record?.sp) throw new UnknownServiceProviderError(`AuthnRequest from ${claimed.issuer}, which is no SP in the metadata`);
  const sp = record as EntityRecord & { sp: SpRole };

  const required = sp.sp.authnRequestsSigned || options.requireSignature(sp);
  const verified = verifySignature(message, decoded.xml, decoded.root, sp, required);
  // After a POST signature, only what the signature covers counts.
  const fields = verified.root === decoded.root ? claimed : readAuthnRequest(verified.root);
  if (fields.issuer !== sp.entityId) throw new MalformedRequestError('signed Issuer differs from the one read before verification');

  if (fields.destination !== undefined && fields.destination !== options.ssoUrl) {
    throw new MalformedRequestError(`AuthnRequest Destination ${fields.destination} is not ${options.ssoUrl}`);
  }
  const now = (options.now ?? new Date()).getTime();
  const skewMs = options.clockSkewSeconds * 1000;
  const issued = fields.issueInstant.getTime();
  if (issued > now + skewMs || issued < now - skewMs - MAX_AGE_SECONDS * 1000) {
    throw new ExpiredRequestError(`AuthnRequest IssueInstant ${fields.issueInstant.toISOString()} is outside the accepted window`);
  }
  if (fields.protocolBinding !== undefined && fields.protocolBinding !== BINDINGS.post) {
    throw new MalformedRequestError(`ProtocolBinding ${fields.protocolBinding} is not supported; fedgate answers with HTTP-POST`);
  }
  const acsUrl = chooseAcs(sp.entityId, sp.sp, { acsUrl: fields.acsUrl, acsIndex: fields.acsIndex });
  return { fields, sp, acsUrl, relayState: decoded.relayState, signed: verified.signed };
}
