/**
 * Signature, decryption, validity window and audience of an upstream Response, by node-saml, with
 * keys from the IdP's verified metadata only; then fedgate's own checks on what the signature
 * covered (assertion.ts). Library failures become typed errors; the library's words are kept as
 * the logged reason.
 */
import type { KeyObject } from 'node:crypto';
import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
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
import { checkVerifiedResponse, readVerifiedAssertion, type VerifiedAssertion } from './assertion.js';
import type { ResponseEnvelope } from './envelope.js';

export interface ServiceProviderSide {
  entityId: string;
  acsUrl: string;
  /** Parsed once: parsing a PEM private key costs about as much as the RSA decryption itself. */
  decryptionKey: KeyObject;
  clockSkewMs: number;
}

export interface VerifiedResponse {
  profile: Profile;
  assertion: VerifiedAssertion;
}

/** Certificates of the IdP's keys usable for signing (KeyDescriptor use="signing" or no use). */
export function signingCerts(idp: EntityRecord): string[] {
  return (idp.idp?.keys ?? []).filter((k) => k.use !== 'encryption').map((k) => k.certPem);
}

/**
 * Every signature present must verify with a metadata key, and at least one must cover the
 * assertion: either the Response's (which covers the assertion inside it, encrypted or not) or the
 * assertion's own. node-saml ignores a Response signature that fails unless told to want one, so
 * it is told to exactly when the Response carries one.
 */
export async function verifyResponse(
  base64: string,
  envelope: ResponseEnvelope,
  idp: EntityRecord,
  inResponseTo: string,
  sp: ServiceProviderSide,
): Promise<VerifiedResponse> {
  const certs = signingCerts(idp);
  if (certs.length === 0) throw new InvalidSignatureError(`${idp.entityId} publishes no signing key in its metadata`);
  const saml = new SAML({
    issuer: sp.entityId,
    callbackUrl: sp.acsUrl,
    audience: sp.entityId,
    idpCert: certs,
    // node-saml passes it on to xml-encryption's privateDecrypt, which takes a KeyObject as well as PEM.
    decryptionPvk: sp.decryptionKey as unknown as string,
    wantAuthnResponseSigned: envelope.signed,
    wantAssertionsSigned: !envelope.signed || envelope.assertionSigned,
    acceptedClockSkewMs: sp.clockSkewMs,
    // InResponseTo is bound and consumed by the caller, atomically, after this verification; with
    // it node-saml also skips the SubjectConfirmation checks, which checkVerifiedResponse makes.
    validateInResponseTo: ValidateInResponseTo.never,
  });
  let profile: Profile | null;
  try {
    ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: base64 }));
  } catch (err) {
    throw fromNodeSamlError(err, envelope);
  }
  if (!profile) throw new MalformedResponseError('the Response carries no assertion');
  const xml = profile.getAssertionXml?.();
  if (!xml) throw new MalformedResponseError('node-saml returned no verified assertion');
  const assertion = readVerifiedAssertion(xml);
  checkVerifiedResponse(envelope, assertion, { issuer: idp.entityId, acsUrl: sp.acsUrl, inResponseTo, clockSkewMs: sp.clockSkewMs });
  return { profile, assertion };
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
