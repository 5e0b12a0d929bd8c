/**
 * The XML writer: the document parses back to the same names, attributes and text, and the
 * canonical form equals what xml-crypto's Exclusive XML Canonicalization makes of that document,
 * for the whole tree and for a subtree whose namespaces are declared above it.
 */
import { DOMParser } from '@xmldom/xmldom';
import t from 'tap';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { canonicalize, el, serialize, type XmlElement } from '../../src/xml/writer.js';

const NS = { a: 'urn:test:a', b: 'urn:test:b', z: 'urn:test:0-sorts-first' };
const NASTY = `tab\there\nnew line\r\ncr & <amp> "double" 'single' ]]> é 𝄞`;

function sample(): XmlElement {
  return el(
    'a:Root',
    [
      ['ID', '_r1'],
      ['z:late', 'z'],
      ['Attr', NASTY],
      ['b:attr', 'b'],
      ['Absent', undefined],
      ['a:attr', 'a'],
    ],
    [
      el('b:Child', [['Name', 'x']], [NASTY]),
      el('a:Empty'),
      el('a:Nested', [], [el('a:Inner', [['xsi:type', 'xs:string']], ['v'], { xs: 'http://www.w3.org/2001/XMLSchema', xsi: 'http://www.w3.org/2001/XMLSchema-instance' }), 'tail']),
    ],
    NS,
  );
}

function parse(xml: string): Element {
  return new DOMParser().parseFromString(xml, 'text/xml').documentElement as unknown as Element;
}

const xmlCrypto = (node: Element) => new ExclusiveCanonicalization().process(node, {});

t.test('the document reads back as written', async (t) => {
  const root = parse(serialize(sample()));
  t.equal(root.getAttribute('Attr'), NASTY, 'attribute value intact, whitespace characters included');
  t.equal(root.hasAttribute('Absent'), false, 'an undefined attribute is left out');
  t.equal(root.getElementsByTagName('b:Child')[0]?.textContent, NASTY, 'text intact');
  t.match(serialize(sample()), /<a:Empty\/>/, 'empty elements are self-closed');
});

t.test('canonical form equals xml-crypto’s exclusive c14n of the document', async (t) => {
  const tree = sample();
  const root = parse(serialize(tree));
  t.equal(canonicalize(tree), xmlCrypto(root), 'whole tree');
  const nested = tree.children?.[2] as XmlElement;
  t.equal(canonicalize(nested, NS), xmlCrypto(root.getElementsByTagName('a:Nested')[0] as unknown as Element), 'subtree: namespaces rendered where used');
  t.match(canonicalize(tree), /<a:Inner xmlns:xsi="[^"]+" xsi:type="xs:string">/, 'xs, used only in a value, is not rendered');
});

t.test('undeclared prefixes are refused', async (t) => {
  t.throws(() => canonicalize(el('q:Root')), /prefix q/);
  t.throws(() => canonicalize(el('Root')), /no namespace prefix/);
});
