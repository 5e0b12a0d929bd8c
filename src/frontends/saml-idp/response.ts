/**
 * SAML Responses fedgate (and its demo IdPs) send: one Assertion with one AuthnStatement and at
 * most one AttributeStatement, signed with RSA-SHA256 and exclusive c14n, optionally encrypted
 * (AES-256-GCM, RSA-OAEP) and then the Response signed over the result. Either signature may be
 * left out (one RSA signature per login instead of two), never both.
 *
 * Responses are built as element trees (xml/writer.ts): values are text or attribute values of
 * the tree and are escaped once, when written, so a value can never be read as markup. Signing
 * canonicalises the tree itself; nothing is parsed back, and keys are parsed once per builder.
 */
import { createPublicKey, createPrivateKey, randomBytes } from 'node:crypto';
import { certBody } from '../../crypto/keys.js';
import { encryptElement, type EncryptionRecipient } from '../../crypto/xml-encrypt.js';
import { signEnveloped, type XmlSigner } from '../../crypto/xml-sign.js';
import { ATTRIBUTES, NAME_FORMAT_URI } from '../../core/attributes.js';
import { ResponseBuildError, SAML_STATUS, type SamlStatus } from '../../core/errors.js';
import type { Attributes } from '../../core/model.js';
import { el, serialize, type XmlElement } from '../../xml/writer.js';
import type { NameIdValue } from './nameid.js';

export interface ResponseIssuer {
  entityId: string;
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
  /** Sign the Response element; at least one of it and the assertion must be signed. */
  signResponse: boolean;
  /** Sign the assertion (default true). */
  signAssertion?: boolean;
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

const RESPONSE_NS = { samlp: 'urn:oasis:names:tc:SAML:2.0:protocol', saml: 'urn:oasis:names:tc:SAML:2.0:assertion' };
const ASSERTION_NS = {
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  xs: 'http://www.w3.org/2001/XMLSchema',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
};
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/** Characters XML 1.0 can carry; a value with any other cannot be sent faithfully. */
const XML_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

/** Encryption keys of SPs, parsed once; bounded, as metadata refreshes may bring new ones. */
const MAX_RECIPIENTS = 1000;

function messageId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/** The Response element with its Issuer; the caller adds Status and what follows. */
function responseElement(issuer: string, sp: ResponseRecipient, inResponseTo: string, now: Date): XmlElement {
  return el(
    'samlp:Response',
    [
      ['ID', messageId()],
      ['Version', '2.0'],
      ['IssueInstant', now.toISOString()],
      ['Destination', sp.acsUrl],
      ['InResponseTo', inResponseTo],
    ],
    [el('saml:Issuer', [], [issuer])],
    RESPONSE_NS,
  );
}

function attributeStatement(attributes: Attributes): XmlElement[] {
  const rendered: XmlElement[] = [];
  // In the order of the mapping table, so responses read the same whatever the upstream sent.
  for (const def of ATTRIBUTES) {
    const values = (attributes[def.name] ?? []).filter((v) => XML_TEXT.test(v));
    const sent = def.single ? values.slice(0, 1) : values;
    if (sent.length === 0) continue;
    rendered.push(
      el(
        'saml:Attribute',
        [
          ['Name', def.saml],
          ['NameFormat', NAME_FORMAT_URI],
          ['FriendlyName', def.name],
        ],
        sent.map((value) => el('saml:AttributeValue', [['xsi:type', 'xs:string']], [value])),
      ),
    );
  }
  return rendered.length === 0 ? [] : [el('saml:AttributeStatement', [], rendered)];
}

function authnStatement(authn: LoginResponseInput['authn']): XmlElement {
  const context = [el('saml:AuthnContextClassRef', [], [authn.contextClassRef])];
  if (authn.authenticatingAuthority) context.push(el('saml:AuthenticatingAuthority', [], [authn.authenticatingAuthority]));
  return el(
    'saml:AuthnStatement',
    [
      ['AuthnInstant', authn.instant],
      ['SessionIndex', authn.sessionIndex],
    ],
    [el('saml:AuthnContext', [], context)],
  );
}

/** Builds the Responses of one IdP (fedgate's frontend or a demo IdP). */
export class ResponseBuilder {
  private readonly signer: XmlSigner;
  private readonly recipients = new Map<string, EncryptionRecipient>();

  constructor(private readonly idp: ResponseIssuer) {
    this.signer = { key: createPrivateKey(idp.keyPem), certBody: certBody(idp.certPem) };
  }

