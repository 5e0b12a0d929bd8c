/**
 * The XML signature algorithms fedgate accepts (SAML2int SDP-ALG01: SHA-256 or stronger, RSA or
 * ECDSA), as tables to install on an xml-crypto SignedXml in place of its defaults, which still
 * include SHA-1. xml-crypto has no ECDSA of its own.
 */
import { KeyObject, createHash, createPrivateKey, createPublicKey, sign, verify, type KeyLike } from 'node:crypto';
import { createOptionalCallbackFunction, type HashAlgorithm, type SignatureAlgorithm } from 'xml-crypto';

export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

const DIGESTS = {
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384': 'sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
} as const;

const SIGNATURES = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': ['sha256', 'rsa'],
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384': ['sha384', 'rsa'],
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': ['sha512', 'rsa'],
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256': ['sha256', 'ecdsa'],
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384': ['sha384', 'ecdsa'],
  'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512': ['sha512', 'ecdsa'],
} as const;

export type DigestAlgorithmUri = keyof typeof DIGESTS;
export type SignatureAlgorithmUri = keyof typeof SIGNATURES;

export function isAllowedDigest(uri: string): uri is DigestAlgorithmUri {
  return Object.hasOwn(DIGESTS, uri);
}

export function isAllowedSignature(uri: string): uri is SignatureAlgorithmUri {
  return Object.hasOwn(SIGNATURES, uri);
}

function digestClass(uri: DigestAlgorithmUri): new () => HashAlgorithm {
  return class implements HashAlgorithm {
    getAlgorithmName = () => uri;
    getHash = (xml: string) => createHash(DIGESTS[uri]).update(xml, 'utf8').digest('base64');
  };
}

function signatureClass(uri: SignatureAlgorithmUri): new () => SignatureAlgorithm {
  const [hash, family] = SIGNATURES[uri];
  const check = (key: KeyObject) => {
    const type = key.asymmetricKeyType;
    if (family === 'rsa' ? type !== 'rsa' : type !== 'ec') throw new TypeError(`a ${type} key cannot be used with ${uri}`);
    return key;
  };
  // XML DSig encodes ECDSA signatures as r||s (xmldsig-core1 §6.4.3), not DER; RSA ignores this option.
  const dsaEncoding = 'ieee-p1363' as const;
  return class implements SignatureAlgorithm {
    getAlgorithmName = () => uri;
    getSignature = createOptionalCallbackFunction((signedInfo: string | NodeJS.ArrayBufferView, privateKey: KeyLike) => {
      const key = check(privateKey instanceof KeyObject ? privateKey : createPrivateKey(privateKey));
      return sign(hash, toBuffer(signedInfo), { key, dsaEncoding }).toString('base64');
    });
    verifySignature = createOptionalCallbackFunction((material: string, key: KeyLike, signatureValue: string) =>
      verify(hash, Buffer.from(material, 'utf8'), { key: check(createPublicKey(key)), dsaEncoding }, Buffer.from(signatureValue, 'base64')),
    );
  };
}

function toBuffer(data: string | NodeJS.ArrayBufferView): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export const DIGEST_ALGORITHMS: Record<string, new () => HashAlgorithm> = Object.fromEntries(
  (Object.keys(DIGESTS) as DigestAlgorithmUri[]).map((uri) => [uri, digestClass(uri)]),
);

export const SIGNATURE_ALGORITHMS: Record<string, new () => SignatureAlgorithm> = Object.fromEntries(
  (Object.keys(SIGNATURES) as SignatureAlgorithmUri[]).map((uri) => [uri, signatureClass(uri)]),
);
