/**
 * Reading the XML of upstream SAML messages: small documents from untrusted senders. A DTD is
 * refused before any parser sees the text (SAML2int SDP-G03), so no entity is ever expanded, and
 * any parser complaint makes the message unreadable instead of half-read.
 */
import { DOMParser } from '@xmldom/xmldom';
import { MalformedResponseError } from '../../core/errors.js';

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
} as const;

export function parseSamlXml(xml: string): Document {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new MalformedResponseError('SAML message contains a DTD or entity declaration');
  // xmldom reports a complaint thrown from one handler again through the next: keep the first.
  let complaint: string | undefined;
  const fail = (msg: string) => {
    complaint ??= msg;
    throw new Error(msg);
  };
  let doc: Document;
  try {
    doc = new DOMParser({ errorHandler: { warning: fail, error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml');
  } catch (err) {
    throw new MalformedResponseError(`SAML message is not well-formed XML: ${complaint ?? (err as Error).message}`, { cause: err });
  }
  if (!doc?.documentElement || doc.doctype) throw new MalformedResponseError('SAML message has no root element');
  return doc;
}

export function isElement(node: Node, ns: string, local: string): node is Element {
  return node.nodeType === 1 && (node as Element).namespaceURI === ns && (node as Element).localName === local;
}

/** The element children of `parent` named {ns}local, in document order. */
export function children(parent: Element, ns: string, local: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) if (isElement(n, ns, local)) out.push(n);
  return out;
}

/** The only child {ns}local, undefined when absent; more than one makes the message malformed. */
export function child(parent: Element, ns: string, local: string): Element | undefined {
  const found = children(parent, ns, local);
  if (found.length > 1) throw new MalformedResponseError(`more than one ${local} in ${parent.localName}`);
  return found[0];
}

/** Every descendant element {ns}local of `root`, in document order. */
export function descendants(root: Element, ns: string, local: string): Element[] {
  return Array.from(root.getElementsByTagNameNS(ns, local));
}

export function textOf(el: Element | undefined): string | undefined {
  const text = el?.textContent?.trim();
  return text ? text : undefined;
}

export function attr(el: Element | undefined, name: string): string | undefined {
  return el?.hasAttribute(name) ? (el.getAttribute(name) ?? undefined) : undefined;
}
