/** The untrusted-XML reader's refusals of DTDs and depth bombs, for the tree and for xmldom's DOM alike. */
import t from 'tap';
import { MalformedRequestError } from '../../src/core/errors.js';
import { MAX_NESTING, nestsDeeperThan, untrustedXmlReader } from '../../src/xml/untrusted.js';

const nested = (depth: number, inner = '') => '<e>'.repeat(depth) + inner + '</e>'.repeat(depth);

t.test('nesting depth is counted on the markup alone', async (t) => {
  t.equal(nestsDeeperThan(nested(3), 3), false, 'exactly at the limit');
  t.equal(nestsDeeperThan(nested(4), 3), true, 'one beyond');
  t.equal(nestsDeeperThan('<a><b/><b/><b/><b/></a>', 2), false, 'self-closing siblings do not nest');
  t.equal(nestsDeeperThan('<a><b x="a/>b>c" y=\'/>\'/><b/></a>', 2), false, 'quoted > and /> in attribute values');
  t.equal(nestsDeeperThan('<?xml version="1.0"?><a><!-- <b><b><b> --><![CDATA[<b><b><b>]]><?pi <b><b>?></a>', 1), false, 'comments, CDATA and processing instructions');
  t.equal(nestsDeeperThan('<a>text &lt;b&gt; more</a>', 1), false, 'escaped text');
  t.equal(nestsDeeperThan(`<a>${nested(3)}${nested(3)}</a>`, 4), false, 'depth falls again after each closing tag');
  t.equal(nestsDeeperThan('<a><!-- never closed', 0), true, 'the root alone is beyond a limit of 0');
  t.equal(nestsDeeperThan('<a><!-- never closed <b><b>', 1), false, 'malformed markup is left to the parser');
});

t.test('the reader refuses a depth bomb, in the tree as for xmldom', async (t) => {
  const reader = untrustedXmlReader((reason) => new MalformedRequestError(reason));
  for (const parse of [reader.parse, reader.parseDom]) {
    t.ok(parse(`<r xmlns="urn:x">${nested(MAX_NESTING - 1)}</r>`).documentElement, `${MAX_NESTING} levels are read`);
    t.throws(() => parse(`<r xmlns="urn:x">${nested(MAX_NESTING)}</r>`), new MalformedRequestError(`SAML message nests elements more than ${MAX_NESTING} deep`));
    const started = process.hrtime.bigint();
    t.throws(() => parse(`<r>${nested(100_000)}</r>`), MalformedRequestError, 'a hundred thousand levels');
    t.ok(process.hrtime.bigint() - started < 1_000_000_000n, 'refused within a second');
  }
});

t.test('the reader refuses DTDs and malformed XML with the error of its protocol end', async (t) => {
  const reader = untrustedXmlReader((reason) => new MalformedRequestError(reason));
  for (const parse of [reader.parse, reader.parseDom]) {
    t.throws(() => parse('<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'), new MalformedRequestError('SAML message contains a DTD or entity declaration'));
    t.throws(() => parse('<r><a></r>'), { name: 'MalformedRequestError', message: /^SAML message is not well-formed XML: / });
    t.throws(() => parse('<r>&nbsp;</r>'), { name: 'MalformedRequestError', message: /^SAML message is not well-formed XML: / });
  }
  t.throws(() => reader.parse('<p:r/>'), { message: /not well-formed XML: .*unbound namespace prefix/ }, 'namespaces are checked in the tree');
});

t.test('child() wants at most one', async (t) => {
  const reader = untrustedXmlReader((reason) => new MalformedRequestError(reason));
  const root = reader.parse('<r xmlns="urn:x" xmlns:y="urn:y"><a/><y:a/><b/><b/></r>').documentElement;
  t.equal(reader.child(root, 'urn:x', 'a')?.tagName, 'a');
  t.equal(reader.child(root, 'urn:y', 'b'), undefined);
  t.throws(() => reader.child(root, 'urn:x', 'b'), new MalformedRequestError('more than one b in r'));
});
