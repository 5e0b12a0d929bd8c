/**
 * SAML Responses fedgate (and its demo IdPs) send, built with samlify: one Assertion with one
 * AuthnStatement and at most one AttributeStatement, signed with RSA-SHA256 and exclusive c14n,
 * optionally encrypted (AES-256-GCM, RSA-OAEP) and then the Response signed over the result.
 *
 * samlify XML-escapes every template value (since 2.13), so values go in raw, and the fragments
 * (AuthnStatement, attributes) are rendered on their own and joined after replacement: a value
 * can never be read as a placeholder or as markup.
 */
import { randomBytes } from 'node:crypto';
import samlify from 'samlify';
import { certBody } from '../../crypto/keys.js';
import { ATTRIBUTES, NAME_FORMAT_URI } from '../../core/attributes.js';
import { ResponseBuildError, SAML_STATUS, type SamlStatus } from '../../core/errors.js';
import type { Attributes } from '../../core/model.js';
import type { NameIdValue } from './nameid.js';

export interface ResponseIssuer {
  entityId: string;
  /** The IdP's own metadata (see ./metadata.ts), from which samlify takes entityID and signing certificate. */
  metadataXml: string;
  keyPem: string;
  certPem: string;
}

export interface ResponseRecipient {
  entityId: string;
  /** The ACS the Response is posted to, from the SP's verified metadata. */
  acsUrl: string;
}

export interface LoginResponseInput {
  sp: ResponseRecipient & {
    /** Encrypt the assertion to this certificate when given. */
    encryptionCertPem?: string;
  };
  inResponseTo: string;
  /** Sign the Response element as well as the assertion. */
  signResponse: boolean;
  lifetimeSeconds: number;
  nameId: NameIdValue;
  authn: {
    instant: string;
    contextClassRef: string;
    sessionIndex: string;
    /** The upstream IdP that authenticated the user, when proxying. */
    authenticatingAuthority?: string;
  };
  /** Internal names; those without a definition in core/attributes are not sent. */
  attributes: Attributes;
  now?: Date;
}

export interface StatusResponseInput {
  sp: ResponseRecipient;
  inResponseTo: string;
  status: SamlStatus;
  message?: string;
  now?: Date;
}

const { Constants, SamlLib } = samlify;
const RSA_SHA256 = Constants.algorithms.signature.RSA_SHA256;
const AES_256_GCM = 'http://www.w3.org/2009/xmlenc11#aes256-gcm';
const RSA_OAEP = Constants.algorithms.encryption.key.RSA_OAEP_MGF1P;

const NS = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';
const RESPONSE_OPEN = `<samlp:Response ${NS} ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}"><saml:Issuer>{Issuer}</saml:Issuer>`;

const ASSERTION_HEAD =
  `${RESPONSE_OPEN}<samlp:Status><samlp:StatusCode Value="${SAML_STATUS.success}"/></samlp:Status>` +
  '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">' +
  '<saml:Issuer>{Issuer}</saml:Issuer>' +
  '<saml:Subject><saml:NameID Format="{NameIDFormat}" NameQualifier="{NameQualifier}" SPNameQualifier="{SPNameQualifier}">{NameID}</saml:NameID>' +
  '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{NotOnOrAfter}" Recipient="{Destination}" InResponseTo="{InResponseTo}"/></saml:SubjectConfirmation></saml:Subject>' +
  '<saml:Conditions NotBefore="{IssueInstant}" NotOnOrAfter="{NotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>';
const ASSERTION_TAIL = '</saml:Assertion></samlp:Response>';

const AUTHN_STATEMENT_OPEN =
  '<saml:AuthnStatement AuthnInstant="{AuthnInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext><saml:AuthnContextClassRef>{ClassRef}</saml:AuthnContextClassRef>';
const AUTHENTICATING_AUTHORITY = '<saml:AuthenticatingAuthority>{Authority}</saml:AuthenticatingAuthority>';
const AUTHN_STATEMENT_CLOSE = '</saml:AuthnContext></saml:AuthnStatement>';

const ATTRIBUTE_OPEN = '<saml:Attribute Name="{Name}" NameFormat="{NameFormat}" FriendlyName="{FriendlyName}">';
const ATTRIBUTE_VALUE = '<saml:AttributeValue xsi:type="xs:string">{Value}</saml:AttributeValue>';
const ATTRIBUTE_CLOSE = '</saml:Attribute>';

const STATUS_CODE_OPEN = '<samlp:StatusCode Value="{Code}">';
const STATUS_MESSAGE = '<samlp:StatusMessage>{Message}</samlp:StatusMessage>';

/** Characters XML 1.0 can carry; a value with any other cannot be sent faithfully. */
const XML_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

const fill = SamlLib.replaceTagsByValue;

function messageId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

