/**
 * The parsed tree against xmldom's DOM, which fedgate read messages with before: for documents
 * that exercise what a parser normalises, every element has the same name, namespace, attributes
 * (as xml-crypto sees them), text and exclusive canonical form; what saxes refuses is refused;
 * a serialised subtree reads back the same; mutations keep the sibling links.
 */
import { DOMParser } from '@xmldom/xmldom';
import t from 'tap';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { ParsedElement, XmlTreeError, parseXmlTree, serializeElement, type ParsedDocument } from '../../src/xml/tree.js';

const DOCS: Record<string, string> = {
  'SAML-like': `<?xml version="1.0" encoding="UTF-8"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0">
  <saml:Issuer>https://idp.example.org</saml:Issuer>
  <saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="_a">
    <saml:AttributeStatement><saml:Attribute Name="urn:oid:1"><saml:AttributeValue xsi:type="xs:string">a&amp;b</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>`,
  'line ends': '<r>\r\n<a x="1\r\n2">t\r\nu\rv</a>\r\n</r>',
  'attribute white space and references': '<r a="x\ty\nz" b="&#9;&#10;&#13;&#x20;" c="&quot;&apos;&lt;&gt;&amp;"/>',
  'text references, CDATA, non-ASCII': '<r>&lt;&gt;&amp;&#65;&#x42; ]]&gt; <![CDATA[<x>&amp;]]> é 😀 &#13;</r>',
  comments: '<r><!--a--><b>x<!-- y -->z</b><!----></r>',
  'default namespaces': '<r xmlns="urn:1"><a><b xmlns=""><c/><d xmlns="urn:2"><e/></d></b></a></r>',
  prefixes: '<p:r xmlns:p="urn:p" xmlns:q="urn:q" xmlns:unused="urn:u"><p:a q:x="1" y="2"><q:b xmlns:p="urn:p2"><p:c/></q:b></p:a></p:r>',
  'xml prefix': '<r xml:lang="en"><a xml:space="preserve"> </a></r>',
  'processing instruction inside': '<r><a>x<?pi data here?>y</a></r>',
  'white space only text': '<r>\n  <a/>\t<b> </b>\n</r>',
};

function xmldomOf(xml: string): Document {
  return new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
}

