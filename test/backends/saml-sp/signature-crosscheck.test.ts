/**
 * The upstream signature check (the tree of xml/tree.ts, canonicalised by xml-crypto) against an
 * independent implementation: xmlsec1 (libxml2's parser, its own exclusive c14n) signs Responses
 * whose markup varies in every way a parser may normalise or a canonicaliser may render — line
 * ends, attribute white space, character and entity references, CDATA, comments, default and
 * prefixed namespaces declared, undeclared and redeclared, InclusiveNamespaces — and fedgate must
 * accept each, refuse each once one character of signed content changes, and read the same text
 * as xmlsec1 digested.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { InvalidSignatureError } from '../../../src/core/errors.js';
import { generateKeyPair } from '../../../src/crypto/keys.js';
import { verifySignature } from '../../../src/backends/saml-sp/signature.js';
import { NS, children, parseSamlXml } from '../../../src/backends/saml-sp/xml.js';

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

function signatureTemplate(id: string, inclusive?: string): string {
  const prefixes = inclusive ? `<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="${inclusive}"/>` : '';
  return (
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>' +
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>' +
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>' +
    `<ds:Reference URI="#${id}"><ds:Transforms>` +
    '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>' +
    `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">${prefixes}</ds:Transform>` +
    '</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue>' +
    '</ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>'
  );
}

/** A Response whose Issuer is followed by the signature template and then `body`. */
function response(body: string, options: { rootAttrs?: string; inclusive?: string; prolog?: string } = {}): string {
  return (
    `${options.prolog ?? ''}<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="_r1" Version="2.0" ${options.rootAttrs ?? ''}>` +
    `<saml:Issuer>https://idp.example.org</saml:Issuer>${signatureTemplate('_r1', options.inclusive)}${body}</samlp:Response>`
  );
}

const VARIANTS: Record<string, string> = {
  'plain markup': response('<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'),
  'CR LF and lone CR line ends, in text and between elements': response('\r\n<saml:Text>one\r\ntwo\rthree</saml:Text>\r\n'),
  'literal tabs and line ends in attribute values (normalised to spaces)': response('<saml:A x="a\tb\nc\r\nd" y="  spaced  "/>'),
  'character references in attributes (kept)': response('<saml:A x="a&#9;b&#10;c&#13;d&#x20;e" q="&quot;&amp;&lt;&gt;&apos;"/>'),
  'references and non-ASCII text': response('<saml:T>x &amp; y &lt; z &gt; w ]]&gt; &#x41;&#66; é 😀 &#13; &#xD;&#xA;</saml:T>'),
  'CDATA sections': response('<saml:T><![CDATA[<b>&amp;</b> ]] >]]>after<![CDATA[]]></saml:T>'),
  'comments (left out of the digest)': response('<!-- before --><saml:T>al<!-- split -->ice</saml:T><!---->'),
  'default namespace declared, undeclared and redeclared': response(
    '<samlp:Extensions><e xmlns="urn:x:one"><inner a="1"/><z xmlns=""><y><w xmlns="urn:x:two"/></y></z></e></samlp:Extensions>',
  ),
  'prefix declared on the root, used deep; unused declarations': response('<samlp:Extensions><p:e><p:f p:a="1"/></p:e></samlp:Extensions>', {
    rootAttrs: 'xmlns:p="urn:p" xmlns:unused="urn:unused"',
  }),
  'prefix redeclared to another namespace in a subtree': response('<samlp:Extensions><p:e xmlns:p="urn:p2"><p:f/></p:e><p:g/></samlp:Extensions>', {
    rootAttrs: 'xmlns:p="urn:p1"',
  }),
  'redundant redeclarations': response('<saml:Outer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Inner xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/></saml:Outer>'),
  'prefixed attributes, xml:lang, attribute order': response(
    '<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" z="3" xsi:type="xs:string" xml:lang="en" a="1">v</saml:AttributeValue>',
    { rootAttrs: 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" IssueInstant="2026-01-01T00:00:00Z" Destination="https://sp.example.org/acs"' },
  ),
  'empty elements in both forms, white space text': response('<saml:E/><saml:E></saml:E>  \n\t <saml:E> </saml:E>'),
  'XML declaration': response('<saml:T>x</saml:T>', { prolog: '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' }),
  'InclusiveNamespaces on the reference transform': response(
    '<saml:AttributeValue xsi:type="xs:string">v</saml:AttributeValue>',
    { rootAttrs: 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema"', inclusive: 'xs' },
  ),
};

t.test('Responses signed by xmlsec1 verify; any change to the signed content is refused', async (t) => {
  const keys = await generateKeyPair('xmlsec1 signer');
  const dir = mkdtempSync(join(tmpdir(), 'fedgate-crosscheck-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'key.pem'), keys.keyPem);
  writeFileSync(join(dir, 'cert.pem'), keys.certPem);
  const sign = (template: string): string => {
    writeFileSync(join(dir, 'in.xml'), template);
    const run = spawnSync(
      'xmlsec1',
      ['--sign', '--privkey-pem', join(dir, 'key.pem'), '--id-attr:ID', `${SAMLP}:Response`, '--output', join(dir, 'out.xml'), join(dir, 'in.xml')],
      { encoding: 'utf8' },
    );
    if (run.status !== 0) throw new Error(`xmlsec1 could not sign: ${run.stderr}`);
    return readFileSync(join(dir, 'out.xml'), 'utf8');
  };
  const verifies = (xml: string) => verifySignature(parseSamlXml(xml).documentElement, [keys.certPem]);

  for (const [name, template] of Object.entries(VARIANTS)) {
    const signed = sign(template);
    t.ok(verifies(signed), `${name}: verifies`);
    // The first text character after the Issuer's signature that belongs to signed content.
    const body = signed.slice(signed.indexOf('</ds:Signature>') + '</ds:Signature>'.length);
    const at = body.search(/>[^<\s]/);
    if (at >= 0) {
      const tampered = signed.slice(0, signed.length - body.length) + body.slice(0, at + 1) + 'Z' + body.slice(at + 2);
      t.throws(() => verifies(tampered), InvalidSignatureError, `${name}: one changed character is refused`);
    }
    const attrChanged = signed.replace('ID="_r1" Version="2.0"', 'ID="_r1" Version="2.1"');
    t.throws(() => verifies(attrChanged), InvalidSignatureError, `${name}: a changed attribute is refused`);
  }
});

t.test('the text read after verification is the text xmlsec1 digested', async (t) => {
  const keys = await generateKeyPair('xmlsec1 signer');
  const dir = mkdtempSync(join(tmpdir(), 'fedgate-crosscheck-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'key.pem'), keys.keyPem);
  writeFileSync(join(dir, 'in.xml'), response('<saml:T>a\r\nb<!-- c -->d<![CDATA[&e]]>&#13;f</saml:T>'));
  const run = spawnSync(
    'xmlsec1',
    ['--sign', '--privkey-pem', join(dir, 'key.pem'), '--id-attr:ID', `${SAMLP}:Response`, '--output', join(dir, 'out.xml'), join(dir, 'in.xml')],
    { encoding: 'utf8' },
  );
  t.equal(run.status, 0, 'xmlsec1 signed');
  const root = parseSamlXml(readFileSync(join(dir, 'out.xml'), 'utf8')).documentElement;
  t.ok(verifySignature(root, [keys.certPem]));
  t.equal(children(root, NS.saml, 'T')[0]?.textContent, 'a\nbd&e\rf', 'line end normalised, comment skipped, CDATA and references as text');
  t.equal(children(root, NS.ds, 'Signature').length, 0, 'the verified signature is out of the tree');
});