  /** The unsigned Response with its one plaintext Assertion, as a tree. */
  private tree(input: LoginResponseInput): { response: XmlElement; assertion: XmlElement } {
    const now = input.now ?? new Date();
    const notOnOrAfter = new Date(now.getTime() + input.lifetimeSeconds * 1000).toISOString();
    const assertion = el(
      'saml:Assertion',
      [
        ['ID', messageId()],
        ['Version', '2.0'],
        ['IssueInstant', now.toISOString()],
      ],
      [
        el('saml:Issuer', [], [this.idp.entityId]),
        el('saml:Subject', [], [
          el(
            'saml:NameID',
            [
              ['Format', input.nameId.format],
              ['NameQualifier', input.nameId.nameQualifier],
              ['SPNameQualifier', input.nameId.spNameQualifier],
            ],
            [input.nameId.value],
          ),
          el('saml:SubjectConfirmation', [['Method', BEARER]], [
            el('saml:SubjectConfirmationData', [
              ['NotOnOrAfter', notOnOrAfter],
              ['Recipient', input.sp.acsUrl],
              ['InResponseTo', input.inResponseTo],
            ]),
          ]),
        ]),
        el(
          'saml:Conditions',
          [
            ['NotBefore', now.toISOString()],
            ['NotOnOrAfter', notOnOrAfter],
          ],
          [el('saml:AudienceRestriction', [], [el('saml:Audience', [], [input.sp.entityId])])],
        ),
        authnStatement(input.authn),
        ...attributeStatement(input.attributes),
      ],
      ASSERTION_NS,
    );
    const response = responseElement(this.idp.entityId, input.sp, input.inResponseTo, now);
    response.children?.push(el('samlp:Status', [], [el('samlp:StatusCode', [['Value', SAML_STATUS.success]])]), assertion);
    return { response, assertion };
  }

  /** The unsigned Response with its one plaintext Assertion. */
  render(input: LoginResponseInput): string {
    return serialize(this.tree(input).response);
  }

  /** A signed (and, when the SP gave a key, encrypted) Response, base64 for the HTTP-POST binding. */
  async login(input: LoginResponseInput): Promise<string> {
    const encryptTo = input.sp.encryptionCertPem;
    const signAssertion = input.signAssertion ?? true;
    if (!signAssertion && !input.signResponse) throw new ResponseBuildError(`neither the Response nor the assertion for ${input.sp.entityId} would be signed`);
    try {
      const { response, assertion } = this.tree(input);
      // The assertion's signature goes right after its Issuer (SAML core §5.4.1), as does the Response's.
      if (signAssertion) signEnveloped(assertion, 1, this.signer, RESPONSE_NS);
      if (encryptTo !== undefined) {
        const encrypted = el('saml:EncryptedAssertion', [], [encryptElement(serialize(assertion), this.recipient(encryptTo))]);
        response.children = response.children?.map((child) => (child === assertion ? encrypted : child));
      }
      if (input.signResponse) signEnveloped(response, 1, this.signer);
      return Buffer.from(serialize(response), 'utf8').toString('base64');
    } catch (err) {
      const what = encryptTo !== undefined ? 'sign or encrypt' : 'sign';
      throw new ResponseBuildError(`cannot ${what} the Response for ${input.sp.entityId}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** A signed Response carrying only a Status (an error answer), base64 for the HTTP-POST binding. */
  status(input: StatusResponseInput): string {
    const response = responseElement(this.idp.entityId, input.sp, input.inResponseTo, input.now ?? new Date());
    const second = input.status.second ? [el('samlp:StatusCode', [['Value', input.status.second]])] : [];
    const message = input.message ? [el('samlp:StatusMessage', [], [input.message])] : [];
    response.children?.push(el('samlp:Status', [], [el('samlp:StatusCode', [['Value', input.status.top]], second), ...message]));
    signEnveloped(response, 1, this.signer);
    return Buffer.from(serialize(response), 'utf8').toString('base64');
  }

  private recipient(certPem: string): EncryptionRecipient {
    let recipient = this.recipients.get(certPem);
    if (!recipient) {
      if (this.recipients.size >= MAX_RECIPIENTS) this.recipients.clear();
      recipient = { key: createPublicKey(certPem), certBody: certBody(certPem) };
      this.recipients.set(certPem, recipient);
    }
    return recipient;
  }
}
