/**
 * A small element tree for SAML protocol messages, built from saxes (a strict XML 1.0 and
 * Namespaces parser) instead of @xmldom/xmldom: xmldom's recovering parser and live DOM cost about
 * three quarters of a login's XML CPU (a whole-source lastIndexOf per tag name, megamorphic DOM
 * building). Hand-written because no maintained library builds a namespace-aware tree from saxes.
 *
 * The nodes carry the DOM members fedgate's readers and xml-crypto's exclusive canonicalisation use,
 * under their DOM names and with xmldom's values for them (prefix null when absent, an attribute
 * without a namespace has namespaceURI null, an element without one '', xmlns declarations are
 * attributes in the xmlns namespace), so canonical forms come out as they did from xmldom's nodes
 * (test/xml/tree.test.ts compares them). Comments are not kept
 * (neither exclusive c14n without comments nor textContent sees them); CDATA sections become text.
 * Processing instructions inside elements are kept, since xml-crypto digests their data as text
 * and the signature check refuses them. It is not a general DOM: no live lists, no tree checks on
 * insertion, no document-level nodes besides the root element.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';

export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export class ParsedAttr {
  readonly nodeType = 2;
  constructor(
    /** The qualified name, as written. */
    readonly name: string,
    readonly prefix: string | null,
    readonly localName: string,
    readonly namespaceURI: string | null,
    public value: string,
  ) {}
  get nodeName(): string {
    return this.name;
  }
}

export type ParsedParent = ParsedElement | ParsedDocument;
export type ParsedChild = ParsedElement | ParsedText | ParsedProcessingInstruction;

abstract class ParsedNodeBase {
  parentNode: ParsedParent | null = null;
  previousSibling: ParsedChild | null = null;
  nextSibling: ParsedChild | null = null;
  /** xml-crypto's node checks (@xmldom/is-dom-node) want these on every node. */
  appendChild(_child: ParsedChild): ParsedChild {
    throw new TypeError('this node has no children');
  }
  removeChild(_child: ParsedChild): ParsedChild {
    throw new TypeError('this node has no children');
  }
}

export class ParsedText extends ParsedNodeBase {
  readonly nodeType = 3;
  readonly nodeName = '#text';
  constructor(
    readonly ownerDocument: ParsedDocument,
    public data: string,
  ) {
    super();
  }
  get textContent(): string {
    return this.data;
  }
  get nodeValue(): string {
    return this.data;
  }
}

export class ParsedProcessingInstruction extends ParsedNodeBase {
  readonly nodeType = 7;
  constructor(
    readonly ownerDocument: ParsedDocument,
    readonly target: string,
    readonly data: string,
  ) {
    super();
  }
  get nodeName(): string {
    return this.target;
  }
  get textContent(): string {
    return this.data;
  }
}

/** Child list handling shared by elements and the document. */
abstract class ParsedContainer extends ParsedNodeBase {
  readonly childNodes: ParsedChild[] = [];
  get firstChild(): ParsedChild | null {
    return this.childNodes[0] ?? null;
  }
  get lastChild(): ParsedChild | null {
    return this.childNodes[this.childNodes.length - 1] ?? null;
  }
  override appendChild(child: ParsedChild): ParsedChild {
    return this.insertBefore(child, null);
  }
  insertBefore(child: ParsedChild, before: ParsedChild | null): ParsedChild {
    if (child.parentNode) child.parentNode.removeChild(child);
    const list = this.childNodes;
    const at = before === null ? list.length : list.indexOf(before);
    if (at < 0) throw new RangeError('the reference node is not a child of this node');
    list.splice(at, 0, child);
    child.parentNode = this as unknown as ParsedParent;
    child.previousSibling = list[at - 1] ?? null;
    child.nextSibling = list[at + 1] ?? null;
    if (child.previousSibling) child.previousSibling.nextSibling = child;
    if (child.nextSibling) child.nextSibling.previousSibling = child;
    return child;
  }
  override removeChild(child: ParsedChild): ParsedChild {
    const list = this.childNodes;
    const at = list.indexOf(child);
    if (at < 0) throw new RangeError('not a child of this node');
    list.splice(at, 1);
    if (child.previousSibling) child.previousSibling.nextSibling = child.nextSibling;
    if (child.nextSibling) child.nextSibling.previousSibling = child.previousSibling;
    child.parentNode = child.previousSibling = child.nextSibling = null;
    return child;
  }
}

