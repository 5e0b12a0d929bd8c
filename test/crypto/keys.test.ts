import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { selfSignedCertificate } from '../../src/crypto/certificate.js';
import { runKeysCommand } from '../../src/crypto/keys-command.js';
import {
  certBody,
  generateKeyPair,
  loadOrCreateKeyPair,
  loadOrCreateSecret,
  sha256Fingerprint,
} from '../../src/crypto/keys.js';
import { pemFromBase64 } from '../../src/crypto/pem.js';

const mode = (path: string) => statSync(path).mode & 0o777;
const configError = (message: RegExp) => ({ name: 'ConfigError', message });

t.test('generateKeyPair: RSA-2048 PKCS#8 key and a ten-year self-signed SHA-256 certificate', async (t) => {
  const pair = await generateKeyPair('fedgate.example.org');
  t.match(pair.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  t.match(pair.certPem, /^-----BEGIN CERTIFICATE-----\n/);
  const key = createPrivateKey(pair.keyPem);
  t.equal(key.asymmetricKeyType, 'rsa');
  t.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
  const cert = new X509Certificate(pair.certPem);
  t.equal(cert.subject, 'CN=fedgate.example.org');
  t.equal(cert.issuer, 'CN=fedgate.example.org');
  t.ok(cert.checkPrivateKey(key));
  t.ok(cert.verify(cert.publicKey), 'self-signed');
  t.ok(cert.raw.includes(Buffer.from('06092a864886f70d01010b', 'hex')), 'signed with sha256WithRSAEncryption');
  const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365.25 * 86400_000);
  t.ok(Math.abs(years - 10) < 0.01, `valid ten years (${years})`);
  t.ok(Date.parse(cert.validFrom) <= Date.now());
  t.match(cert.toLegacyObject().serialNumber, /^[0-9A-F]+$/);
});

t.test('selfSignedCertificate: EC keys, long names, dates from 2050', async (t) => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cn = 'x'.repeat(300);
  const cert = new X509Certificate(await selfSignedCertificate(ec, cn, new Date('2049-06-01T00:00:00Z'), new Date('2051-06-01T00:00:00Z')));
  t.equal(cert.subject, `CN=${cn}`);
  t.ok(cert.verify(createPublicKey(ec.privateKey)));
  t.equal(new Date(cert.validTo).toISOString(), '2051-06-01T00:00:00.000Z');
  const ed = generateKeyPairSync('ed25519');
  await t.rejects(selfSignedCertificate(ed, 'x', new Date(), new Date()), /ed25519/);
});

t.test('loadOrCreateKeyPair: creates once in the data folder, then reuses', async (t) => {
  const dataDir = join(t.testdir(), 'data');
  const first = await loadOrCreateKeyPair(dataDir, 'signing', 'fedgate');
  t.equal(first.generated, true);
  t.equal(mode(dataDir), 0o700);
  t.equal(mode(join(dataDir, 'keys')), 0o700);
  t.equal(mode(join(dataDir, 'keys/signing.key')), 0o600);
  t.equal(readFileSync(join(dataDir, 'keys/signing.crt'), 'utf8'), first.certPem);
  const second = await loadOrCreateKeyPair(dataDir, 'signing', 'fedgate');
  t.same(second, { ...first, generated: false });
  const encryption = await loadOrCreateKeyPair(dataDir, 'encryption', 'fedgate');
  t.not(encryption.keyPem, first.keyPem);
});

t.test('loadOrCreateKeyPair: refuses a key without its certificate', async (t) => {
  const dataDir = t.testdir({ keys: { 'signing.key': 'x' } });
  await t.rejects(loadOrCreateKeyPair(dataDir, 'signing', 'fedgate'), configError(/signing\.key exists without .*signing\.crt/));
});

t.test('loadOrCreateKeyPair: configured files are checked', async (t) => {
  const a = await generateKeyPair('a');
  const b = await generateKeyPair('b');
  const dir = t.testdir({ 'a.key': a.keyPem, 'a.crt': a.certPem, 'b.crt': b.certPem, 'junk.key': 'not a key', 'junk.crt': 'nope' });
  const path = (f: string) => join(dir, f);
  const dataDir = join(dir, 'data');
  const loaded = await loadOrCreateKeyPair(dataDir, 'signing', 'x', { key: path('a.key'), cert: path('a.crt') });
  t.same(loaded, { ...a, generated: false });
  t.notOk(existsSync(dataDir), 'nothing generated');
  await t.rejects(
    loadOrCreateKeyPair(dataDir, 'signing', 'x', { key: path('a.key'), cert: path('b.crt') }),
    configError(/^keys\.signing: the certificate .*b\.crt does not hold the public key of .*a\.key$/),
  );
  await t.rejects(
    loadOrCreateKeyPair(dataDir, 'encryption', 'x', { key: path('junk.key'), cert: path('a.crt') }),
    configError(/^keys\.encryption: .*junk\.key is not a PEM private key/),
  );
  await t.rejects(
    loadOrCreateKeyPair(dataDir, 'signing', 'x', { key: path('a.key'), cert: path('junk.crt') }),
    configError(/junk\.crt is not a PEM certificate/),
  );
  await t.rejects(
    loadOrCreateKeyPair(dataDir, 'signing', 'x', { key: path('missing.key'), cert: path('a.crt') }),
    configError(/cannot read .*missing\.key/),
  );
});

t.test('loadOrCreateSecret: 32 random bytes, kept', async (t) => {
  const dataDir = join(t.testdir(), 'data');
  const secret = loadOrCreateSecret(dataDir, 'identifierSalt');
  t.match(secret, /^[0-9a-f]{64}$/);
  t.equal(mode(join(dataDir, 'secrets/identifierSalt')), 0o600);
  t.equal(mode(join(dataDir, 'secrets')), 0o700);
  t.equal(loadOrCreateSecret(dataDir, 'identifierSalt'), secret);
  t.not(loadOrCreateSecret(dataDir, 'other'), secret);
  writeFileSync(join(dataDir, 'secrets/empty'), '\n');
  t.throws(() => loadOrCreateSecret(dataDir, 'empty'), configError(/is empty/));
});

t.test('certificate encodings', async (t) => {
  const { certPem } = await generateKeyPair('enc');
  const body = certBody(certPem);
  t.match(body, /^[A-Za-z0-9+/]+=*$/);
  t.equal(pemFromBase64(body), certPem);
  t.equal(pemFromBase64(` ${body.slice(0, 10)}\n  ${body.slice(10)}\n`), certPem, 'whitespace as found in metadata');
  const fingerprint = sha256Fingerprint(certPem);
  t.equal(fingerprint, new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase());
});

t.test('runKeysCommand writes a pair and never overwrites', async (t) => {
  const out = join(t.testdir(), 'keys');
  const result = await runKeysCommand({ out, name: 'signing', cn: 'proxy.example.org' });
  t.equal(result.keyPath, join(out, 'signing.key'));
  t.equal(mode(result.keyPath), 0o600);
  const cert = readFileSync(result.certPath, 'utf8');
  t.equal(new X509Certificate(cert).subject, 'CN=proxy.example.org');
  t.equal(result.fingerprint, sha256Fingerprint(cert));
  const before = readFileSync(result.keyPath, 'utf8');
  await t.rejects(runKeysCommand({ out, name: 'signing', cn: 'other' }), configError(/signing\.key already exists; refusing to overwrite it/));
  t.equal(readFileSync(result.keyPath, 'utf8'), before);
});
