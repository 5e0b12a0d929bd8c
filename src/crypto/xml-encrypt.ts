/**
 * XML Encryption of an element for one recipient (SAML EncryptedAssertion): the content with
 * AES-256-GCM under a fresh key, that key with RSA-OAEP (MGF1, SHA-1 as rsa-oaep-mgf1p defines)
 * to the recipient's certificate, which is named in the KeyInfo. The result is a tree
 * (xml/writer.ts) that can be signed over as part of its parent.
 */
import { constants, createCipheriv, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { el, type XmlElement } from '../xml/writer.js';
import { DSIG_NS } from './xml-sign.js';

const XENC_NS = 'http://www.w3.org/2001/04/xmlenc#';
const AES256_GCM = 'http://www.w3.org/2009/xmlenc11#aes256-gcm';
const RSA_OAEP_MGF1P = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';

export interface EncryptionRecipient {
  /** The recipient's RSA public key. */
  key: KeyObject;
  /** Base64 DER of the recipient's certificate. */
  certBody: string;
}

/** xenc:EncryptedData (Type Element) holding `xml`, the serialised element to hide. */
export function encryptElement(xml: string, recipient: EncryptionRecipient): XmlElement {
  const contentKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', contentKey, iv);
  const encrypted = Buffer.concat([iv, cipher.update(xml, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  const wrappedKey = publicEncrypt({ key: recipient.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, contentKey);
  const cipherData = (value: Buffer) => el('xenc:CipherData', [], [el('xenc:CipherValue', [], [value.toString('base64')])]);
  return el(
    'xenc:EncryptedData',
    [['Type', `${XENC_NS}Element`]],
    [
      el('xenc:EncryptionMethod', [['Algorithm', AES256_GCM]]),
      el(
        'ds:KeyInfo',
        [],
        [
          el('xenc:EncryptedKey', [], [
            el('xenc:EncryptionMethod', [['Algorithm', RSA_OAEP_MGF1P]], [el('ds:DigestMethod', [['Algorithm', SHA1]])]),
            el('ds:KeyInfo', [], [el('ds:X509Data', [], [el('ds:X509Certificate', [], [recipient.certBody])])]),
            cipherData(wrappedKey),
          ]),
        ],
        { ds: DSIG_NS },
      ),
      cipherData(encrypted),
    ],
    { xenc: XENC_NS },
  );
}
