/**
 * Reading small XML documents from untrusted senders (SAML protocol messages). A DTD is refused
 * before any parser sees the text (SAML2int SDP-G03), so no entity is ever expanded, and so is
 * absurdly deep nesting; any parser complaint makes the message unreadable instead of half-read.
 * Each protocol end binds the reader to its own error class, so a bad request and a bad response
 * stay distinguishable.
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

/** Every element below `parent`, in document order (a plain walk: xmldom's getElementsBy… build slow live lists). */
export function allElements(parent: Element | Document, out: Element[] = []): Element[] {
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== 1) continue;
    out.push(n as Element);
    allElements(n as Element, out);
  }
  return out;
}

/** Every descendant element {ns}local of `root`, in document order. */
export function descendants(root: Element, ns: string, local: string): Element[] {
  return allElements(root).filter((n) => n.namespaceURI === ns && n.localName === local);
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

/**
 * The deepest element nesting accepted. Real SAML messages nest about a dozen levels (an encrypted
 * assertion's key info); thousands of levels cost the DOM parser and canonicalisation time
 * quadratic in the depth, and overflow the stack of recursive XML code, from a few kilobytes
 * (far fewer once deflated).
 */
export const MAX_NESTING = 64;

/**
 * Whether elements nest deeper than `limit`, found by one pass over the markup, before anything is
 * built. Text cannot hold a raw `<`, attribute values are skipped by their quotes, comments,
 * CDATA and processing instructions by their ends; a DTD was refused before. Malformed markup is
 * left to the parser.
 */
export function nestsDeeperThan(xml: string, limit: number): boolean {
  let depth = 0;
  for (let i = xml.indexOf('<'); i >= 0; i = xml.indexOf('<', i + 1)) {
    const next = xml[i + 1];
    if (next === '/') {
      depth--;
      continue;
    }
    if (next === '!' || next === '?') {
      const end = xml.startsWith('<!--', i) ? '-->' : next === '?' ? '?>' : ']]>';
      const at = xml.indexOf(end, i + 2);
      if (at < 0) return false;
      i = at;
      continue;
    }
    let j = i + 1;
    for (let quote = ''; j < xml.length; j++) {
      const c = xml[j];
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '>') break;
    }
    if (xml[j - 1] !== '/' && ++depth > limit) return true;
    i = j;
  }
  return false;
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
      if (nestsDeeperThan(xml, MAX_NESTING)) throw malformed(`SAML message nests elements more than ${MAX_NESTING} deep`);
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
