/**
 * XML that fedgate writes itself (SAML Responses) as a small element tree, with two renderings:
 * the document, and its Exclusive XML Canonicalization (xml-exc-c14n, without comments), which is
 * what an XML signature digests. Building the canonical form from the tree spares a parse, XPath
 * queries and a re-serialisation per signature: the signer never reads XML back.
 *
 * Only what fedgate writes is supported: every element has a prefix bound by a declaration on it
 * or on an ancestor (or passed in), no default namespace, no comments, no processing instructions.
 */

export interface XmlElement {
  /** Qualified name, prefix included: `saml:Assertion`. */
  name: string;
  /** Namespace declarations written on this element: prefix → URI. */
  ns?: Record<string, string>;
  /** Attributes in document order, qualified names; an undefined value leaves the attribute out. */
  attrs?: [string, string | undefined][];
  /** Child elements and text, in order. */
  children?: (XmlElement | string)[];
}

/** Namespace prefixes in scope: prefix → URI. */
export type NamespaceScope = Record<string, string>;

/** Shorthand for building trees. */
export function el(name: string, attrs: XmlElement['attrs'] = [], children: XmlElement['children'] = [], ns?: Record<string, string>): XmlElement {
  return ns ? { name, ns, attrs, children } : { name, attrs, children };
}

const REFERENCES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};
const replace = (re: RegExp) => (s: string) => s.replace(re, (c) => REFERENCES[c] as string);
// The document escapes more than it must (quotes in text too), and keeps CR, TAB and LF in
// attributes from being normalised away by the reader.
const docText = replace(/[&<>"'\r]/g);
const docAttr = replace(/[&<>"'\t\n\r]/g);
// Canonical XML 1.0 §2.3 (used by exclusive c14n): exactly these replacements and no others.
const c14nText = replace(/[&<>\r]/g);
const c14nAttr = replace(/[&<"\t\n\r]/g);

function presentAttrs(e: XmlElement): [string, string][] {
  return (e.attrs ?? []).filter((a): a is [string, string] => a[1] !== undefined);
}

/** The document form: declarations and attributes as given, empty elements self-closed. */
export function serialize(e: XmlElement): string {
  let out = `<${e.name}`;
  for (const [prefix, uri] of Object.entries(e.ns ?? {})) out += ` xmlns:${prefix}="${docAttr(uri)}"`;
  for (const [name, value] of presentAttrs(e)) out += ` ${name}="${docAttr(value)}"`;
  const children = e.children ?? [];
  if (children.length === 0) return `${out}/>`;
  out += '>';
  for (const child of children) out += typeof child === 'string' ? docText(child) : serialize(child);
  return `${out}</${e.name}>`;
}

function prefixOf(qname: string): string | undefined {
  const colon = qname.indexOf(':');
  return colon < 0 ? undefined : qname.slice(0, colon);
}

function localOf(qname: string): string {
  return qname.slice(qname.indexOf(':') + 1);
}

function uriOf(prefix: string, scope: NamespaceScope, where: string): string {
  const uri = scope[prefix];
  if (uri === undefined) throw new Error(`XML writer: prefix ${prefix} of ${where} is not declared`);
  return uri;
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Exclusive XML Canonicalization of `e` as the apex of the canonicalized subtree. `inScope`
 * resolves prefixes declared on ancestors outside the tree. A namespace is rendered on each
 * element whose name or attributes use it, unless the nearest output ancestor already rendered
 * it with the same URI; attributes are sorted by namespace URI, then local name.
 */
export function canonicalize(e: XmlElement, inScope: NamespaceScope = {}, rendered: NamespaceScope = {}): string {
  const scope = e.ns ? { ...inScope, ...e.ns } : inScope;
  const elementPrefix = prefixOf(e.name);
  if (elementPrefix === undefined) throw new Error(`XML writer: ${e.name} has no namespace prefix`);
  const attrs = presentAttrs(e);
  const used = new Set<string>([elementPrefix]);
  const sortable = attrs.map(([name, value]) => {
    const prefix = prefixOf(name);
    if (prefix === 'xmlns' || name === 'xmlns') throw new Error(`XML writer: declare namespaces in ns, not as attribute ${name}`);
    if (prefix !== undefined && prefix !== 'xml') used.add(prefix);
    const uri = prefix === undefined ? '' : prefix === 'xml' ? 'http://www.w3.org/XML/1998/namespace' : uriOf(prefix, scope, name);
    return { name, value, uri, local: localOf(name) };
  });
  let out = `<${e.name}`;
  let nowRendered = rendered;
  for (const prefix of [...used].sort(byCodeUnits)) {
    const uri = uriOf(prefix, scope, e.name);
    if (rendered[prefix] === uri) continue;
    if (nowRendered === rendered) nowRendered = { ...rendered };
    nowRendered[prefix] = uri;
    out += ` xmlns:${prefix}="${c14nAttr(uri)}"`;
  }
  sortable.sort((a, b) => byCodeUnits(a.uri, b.uri) || byCodeUnits(a.local, b.local));
  for (const a of sortable) out += ` ${a.name}="${c14nAttr(a.value)}"`;
  out += '>';
  for (const child of e.children ?? []) out += typeof child === 'string' ? c14nText(child) : canonicalize(child, scope, nowRendered);
  return `${out}</${e.name}>`;
}
