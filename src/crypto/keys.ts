/**
 * fedgate's own keys and secrets: generated on first start into the data folder, or read from the
 * files the configuration names. Certificates are self-signed on purpose: SAML trusts the key
 * published in metadata, not a CA (IIP-MD12).
 */
import {
  X509Certificate,
  createHash,
  createPrivateKey,
  generateKeyPair as generateKeyPairCallback,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../core/errors.js';
import { selfSignedCertificate } from './certificate.js';

export interface KeyPair {
  keyPem: string;
  certPem: string;
  /** True when the pair was created just now (its certificate must be published anew). */
  generated: boolean;
}

const VALIDITY_YEARS = 10;
const generateKeys = promisify(generateKeyPairCallback);

/** An RSA-2048 key and a self-signed SHA-256 certificate for it, valid for ten years. */
export async function generateKeyPair(commonName: string): Promise<{ keyPem: string; certPem: string }> {
  const keys = await generateKeys('rsa', { modulusLength: 2048 });
  const notBefore = new Date();
  // A minute back, so a peer whose clock runs slightly behind does not see a future certificate.
  notBefore.setUTCMinutes(notBefore.getUTCMinutes() - 1);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALIDITY_YEARS);
  return {
    keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certPem: await selfSignedCertificate(keys, commonName, notBefore, notAfter),
  };
}

/**
 * The key pair named `name` ("signing", "encryption"): from the configured files when given,
 * otherwise from `<dataDir>/keys/<name>.key|.crt`, created there on first use.
 */
export async function loadOrCreateKeyPair(
  dataDir: string,
  name: string,
  commonName: string,
  configured?: { key: string; cert: string },
): Promise<KeyPair> {
  if (configured) {
    return { ...(await readKeyPair(configured.key, configured.cert, `keys.${name}`)), generated: false };
  }
  const dir = join(dataDir, 'keys');
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.crt`);
  const haveKey = existsSync(keyPath);
  const haveCert = existsSync(certPath);
  if (haveKey && haveCert) {
    return { ...(await readKeyPair(keyPath, certPath, `dataDir (${name} key)`)), generated: false };
  }
  if (haveKey || haveCert) {
    throw new ConfigError([
      `dataDir: ${haveKey ? keyPath : certPath} exists without ${haveKey ? certPath : keyPath}; restore it or remove both to generate a new pair`,
    ]);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pair = await generateKeyPair(commonName);
  // 'wx': never overwrite a key another process wrote meanwhile.
  await writeFile(keyPath, pair.keyPem, { mode: 0o600, flag: 'wx' });
  await writeFile(certPath, pair.certPem, { mode: 0o644, flag: 'wx' });
  return { ...pair, generated: true };
}

async function readKeyPair(keyPath: string, certPath: string, configPath: string): Promise<Omit<KeyPair, 'generated'>> {
  const problem = (what: string) => new ConfigError([`${configPath}: ${what}`]);
  let keyPem: string;
  let certPem: string;
  try {
    [keyPem, certPem] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
  } catch (err) {
    throw problem(`cannot read ${(err as NodeJS.ErrnoException).path ?? keyPath}: ${(err as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw problem(`${keyPath} is not a PEM private key (unencrypted PKCS#8 or PKCS#1)`);
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw problem(`${certPath} is not a PEM certificate`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw problem(`the certificate ${certPath} does not hold the public key of ${keyPath}`);
  }
  return { keyPem, certPem };
}

/**
 * A bare private key (no certificate: JWKS publishes the public key itself) kept in
 * `<dataDir>/keys/<name>.key` as PKCS#8 PEM, created there on first use: RSA-2048 or EC P-256.
 */
export async function loadOrCreatePrivateKey(dataDir: string, name: string, type: 'rsa' | 'ec'): Promise<KeyObject> {
  const dir = join(dataDir, 'keys');
  const keyPath = join(dir, `${name}.key`);
  if (existsSync(keyPath)) {
    try {
      return createPrivateKey(await readFile(keyPath, 'utf8'));
    } catch {
      throw new ConfigError([`dataDir: ${keyPath} is not a PEM private key; remove it to generate a new one`]);
    }
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } =
    type === 'rsa' ? await generateKeys('rsa', { modulusLength: 2048 }) : await generateKeys('ec', { namedCurve: 'P-256' });
  // 'wx': never overwrite a key another process wrote meanwhile.
  await writeFile(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600, flag: 'wx' });
  return privateKey;
}

/** A random 32-byte hex secret kept in `<dataDir>/secrets/<name>`, created on first use. */
export function loadOrCreateSecret(dataDir: string, name: string): string {
  const dir = join(dataDir, 'secrets');
  const path = join(dir, name);
  if (existsSync(path)) {
    const value = readFileSync(path, 'utf8').trim();
    if (value === '') throw new ConfigError([`dataDir: the secret file ${path} is empty; remove it to generate a new one`]);
    return value;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const value = randomBytes(32).toString('hex');
  writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return value;
}

/** The base64 DER of a PEM certificate, as metadata's ds:X509Certificate holds it. */
export function certBody(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64');
}

/** SHA-256 over the certificate's DER, lowercase hex without colons (the form config pins). */
export function sha256Fingerprint(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}