function attributeStatement(attributes: Attributes): string {
  const rendered: string[] = [];
  // In the order of the mapping table, so responses read the same whatever the upstream sent.
  for (const def of ATTRIBUTES) {
    const values = (attributes[def.name] ?? []).filter((v) => XML_TEXT.test(v));
    const sent = def.single ? values.slice(0, 1) : values;
    if (sent.length === 0) continue;
    rendered.push(
      fill(ATTRIBUTE_OPEN, { Name: def.saml, NameFormat: NAME_FORMAT_URI, FriendlyName: def.name }) +
        sent.map((Value) => fill(ATTRIBUTE_VALUE, { Value })).join('') +
        ATTRIBUTE_CLOSE,
    );
  }
  return rendered.length === 0 ? '' : `<saml:AttributeStatement>${rendered.join('')}</saml:AttributeStatement>`;
}

function authnStatement(authn: LoginResponseInput['authn']): string {
  return (
    fill(AUTHN_STATEMENT_OPEN, { AuthnInstant: authn.instant, SessionIndex: authn.sessionIndex, ClassRef: authn.contextClassRef }) +
    (authn.authenticatingAuthority ? fill(AUTHENTICATING_AUTHORITY, { Authority: authn.authenticatingAuthority }) : '') +
    AUTHN_STATEMENT_CLOSE
  );
}

/** Builds the Responses of one IdP (fedgate's frontend or a demo IdP). */
export class ResponseBuilder {
  private readonly plain: ReturnType<typeof samlify.IdentityProvider>;
  private readonly encrypting: ReturnType<typeof samlify.IdentityProvider>;

  constructor(private readonly idp: ResponseIssuer) {
    const settings = {
      metadata: idp.metadataXml,
      privateKey: idp.keyPem,
      requestSignatureAlgorithm: RSA_SHA256,
      dataEncryptionAlgorithm: AES_256_GCM,
      keyEncryptionAlgorithm: RSA_OAEP,
    };
    this.plain = samlify.IdentityProvider({ ...settings, isAssertionEncrypted: false });
    this.encrypting = samlify.IdentityProvider({ ...settings, isAssertionEncrypted: true });
  }

  /** The unsigned Response with its one plaintext Assertion. */
  render(input: LoginResponseInput): string {
    const now = input.now ?? new Date();
    const head = fill(ASSERTION_HEAD, {
      ID: messageId(),
      AssertionID: messageId(),
      IssueInstant: now.toISOString(),
      NotOnOrAfter: new Date(now.getTime() + input.lifetimeSeconds * 1000).toISOString(),
      Destination: input.sp.acsUrl,
      InResponseTo: input.inResponseTo,
      Issuer: this.idp.entityId,
      Audience: input.sp.entityId,
      NameIDFormat: input.nameId.format,
      NameQualifier: input.nameId.nameQualifier,
      SPNameQualifier: input.nameId.spNameQualifier,
      NameID: input.nameId.value,
    });
    return head + authnStatement(input.authn) + attributeStatement(input.attributes) + ASSERTION_TAIL;
  }

  /** A signed (and, when the SP gave a key, encrypted) Response, base64 for the HTTP-POST binding. */
  async login(input: LoginResponseInput): Promise<string> {
    const encrypt = input.sp.encryptionCertPem !== undefined;
    const xml = this.render(input);
    try {
      const sp = samlify.ServiceProvider({
        entityID: input.sp.entityId,
        assertionConsumerService: [{ Binding: Constants.namespace.binding.post, Location: input.sp.acsUrl }],
        ...(encrypt ? { encryptCert: input.sp.encryptionCertPem } : {}),
        wantAssertionsSigned: true,
        wantMessageSigned: input.signResponse,
      });
      const result = await (encrypt ? this.encrypting : this.plain).createLoginResponse(
        sp,
        { extract: { request: { id: input.inResponseTo } } },
        'post',
        {},
        // encryptThenSign also holds without encryption: the Response signature is then simply last.
        { customTagReplacement: () => ({ id: '', context: xml }), encryptThenSign: true },
      );
      return result.context;
    } catch (err) {
      const what = encrypt ? 'sign or encrypt' : 'sign';
      throw new ResponseBuildError(`cannot ${what} the Response for ${input.sp.entityId}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** A signed Response carrying only a Status (an error answer), base64 for the HTTP-POST binding. */
  status(input: StatusResponseInput): string {
    const now = input.now ?? new Date();
    const open = fill(RESPONSE_OPEN, {
      ID: messageId(),
      IssueInstant: now.toISOString(),
      Destination: input.sp.acsUrl,
      InResponseTo: input.inResponseTo,
      Issuer: this.idp.entityId,
    });
    const status =
      '<samlp:Status>' +
      fill(STATUS_CODE_OPEN, { Code: input.status.top }) +
      (input.status.second ? fill('<samlp:StatusCode Value="{Code}"/>', { Code: input.status.second }) : '') +
      '</samlp:StatusCode>' +
      (input.message ? fill(STATUS_MESSAGE, { Message: input.message }) : '') +
      '</samlp:Status>';
    return SamlLib.constructSAMLSignature({
      rawSamlMessage: `${open}${status}</samlp:Response>`,
      isMessageSigned: true,
      privateKey: this.idp.keyPem,
      signingCert: certBody(this.idp.certPem),
      signatureAlgorithm: RSA_SHA256,
      signatureConfig: {
        prefix: 'ds',
        location: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: 'after' },
      },
    });
  }
}
