/** The untrusted-XML reader's refusals that come before any parser: DTDs and depth bombs. */
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

t.test('the reader refuses a depth bomb before parsing', async (t) => {
  const reader = untrustedXmlReader((reason) => new MalformedRequestError(reason));
  t.ok(reader.parse(`<r xmlns="urn:x">${nested(MAX_NESTING - 1)}</r>`).documentElement, `${MAX_NESTING} levels are read`);
  t.throws(() => reader.parse(`<r xmlns="urn:x">${nested(MAX_NESTING)}</r>`), new MalformedRequestError(`SAML message nests elements more than ${MAX_NESTING} deep`));
  t.throws(() => reader.parse(`<r>${nested(100_000)}</r>`), MalformedRequestError, 'a hundred thousand levels');
});