function elementsOf(node: { childNodes: ArrayLike<unknown> }): Element[] {
  const out: Element[] = [];
  const walk = (n: { childNodes: ArrayLike<unknown> }) => {
    for (let i = 0; i < n.childNodes.length; i++) {
      const c = n.childNodes[i] as Element;
      if (c.nodeType !== 1) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(node);
  return out;
}

const c14n = (el: unknown) => new ExclusiveCanonicalization().process(el as Element, {});

t.test('every element reads as in xmldom, and canonicalises the same', async (t) => {
  for (const [name, xml] of Object.entries(DOCS)) {
    const ours = elementsOf(parseXmlTree(xml, 64) as unknown as Document);
    const theirs = elementsOf(xmldomOf(xml));
    t.equal(ours.length, theirs.length, `${name}: as many elements`);
    for (let i = 0; i < theirs.length; i++) {
      const [a, b] = [ours[i]!, theirs[i]!];
      const where = `${name}: ${b.tagName}`;
      t.equal(a.tagName, b.tagName, `${where}: name`);
      t.equal(a.localName, b.localName, `${where}: local name`);
      t.equal(a.prefix ?? null, b.prefix ?? null, `${where}: prefix`);
      t.equal(a.namespaceURI || '', b.namespaceURI || '', `${where}: namespace`);
      t.equal(a.textContent, b.textContent, `${where}: text`);
      const attrs = (e: Element) =>
        Array.from({ length: e.attributes.length }, (_, j) => {
          const x = e.attributes[j]!;
          return [x.name, x.prefix ?? null, x.localName, x.namespaceURI || null, x.value];
        });
      t.same(attrs(a), attrs(b), `${where}: attributes`);
      t.equal(c14n(a), c14n(b), `${where}: exclusive c14n`);
    }
  }
});

t.test('a serialised element reads back the same, with the namespaces it inherits', async (t) => {
  for (const [name, xml] of Object.entries(DOCS)) {
    for (const el of elementsOf(parseXmlTree(xml, 64) as unknown as Document) as unknown as ParsedElement[]) {
      const again = parseXmlTree(serializeElement(el), 64).documentElement;
      t.equal(c14n(again), c14n(el), `${name}: ${el.tagName}`);
      t.equal(again.namespaceURI, el.namespaceURI, `${name}: ${el.tagName} namespace`);
      t.equal(again.textContent, el.textContent, `${name}: ${el.tagName} text`);
    }
  }
});

t.test('what is not well-formed XML 1.0 with namespaces is refused', async (t) => {
  const bad: Record<string, string> = {
    'unclosed element': '<r><a></r>',
    'mismatched end tag': '<r><a></b></r>',
    'two roots': '<r/><s/>',
    'no root': '  ',
    'text after the root': '<r/>x',
    'duplicate attribute': '<r a="1" a="2"/>',
    'duplicate attribute by namespace': '<r xmlns:p="urn:x" xmlns:q="urn:x" p:a="1" q:a="2"/>',
    'unbound element prefix': '<p:r/>',
    'unbound attribute prefix': '<r p:a="1"/>',
    'undefined entity': '<r>&nbsp;</r>',
    '< in an attribute value': '<r a="<"/>',
    'unquoted attribute': '<r a=1/>',
    'forbidden character': '<r>\u0001</r>',
    'character reference to a forbidden character': '<r>&#0;</r>',
    ']]> in text': '<r>]]></r>',
    'xmlns prefix declared': '<r xmlns:xmlns="urn:x"/>',
    'xml prefix bound elsewhere': '<r xmlns:xml="urn:x"/>',
    'empty prefix declaration': '<r xmlns:p=""/>',
  };
  for (const [name, xml] of Object.entries(bad)) {
    t.throws(() => parseXmlTree(xml, 64), XmlTreeError, name);
  }
  const kind = (xml: string, depth = 64) => {
    try {
      parseXmlTree(xml, depth);
      return 'accepted';
    } catch (err) {
      return (err as XmlTreeError).kind;
    }
  };
  t.equal(kind('<!DOCTYPE r><r/>'), 'dtd', 'a document type declaration');
  t.equal(kind('<r><!-- <!ENTITY x "y"> --></r>'), 'dtd', 'an entity declaration anywhere');
  t.equal(kind('<a><a><a><a/></a></a></a>', 3), 'depth', 'one level beyond the limit');
  t.equal(kind('<r><a></r>'), 'syntax', 'anything else');
  t.ok(parseXmlTree('<a><a><a/></a></a>', 3), 'exactly at the limit');
});

t.test('children are linked both ways, and stay so when one is taken out and put back', async (t) => {
  const doc: ParsedDocument = parseXmlTree('<r><a/>t<b/><c/></r>', 64);
  const r = doc.documentElement;
  const [a, text, b, c] = r.childNodes;
  t.equal(a!.nextSibling, text);
  t.equal(b!.previousSibling, text);
  t.equal(r.firstChild, a);
  t.equal(r.lastChild, c);
  r.removeChild(b!);
  t.equal(text!.nextSibling, c);
  t.equal(c!.previousSibling, text);
  t.equal(b!.parentNode, null);
  r.insertBefore(b!, c!);
  t.same(r.childNodes.map((n) => n.nodeName), ['a', '#text', 'b', 'c']);
  t.equal(text!.nextSibling, b);
  t.equal(b!.nextSibling, c);
  t.equal(c!.previousSibling, b);
  r.appendChild(a!);
  t.same(r.childNodes.map((n) => n.nodeName), ['#text', 'b', 'c', 'a']);
  t.equal(r.firstChild!.previousSibling, null);
  t.equal(a!.previousSibling, c);
  t.equal(a!.nextSibling, null);
});

t.test('attributes are found by qualified name, as in the DOM', async (t) => {
  const r = parseXmlTree('<r xmlns:p="urn:p" ID="1" p:ID="2"/>', 64).documentElement;
  t.equal(r.getAttribute('ID'), '1');
  t.equal(r.getAttribute('p:ID'), '2');
  t.equal(r.getAttribute('Id'), null);
  t.notOk(r.hasAttribute('id'));
  r.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns:p', 'urn:other');
  t.equal(r.getAttribute('xmlns:p'), 'urn:other', 'setAttributeNS replaces the attribute of that namespace and local name');
  t.equal(r.attributes.length, 3);
});
