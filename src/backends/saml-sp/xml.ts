/** Upstream SAML responses read as untrusted XML; every complaint is a MalformedResponseError. */
import { MalformedResponseError } from '../../core/errors.js';
import { untrustedXmlReader } from '../../xml/untrusted.js';

export { SAML_NS as NS, allElements, attr, children, descendants, isElement, textOf } from '../../xml/untrusted.js';
export type { ParsedDocument, ParsedElement } from '../../xml/untrusted.js';

const reader = untrustedXmlReader((reason, cause) => new MalformedResponseError(reason, { cause }));
export const parseSamlXml = reader.parse;
export const child = reader.child;
