/**
 * Enveloped signatures made from the tree verify with xml-crypto (the library node-saml checks
 * with) and with xmlsec1 (an independent C implementation), a nested signed element included,
 * and stop verifying when a byte of the signed content changes.
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import t from 'tap';
import { SignedXml } from 'xml-crypto';
import { certBody, generateKeyPair } from '../../src/crypto/keys.js';
import { signEnveloped } from '../../src/crypto/xml-sign.js';
import { el, serialize } from '../../src/xml/writer.js';

const NS = { p: 'urn:test:p', s: 'urn:test:s' };

function verifies(xml: string, certPem: string, which: number): boolean {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const signature = doc.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[which];
  if (!signature) throw new Error('no signature');
  const sig = new SignedXml({ publicCert: certPem });
  sig.loadSignature(signature as unknown as Node);
  try {
    return sig.checkSignature(xml);
  } catch {
    return false;
  }
}

/** xmlsec1 checks the first signature in the document, the one of the element `idNode` names by ID. */
function xmlsecVerifies(xml: string, certPem: string, idNode: string): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'fedgate-xmlsig-'));
  writeFileSync(join(dir, 'doc.xml'), xml);
  writeFileSync(join(dir, 'cert.pem'), certPem);
  const run = spawnSync('xmlsec1', ['--verify', '--pubkey-cert-pem', join(dir, 'cert.pem'), `--id-attr:ID`, idNode, join(dir, 'doc.xml')], { encoding: 'utf8' });
  return run.status === 0;
}

t.test('outer and inner signatures verify; tampering breaks them', async (t) => {
  const keys = await generateKeyPair('signer');
  const signer = { key: createPrivateKey(keys.keyPem), certBody: certBody(keys.certPem) };
  const inner = el('s:Inner', [['ID', '_inner'], ['Note', 'a "quoted" & <odd>\tvalue']], [el('s:Issuer', [], ['me']), el('s:Value', [], ['x & y < z\r\n'])], { s: NS.s });
  const outer = el('p:Outer', [['ID', '_outer']], [el('s:Issuer', [], ['me']), inner], NS);
  signEnveloped(inner, 1, signer, NS);
  signEnveloped(outer, 1, signer);
  const xml = serialize(outer);
  t.match(xml, /<p:Outer [^>]*><s:Issuer>me<\/s:Issuer><ds:Signature /, 'signature right after the Issuer');
  t.ok(verifies(xml, keys.certPem, 0), 'outer signature');
  t.ok(verifies(xml, keys.certPem, 1), 'inner signature');
  t.ok(xmlsecVerifies(xml, keys.certPem, 'urn:test:p:Outer'), 'outer signature, by xmlsec1');
  const innerXml = /<s:Inner[\s\S]*<\/s:Inner>/.exec(xml)?.[0] ?? '';
  t.ok(xmlsecVerifies(innerXml, keys.certPem, 'urn:test:s:Inner'), 'inner signature on its own, by xmlsec1');
  const tampered = xml.replace('x &amp; y', 'x &amp; Y');
  t.notOk(xmlsecVerifies(tampered, keys.certPem, 'urn:test:p:Outer'), 'xmlsec1 sees the change too');
  t.notOk(verifies(tampered, keys.certPem, 0), 'outer breaks');
  t.notOk(verifies(tampered, keys.certPem, 1), 'inner breaks');
  const other = await generateKeyPair('other');
  t.notOk(verifies(xml, other.certPem, 0), 'another key does not verify it');
  t.throws(() => signEnveloped(el('p:NoId', [], [], NS), 0, signer), /no ID/);
});
