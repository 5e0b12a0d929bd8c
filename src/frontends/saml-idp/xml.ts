/**
 * Parsing of inbound SAML protocol messages: small documents from untrusted senders. DTDs are
 * refused outright (SAML2int SDP-G03) so no entity is ever expanded, and any parser complaint
 * makes the message unreadable instead of half-read.
 */
import { DOMParser } from '@xmldom/xmldom';
import { MalformedRequestError } from '../../core/errors.js';

export const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const DS = 'http://www.w3.org/2000/09/xmldsig#';

export function parseXml(xml: string): Document {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new MalformedRequestError('SAML message contains a DTD');
  let doc: Document;
  try {
    const fail = (msg: string) => {
      throw new MalformedRequestError(`SAML message is not well-formed XML: ${msg}`);
    };
    doc = new DOMParser({ errorHandler: { warning: fail, error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml');
  } catch (err) {
    if (err instanceof MalformedRequestError) throw err;
    throw new MalformedRequestError(`SAML message is not well-formed XML: ${(err as Error).message}`, { cause: err });
  }
  if (!doc?.documentElement || doc.doctype) throw new MalformedRequestError('SAML message has no root element');
  return doc;
}

/** The element children of `parent` named {ns}local. */
export function childElements(parent: Element, ns: string, local: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local) out.push(n as Element);
  }
  return out;
}

/** The only child {ns}local, undefined when absent; more than one is malformed. */
export function childElement(parent: Element, ns: string, local: string): Element | undefined {
  const found = childElements(parent, ns, local);
  if (found.length > 1) throw new MalformedRequestError(`more than one ${local} in ${parent.localName}`);
  return found[0];
}

/** Text content with surrounding whitespace removed. */
export function textOf(el: Element): string {
  return (el.textContent ?? '').trim();
}

/** An attribute's value, undefined when absent. */
export function attr(el: Element, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name) ?? undefined : undefined;
}
