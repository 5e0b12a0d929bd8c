/**
 * The AuthnRequest fedgate sends upstream by the HTTP-Redirect binding (SAML2int: SP04 no
 * NameIDPolicy Format, SP07 RequestedAuthnContext only when asked for, Comparison exact), built
 * as an element tree (xml/writer.ts) and deflated synchronously: node-saml built it through
 * xmlbuilder and an async zlib stream per request, for a message of a few hundred bytes.
 */
import { deflateRawSync } from 'node:zlib';
import { el, serialize } from '../../xml/writer.js';

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

export interface AuthnRequestInput {
  id: string;
  issuer: string;
  acsUrl: string;
  /** The IdP's HTTP-Redirect SingleSignOnService, from its verified metadata. */
  destination: string;
  forceAuthn: boolean;
  isPassive: boolean;
  /** AuthnContextClassRefs to ask for exactly; none leaves RequestedAuthnContext out. */
  classRefs: string[];
  now?: Date;
}

export function authnRequestXml(input: AuthnRequestInput): string {
  const children = [el('saml:Issuer', [], [input.issuer]), el('samlp:NameIDPolicy', [['AllowCreate', 'true']])];
  if (input.classRefs.length > 0) {
    children.push(
      el(
        'samlp:RequestedAuthnContext',
        [['Comparison', 'exact']],
        input.classRefs.map((ref) => el('saml:AuthnContextClassRef', [], [ref])),
      ),
    );
  }
  return serialize(
    el(
      'samlp:AuthnRequest',
      [
        ['ID', input.id],
        ['Version', '2.0'],
        ['IssueInstant', (input.now ?? new Date()).toISOString()],
        ['ProtocolBinding', HTTP_POST],
        ['Destination', input.destination],
        ['ForceAuthn', input.forceAuthn ? 'true' : undefined],
        ['IsPassive', input.isPassive ? 'true' : undefined],
        ['AssertionConsumerServiceURL', input.acsUrl],
      ],
      children,
      { samlp: SAMLP, saml: SAML },
    ),
  );
}

/** The SSO endpoint URL carrying the request (SAML bindings §3.4.4.1: DEFLATE, base64). */
export function redirectUrl(input: AuthnRequestInput): URL {
  const url = new URL(input.destination);
  url.searchParams.set('SAMLRequest', deflateRawSync(Buffer.from(authnRequestXml(input), 'utf8')).toString('base64'));
  return url;
}
