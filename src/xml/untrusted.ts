/**
 * Reading small XML documents from untrusted senders (SAML protocol messages). A DTD is refused
 * before any parser sees the text (SAML2int SDP-G03), so no entity is ever expanded; absurdly deep
 * nesting is refused too; any parser complaint makes the message unreadable instead of half-read.
 * Each protocol end binds the reader to its own error class, so a bad request and a bad response
 * stay distinguishable.
 *
 * Messages are read into the small tree of xml/tree.ts (saxes underneath: strict XML 1.0 and
 * Namespaces), about a third of the CPU of xmldom's recovering parser and DOM. xmldom's DOM is
 * built only for libraries that walk it with XPath (`parseDom`).
 */
import { DOMParser } from '@xmldom/xmldom';
import type { FedgateError } from '../core/errors.js';
import { DTD, XmlTreeError, parseXmlTree, type ParsedDocument, type ParsedElement } from './tree.js';

export type { ParsedDocument, ParsedElement } from './tree.js';

export const SAML_NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
} as const;

/** What the readers below use of a node: met by the tree's nodes and by DOM ones (xmldom's, handed to libraries) alike. */
export interface NodeLike {
  readonly nodeType: number;
}
export interface ElementLike extends NodeLike {
  readonly namespaceURI: string | null;
  readonly localName: string;
  readonly childNodes: ArrayLike<NodeLike>;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
}

export function isElement(node: NodeLike, ns: string, local: string): node is ElementLike {
  return node.nodeType === 1 && (node as ElementLike).namespaceURI === ns && (node as ElementLike).localName === local;
}

/** The element children of `parent` named {ns}local, in document order. */
export function children<E extends ElementLike>(parent: E, ns: string, local: string): E[] {
  const out: E[] = [];
  const list = parent.childNodes;
  for (let i = 0; i < list.length; i++) {
    const n = list[i]!;
    if (isElement(n, ns, local)) out.push(n as E);
  }
  return out;
}

/** Every element below `parent`, in document order. */
export function allElements(parent: ParsedElement | ParsedDocument, out: ParsedElement[] = []): ParsedElement[] {
  for (const n of parent.childNodes) {
    if (n.nodeType !== 1) continue;
    out.push(n);
    allElements(n, out);
  }
  return out;
}

/** Every descendant element {ns}local of `root`, in document order. */
export function descendants(root: ParsedElement, ns: string, local: string): ParsedElement[] {
  return allElements(root).filter((n) => n.namespaceURI === ns && n.localName === local);
}

/** Text content with surrounding whitespace removed; undefined when empty or absent. */
export function textOf(el: ElementLike | undefined): string | undefined {
  const text = el?.textContent?.trim();
  return text ? text : undefined;
}

/** An attribute's value, undefined when absent. */
export function attr(el: ElementLike | undefined, name: string): string | undefined {
  // hasAttribute first: xmldom's getAttribute answers '' for an absent attribute.
  return el?.hasAttribute(name) ? (el.getAttribute(name) ?? undefined) : undefined;
}

/**
 * The deepest element nesting accepted. Real SAML messages nest about a dozen levels (an encrypted
 * assertion's key info); thousands of levels would cost recursive XML code (canonicalisation,
 * textContent, xmldom's parser) time quadratic in the depth, and overflow its stack, from a few
 * kilobytes (far fewer once deflated). The tree's parser stops at the first element beyond it.
 */
export const MAX_NESTING = 64;

/**
 * Whether elements nest deeper than `limit`, found by one pass over the markup, before xmldom
 * builds anything. Text cannot hold a raw `<`, attribute values are skipped by their quotes,
 * comments, CDATA and processing instructions by their ends; a DTD was refused before. Malformed
 * markup is left to the parser.
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
  parse(xml: string): ParsedDocument;
  /**
   * xmldom's DOM of the message, with the same refusals, for libraries that walk DOM nodes with
   * XPath (xml-crypto's SignedXml); fedgate's own readers use `parse`.
   */
  parseDom(xml: string): Document;
  /** The only child {ns}local, undefined when absent; more than one makes the message malformed. */
  child<E extends ElementLike>(parent: E, ns: string, local: string): E | undefined;
}

/** A reader whose every complaint is an error made by `malformed`. */
export function untrustedXmlReader(malformed: (reason: string, cause?: unknown) => FedgateError): UntrustedXmlReader {
  const dtd = () => malformed('SAML message contains a DTD or entity declaration');
  const tooDeep = () => malformed(`SAML message nests elements more than ${MAX_NESTING} deep`);
  return {
    parse(xml) {
      try {
        return parseXmlTree(xml, MAX_NESTING);
      } catch (err) {
        if (!(err instanceof XmlTreeError)) throw err;
        if (err.kind === 'dtd') throw dtd();
        if (err.kind === 'depth') throw tooDeep();
        throw malformed(`SAML message is not well-formed XML: ${err.message}`, err);
      }
    },
    parseDom(xml) {
      if (DTD.test(xml)) throw dtd();
      if (nestsDeeperThan(xml, MAX_NESTING)) throw tooDeep();
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
