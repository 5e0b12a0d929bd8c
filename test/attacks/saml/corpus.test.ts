/**
 * The corpus format itself: a case file that does not fit it fails loudly (never a silent skip),
 * and the mutation interpreter does exactly what a case says or refuses to go on.
 */
import t from 'tap';
import { applyMutations, parseCase, SHA256, RSA_SHA256, type Mutation, type MutationContext } from './corpus.js';

const valid = `
description: A case that fits the format
target: acs
base: signed-response
mutations:
  - op: remove-signature
expect:
  status: 403
  error: UnsignedResponseError
`;

t.test('a case that fits the format', async (t) => {
  const c = parseCase(valid, 'acs', 'fits.yaml');
  t.equal(c.name, 'fits');
  t.same(c.mutations, [{ op: 'remove-signature' }]);
  t.same(c.expect, { status: 403, error: 'UnsignedResponseError' });
});

t.test('a case that does not fit fails, naming the file and the problem', async (t) => {
  const bad: [string, string, RegExp][] = [
    ['an unknown operation', valid.replace('remove-signature', 'remove-signatures'), /mutations/],
    ['an unknown key', `${valid}extra: 1\n`, /extra/],
    ['a misspelt parameter', valid.replace('  - op: remove-signature', '  - op: remove-signature\n    off: Assertion'), /off/],
    ['a base of another target', valid.replace('signed-response', 'authn-request'), /start from one of/],
    ['a scenario of no target', `${valid}scenario: time-travel\n`, /scenarios/],
    ['an error class that does not exist', valid.replace('UnsignedResponseError', 'UnsignedResponse'), /not an error class/],
    ['a class that is no FedgateError', valid.replace('UnsignedResponseError', 'ConfigError'), /not an error class/],
    ['a Redirect-only operation on the ACS', valid.replace('op: remove-signature', 'op: deflate-bomb\n    inflatedBytes: 10'), /sso-redirect only/],
    ['released identities downstream', valid.replace('target: acs', 'target: sso-post').replace('signed-response', 'authn-request').replace(/expect:[\s\S]*/, 'expect:\n  accepted: true\n  released: {}\n'), /only acs cases/],
    ['no expectation', valid.replace(/expect:[\s\S]*/, ''), /expect/],
  ];
  for (const [what, yaml, problem] of bad) {
    t.throws(() => parseCase(yaml, 'acs', 'bad.yaml'), { message: /^acs\/bad\.yaml: / }, what);
    t.throws(() => parseCase(yaml, 'acs', 'bad.yaml'), { message: problem }, `${what}: the problem is named`);
  }
  t.throws(() => parseCase(valid, 'sso-post', 'moved.yaml'), { message: /target acs in the sso-post folder/ });
  t.throws(() => parseCase(valid, 'acs', 'notes.txt'), { message: /end in \.yaml/ });
});

const signed =
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r"><saml:Issuer>idp</saml:Issuer>' +
  '<saml:Assertion ID="_a"><saml:Issuer>idp</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/><saml:Subject><saml:NameID>alice</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>';
const noKey = { keyPem: '', certPem: '' };
const ctx: MutationContext = { target: 'acs', keys: { sender: noKey, other: noKey }, vars: { who: 'mallory' } };
const apply = (mutations: Mutation[], c = ctx) => applyMutations(signed, undefined, mutations, c);

t.test('what the operations do', async (t) => {
  const copied = apply([{ op: 'duplicate-element', element: 'Assertion', where: 'before', id: 'fresh', signature: 'drop', edits: { NameID: '{{who}}' } }]).xml;
  t.match(copied, /<saml:Assertion ID="_evil[0-9a-f]+"><saml:Issuer>idp<\/saml:Issuer><saml:Subject><saml:NameID>mallory<\/saml:NameID>[\s\S]*<saml:Assertion ID="_a"><saml:Issuer>idp<\/saml:Issuer><ds:Signature/, 'an unsigned, edited copy before the original');
  t.match(apply([{ op: 'insert-comment', element: 'NameID', after: 'al', comment: '' }]).xml, '<saml:NameID>al<!---->ice</saml:NameID>');
  const wrapped = apply([{ op: 'wrap-in', element: 'Assertion', wrapper: 'Extensions', id: 'same', signature: 'keep', edits: {} }]).xml;
  t.match(wrapped, /<saml:Issuer>idp<\/saml:Issuer><samlp:Extensions><saml:Assertion ID="_a">[\s\S]*<\/samlp:Extensions><saml:Assertion ID="_a">/, 'the original in Extensions after the Issuer, the copy in its place');
  t.equal(Buffer.byteLength(apply([{ op: 'pad-to-bytes', bytes: 5000 }]).xml), 5000);
  const doctype = apply([{ op: 'prepend-doctype', doctype: '<!DOCTYPE r [<!ENTITY x "y">]>', entity: { element: 'NameID', ref: '&x;' } }]).xml;
  t.match(doctype, /^<\?xml version="1.0" encoding="UTF-8"\?><!DOCTYPE r \[<!ENTITY x "y">\]><samlp:Response[\s\S]*<saml:NameID>&x;<\/saml:NameID>/);
  t.notMatch(apply([{ op: 'remove-signature' }]).xml, 'Signature');
  const redirect = applyMutations('<r ID="_1"/>', { algorithm: RSA_SHA256, key: noKey }, [{ op: 'remove-signature' }, { op: 'set-query-param', name: 'RelayState', value: null }], { ...ctx, target: 'sso-redirect' });
  t.same(redirect, { xml: '<r ID="_1"/>', query: { RelayState: null } }, 'on a Redirect, signatures and parameters are the query’s');
  const resigned = applyMutations('<r ID="_1"/>', undefined, [{ op: 'resign', signatureAlgorithm: 'urn:x', digestAlgorithm: SHA256, key: 'other' }], { ...ctx, target: 'sso-redirect' });
  t.same(resigned.redirectSignature, { algorithm: 'urn:x', key: noKey }, 'a Redirect is signed when it is sent');
});

t.test('an operation that cannot be done as written stops the case', async (t) => {
  t.throws(() => apply([{ op: 'remove-element', element: 'EncryptedAssertion' }]), { message: /matches nothing/ });
  t.throws(() => apply([{ op: 'replace-text', element: 'NameID', value: '{{nobody}}' }]), { message: /unknown variable \{\{nobody\}\}/ });
  t.throws(() => apply([{ op: 'insert-comment', element: 'NameID', after: 'bob', comment: '' }]), { message: /no text "bob"/ });
  t.throws(() => apply([{ op: 'pad-to-bytes', bytes: 10 }]), { message: /already longer/ });
  t.throws(() => apply([{ op: 'pad-to-bytes', bytes: 5000 }, { op: 'remove-signature' }]), { message: /after a raw-text mutation/ });
  t.throws(() => apply([{ op: 'remove-signature', of: 'Response' }]), { message: /no signature on Response/ });
});
