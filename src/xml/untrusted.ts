/**
 * Reading small XML documents from untrusted senders (SAML protocol messages). A DTD is refused
 * before any parser sees the text (SAML2int SDP-G03), so no entity is ever expanded, and any
 * parser complaint makes the message unreadable instead of half-read. Each protocol end binds
 * the reader to its own error class, so a bad request and a bad response stay distinguishable.
 */
import { DOMParser } from '@xmldom/xmldom';
import type { FedgateError } from '../core/errors.js';

export const SAML_NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
} as const;

export function isElement(node: Node, ns: string, local: string): node is Element {
  return node.nodeType === 1 && (node as Element).namespaceURI === ns && (node as Element).localName === local;
}

/** The element children of `parent` named {ns}local, in document order. */
export function children(parent: Element, ns: string, local: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) if (isElement(n, ns, local)) out.push(n);
  return out;
}

/** Every descendant element {ns}local of `root`, in document order. */
export function descendants(root: Element, ns: string, local: string): Element[] {
  return Array.from(root.getElementsByTagNameNS(ns, local));
}

/** Text content with surrounding whitespace removed; undefined when empty or absent. */
export function textOf(el: Element | undefined): string | undefined {
  const text = el?.textContent?.trim();
  return text ? text : undefined;
}

/** An attribute's value, undefined when absent. */
export function attr(el: Element | undefined, name: string): string | undefined {
  return el?.hasAttribute(name) ? (el.getAttribute(name) ?? undefined) : undefined;
}

export interface UntrustedXmlReader {
  parse(xml: string): Document;
  /** The only child {ns}local, undefined when absent; more than one makes the message malformed. */
  child(parent: Element, ns: string, local: string): Element | undefined;
}

/** A reader whose every complaint is an error made by `malformed`. */
export function untrustedXmlReader(malformed: (reason: string, cause?: unknown) => FedgateError): UntrustedXmlReader {
  return {
    parse(xml) {
      if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw malformed('SAML message contains a DTD or entity declaration');
      const fail = (msg: string) => {
        throw malformed(`SAML message is not well-formed XML: ${msg}`);
      };
      let doc: Document;
      try {
        doc = new DOMParser({ errorHandler: { warning: fail, error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml');
      } catch (err) {
        if (err instanceof Error && 'httpStatus' in err) throw err;
        throw malformed(`SAML message is not well-formed XML: ${(err as Error).message}`, err);
      }
      if (!doc?.documentElement || doc.doctype) throw malformed('SAML message has no root element');
      return doc;
    },
    child(parent, ns, local) {
      const found = children(parent, ns, local);
      if (found.length > 1) throw malformed(`more than one ${local} in ${parent.localName}`);
      return found[0];
    },
  };
}