export class ParsedElement extends ParsedContainer {
  readonly nodeType = 1;
  /** The tag name: a field, not a getter, as xml-crypto's node checks read it for every node. */
  readonly nodeName: string;
  constructor(
    readonly ownerDocument: ParsedDocument,
    /** The qualified name, as written. */
    readonly tagName: string,
    readonly prefix: string | null,
    readonly localName: string,
    /** '' for no namespace (as a default namespace undeclared by xmlns="" is in xmldom: c14n compares it with its parent's). */
    readonly namespaceURI: string,
    public attributes: ParsedAttr[],
  ) {
    super();
    this.nodeName = tagName;
  }
  getAttributeNode(name: string): ParsedAttr | null {
    for (const a of this.attributes) if (a.name === name) return a;
    return null;
  }
  getAttribute(name: string): string | null {
    return this.getAttributeNode(name)?.value ?? null;
  }
  hasAttribute(name: string): boolean {
    return this.getAttributeNode(name) !== null;
  }
  /** As the DOM: replaces the attribute of that namespace and local name, else adds one (xml-crypto declares InclusiveNamespaces prefixes so). */
  setAttributeNS(namespaceURI: string | null, qualifiedName: string, value: string): void {
    const colon = qualifiedName.indexOf(':');
    const prefix = colon > 0 ? qualifiedName.slice(0, colon) : null;
    const localName = colon > 0 ? qualifiedName.slice(colon + 1) : qualifiedName;
    const attr = new ParsedAttr(qualifiedName, prefix, localName, namespaceURI || null, String(value));
    const at = this.attributes.findIndex((a) => a.namespaceURI === attr.namespaceURI && a.localName === localName);
    if (at >= 0) this.attributes[at] = attr;
    else this.attributes.push(attr);
  }
  /** The text of every descendant text node, in document order (processing instructions left out). */
  get textContent(): string {
    const list = this.childNodes;
    if (list.length === 1 && list[0]!.nodeType === 3) return list[0]!.data;
    let out = '';
    for (const n of list) {
      if (n.nodeType === 3) out += n.data;
      else if (n.nodeType === 1) out += n.textContent;
    }
    return out;
  }
}

export class ParsedDocument extends ParsedContainer {
  readonly nodeType = 9;
  readonly nodeName = '#document';
  readonly doctype = null;
  readonly ownerDocument = null;
  get documentElement(): ParsedElement {
    return this.childNodes[0] as ParsedElement;
  }
  get textContent(): null {
    return null;
  }
}

/** Why a text could not be read as an XML tree: a DTD, nesting beyond the limit, or anything else saxes refuses. */
export class XmlTreeError extends Error {
  constructor(
    message: string,
    readonly kind: 'dtd' | 'depth' | 'syntax',
  ) {
    super(message);
    this.name = 'XmlTreeError';
  }
}

/** Refused on sight, wherever it appears (SAML2int SDP-G03): no entity is ever declared, let alone expanded. */
export const DTD = /<!DOCTYPE|<!ENTITY/i;

/**
 * The tree of a complete XML document: well-formed XML 1.0 with well-formed namespaces, no
 * document type declaration, elements nested at most `maxDepth` deep (counted as the parser
 * opens them, so a depth bomb stops at the first element beyond the limit). saxes expands only
 * the five predefined entities and character references, and normalises line ends and attribute
 * whitespace as XML 1.0 requires.
 */
