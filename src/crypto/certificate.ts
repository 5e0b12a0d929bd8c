/**
 * Self-signed X.509 certificates for fedgate's own keys and for test peers, built with
 * @peculiar/x509 on Node's WebCrypto. SAML metadata trusts the key, not the certificate
 * (IIP-MD12), so a self-signed certificate is all a key needs to be published.
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe, which needs it.
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto, type KeyObject } from 'node:crypto';

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const CURVE_HASH: Record<string, string> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' };

/** The WebCrypto signing algorithm for an RSA or EC key pair. */
function signingAlgorithm(publicKey: KeyObject): RsaHashedImportParams | (EcKeyImportParams & EcdsaParams) {
  if (publicKey.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const curve = CURVES[publicKey.asymmetricKeyDetails?.namedCurve ?? ''];
  if (publicKey.asymmetricKeyType === 'ec' && curve) return { name: 'ECDSA', namedCurve: curve, hash: CURVE_HASH[curve] ?? 'SHA-256' };
  throw new Error(`cannot certify a ${publicKey.asymmetricKeyType} key: RSA or EC (P-256/384/521) only`);
}

/** A PEM certificate for the key pair, subject and issuer CN=`commonName`, SHA-2 signed. */
export async function selfSignedCertificate(
  keys: { privateKey: KeyObject; publicKey: KeyObject },
  commonName: string,
  notBefore: Date,
  notAfter: Date,
): Promise<string> {
  const algorithm = signingAlgorithm(keys.publicKey);
  const subtle = webcrypto.subtle;
  const cryptoKeys = {
    privateKey: await subtle.importKey('pkcs8', keys.privateKey.export({ type: 'pkcs8', format: 'der' }), algorithm, false, ['sign']),
    publicKey: await subtle.importKey('spki', keys.publicKey.export({ type: 'spki', format: 'der' }), algorithm, true, ['verify']),
  };
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // a positive INTEGER
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: [{ CN: [commonName] }],
      notBefore,
      notAfter,
      signingAlgorithm: algorithm,
      keys: cryptoKeys as CryptoKeyPair,
    },
    webcrypto as unknown as Crypto,
  );
  return cert.toString('pem') + '\n';
}
