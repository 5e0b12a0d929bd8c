/** Downstream SAML requests read as untrusted XML; every complaint is a MalformedRequestError. */
import { MalformedRequestError } from '../../core/errors.js';
import { untrustedXmlReader } from '../../xml/untrusted.js';

export { attr, children, textOf } from '../../xml/untrusted.js';
export type { ParsedElement } from '../../xml/untrusted.js';

const reader = untrustedXmlReader((reason, cause) => new MalformedRequestError(reason, { cause }));
export const parseXml = reader.parse;
/** xmldom's DOM of a request, for xml-crypto's SignedXml (request-signature.ts). */
export const parseDom = reader.parseDom;
export const child = reader.child;