export function parseXmlTree(xml: string, maxDepth: number): ParsedDocument {
  if (DTD.test(xml)) throw new XmlTreeError('a DTD or entity declaration', 'dtd');
  const doc = new ParsedDocument();
  const parser = new SaxesParser({ xmlns: true, position: false });
  // The open elements; the document itself at the bottom.
  const stack: ParsedParent[] = [doc];
  let top: ParsedParent = doc;

  // saxes throws its complaints when no error handler is set. Few handlers on purpose: with seven
  // V8 turns the parser object into a dictionary and parsing gets about four times slower.
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (stack.length > maxDepth) throw new XmlTreeError(`elements nest more than ${maxDepth} deep`, 'depth');
    const attributes: ParsedAttr[] = [];
    for (const name in tag.attributes) {
      const a = tag.attributes[name]!;
      attributes.push(new ParsedAttr(a.name, a.prefix || null, a.local, a.uri || null, a.value));
    }
    const element = new ParsedElement(doc, tag.name, tag.prefix || null, tag.local, tag.uri, attributes);
    append(top, element);
    stack.push(element);
    top = element;
  });
  parser.on('closetag', () => {
    stack.pop();
    top = stack[stack.length - 1]!;
  });
  const text = (data: string) => {
    // Outside the root only white space reaches here (saxes refuses the rest).
    if (top === doc || data === '') return;
    const last = top.childNodes[top.childNodes.length - 1];
    if (last?.nodeType === 3) last.data += data;
    else append(top, new ParsedText(doc, data));
  };
  parser.on('text', text);
  parser.on('cdata', text);
  parser.on('processinginstruction', (pi) => {
    if (top !== doc) append(top, new ParsedProcessingInstruction(doc, pi.target, pi.body));
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    if (err instanceof XmlTreeError) throw err;
    throw new XmlTreeError((err as Error).message, 'syntax');
  }
  if (!(doc.childNodes[0] instanceof ParsedElement)) throw new XmlTreeError('no root element', 'syntax');
  return doc;
}

/** Appending while parsing: the child is new, so only the last sibling needs linking. */
function append(parent: ParsedParent, child: ParsedChild): void {
  const list = parent.childNodes;
  const last = list[list.length - 1];
  if (last) {
    last.nextSibling = child;
    child.previousSibling = last;
  }
  child.parentNode = parent;
  list.push(child);
}

// A carriage return in text came from a character reference: written as one, or it would read back as a line end.
const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };
const ATTR_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

/**
 * `element` as a standalone document: its markup with the namespace declarations it inherits
 * from its ancestors added to it, so that it reads the same outside its document (for handing a
 * subtree to a library that parses text, e.g. decryption).
 */
export function serializeElement(element: ParsedElement): string {
  const inherited = new Map<string, string>();
  for (let n = element.parentNode; n instanceof ParsedElement; n = n.parentNode) {
    for (const a of n.attributes) {
      if (a.namespaceURI !== XMLNS_NS) continue;
      const prefix = a.prefix === null ? '' : a.localName;
      if (!inherited.has(prefix)) inherited.set(prefix, a.value);
    }
  }
  for (const a of element.attributes) if (a.namespaceURI === XMLNS_NS) inherited.delete(a.prefix === null ? '' : a.localName);
  let extra = '';
  for (const [prefix, uri] of inherited) {
    // An inherited undeclaration of the default namespace is already the default outside.
    if (prefix === '' && uri === '') continue;
    extra += ` ${prefix === '' ? 'xmlns' : `xmlns:${prefix}`}="${escapeAttr(uri)}"`;
  }
  const out: string[] = [];
  write(element, out, extra);
  return out.join('');
}

function escapeAttr(value: string): string {
  return value.replace(/[&<"\t\n\r]/g, (c) => ATTR_ESCAPES[c]!);
}

function write(node: ParsedChild, out: string[], extra = ''): void {
  if (node.nodeType === 3) {
    out.push(node.data.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c]!));
    return;
  }
  if (node.nodeType === 7) {
    out.push(`<?${node.target}${node.data ? ` ${node.data}` : ''}?>`);
    return;
  }
  out.push('<', node.tagName, extra);
  for (const a of node.attributes) out.push(' ', a.name, '="', escapeAttr(a.value), '"');
  if (node.childNodes.length === 0) {
    out.push('/>');
    return;
  }
  out.push('>');
  for (const child of node.childNodes) write(child, out);
  out.push('</', node.tagName, '>');
}
