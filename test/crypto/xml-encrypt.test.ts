/** An encrypted element decrypts with xml-encryption (what node-saml uses) to exactly the original. */
import { createPublicKey } from 'node:crypto';
import { promisify } from 'node:util';
import t from 'tap';
import xmlenc from 'xml-encryption';
import { certBody, generateKeyPair } from '../../src/crypto/keys.js';
import { encryptElement } from '../../src/crypto/xml-encrypt.js';
import { el, serialize } from '../../src/xml/writer.js';

t.test('round trip through xml-encryption', async (t) => {
  const keys = await generateKeyPair('recipient');
  const plaintext = serialize(el('s:Secret', [['ID', '_1']], ['é & 𝄞 <tag>'], { s: 'urn:test:s' }));
  const encrypted = serialize(el('s:Wrapper', [], [encryptElement(plaintext, { key: createPublicKey(keys.certPem), certBody: certBody(keys.certPem) })], { s: 'urn:test:s' }));
  t.match(encrypted, /Algorithm="http:\/\/www\.w3\.org\/2009\/xmlenc11#aes256-gcm"/);
  t.match(encrypted, /Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmlenc#rsa-oaep-mgf1p"/);
  const decrypt = promisify(xmlenc.decrypt) as (xml: string, options: { key: string }) => Promise<string>;
  t.equal(await decrypt(encrypted, { key: keys.keyPem }), plaintext);
  const other = await generateKeyPair('other');
  await t.rejects(decrypt(encrypted, { key: other.keyPem }), 'another key cannot decrypt it');
});
