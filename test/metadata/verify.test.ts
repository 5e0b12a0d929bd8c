import t from 'tap';
import { sha256Fingerprint } from '../../src/crypto/keys.js';
import { parseMetadata } from '../../src/metadata/parse.js';
import { checkValidity, verifyMetadataSignature } from '../../src/metadata/verify.js';
import {
  IDP_ID,
  SP_ID,
  aggregate,
  generateEcKeyPair,
  generateKeyPair,
  idpEntity,
  signRoot,
  spEntity,
} from '../fixtures/metadata/build.js';

const [federation, other, entity] = await Promise.all([
  generateKeyPair('federation signer'),
  generateKeyPair('someone else'),
  generateKeyPair('entity'),
]);
const unsigned = aggregate([idpEntity({ certPem: entity.certPem }), spEntity({ certPem: entity.certPem })]);
const signed = signRoot(unsigned, federation.keyPem, federation.certPem);
const invalid = (message: RegExp) => ({ name: 'InvalidMetadataError', message });

t.test('accepts the aggregate signed by the configured certificate and returns what was signed', async (t) => {
  const covered = verifyMetadataSignature(signed, { certPem: federation.certPem });
  t.notMatch(covered, /Signature/, 'the enveloped signature is not part of the signed content');
  const parsed = parseMetadata(covered, 'signed');
  t.same(parsed.records.map((r) => r.entityId), [IDP_ID, SP_ID]);
  t.ok(parsed.validUntil);
});

t.test('accepts the document’s own certificate only when it matches the pinned fingerprint', async (t) => {
  verifyMetadataSignature(signed, { fingerprint: sha256Fingerprint(federation.certPem) });
  t.throws(() => verifyMetadataSignature(signed, { fingerprint: sha256Fingerprint(other.certPem) }), invalid(/fingerprint/));
  const byOther = signRoot(unsigned, other.keyPem, other.certPem);
  t.throws(() => verifyMetadataSignature(byOther, { fingerprint: sha256Fingerprint(federation.certPem) }), invalid(/fingerprint/));
  // The signature is by `other`, but the KeyInfo claims the federation's certificate.
  const swappedKeyInfo = byOther.replace(
    /<ds:X509Certificate>[^<]+<\/ds:X509Certificate>/,
    `<ds:X509Certificate>${federation.certPem.replace(/-----[^-]+-----|\s/g, '')}</ds:X509Certificate>`,
  );
  t.throws(
    () => verifyMetadataSignature(swappedKeyInfo, { fingerprint: sha256Fingerprint(federation.certPem) }),
    invalid(/signature value/),
  );
});

t.test('accepts a whole-document reference and stronger algorithms', async (t) => {
  verifyMetadataSignature(signRoot(unsigned, federation.keyPem, federation.certPem, { uri: '' }), { certPem: federation.certPem });
  verifyMetadataSignature(
    signRoot(unsigned, federation.keyPem, federation.certPem, {
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha512',
    }),
    { certPem: federation.certPem },
  );
  const ec = await generateEcKeyPair();
  const ecSigned = signRoot(unsigned, ec.keyPem, ec.certPem, {
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  });
  verifyMetadataSignature(ecSigned, { certPem: ec.certPem });
  t.throws(() => verifyMetadataSignature(ecSigned, { certPem: federation.certPem }), invalid(/rsa key cannot be used/));
});

t.test('refuses a signature by another key, whatever the KeyInfo says', async (t) => {
  t.throws(() => verifyMetadataSignature(signed, { certPem: other.certPem }), invalid(/signature value/));
  t.throws(
    () => verifyMetadataSignature(signRoot(unsigned, other.keyPem, other.certPem), { certPem: federation.certPem }),
    invalid(/signature value/),
  );
});

t.test('refuses content changed after signing', async (t) => {
  const tampered = signed.replace('https://sp.example.org/Shibboleth.sso/SAML2/POST', 'https://evil.example/acs');
  t.not(tampered, signed);
  t.throws(() => verifyMetadataSignature(tampered, { certPem: federation.certPem }), invalid(/digest/));
  const validityMoved = signed.replace(/validUntil="[^"]+"/, 'validUntil="2999-01-01T00:00:00Z"');
  t.throws(() => verifyMetadataSignature(validityMoved, { certPem: federation.certPem }), invalid(/digest/));
});

t.test('what is parsed is what was signed: comments do not count and do not cut text', async (t) => {
  const changed = signed.replace('Example University</mdui:DisplayName>', 'Example<!-- x -->Evil University</mdui:DisplayName>');
  t.throws(() => verifyMetadataSignature(changed, { certPem: federation.certPem }), invalid(/digest/));
  const split = signed.replace('>Example University</mdui:DisplayName>', '>Example Univ<!-- x -->ersity</mdui:DisplayName>');
  const covered = verifyMetadataSignature(split, { certPem: federation.certPem });
  t.notMatch(covered, /<!--/);
  const idp = parseMetadata(covered, 'split').records.find((r) => r.entityId === IDP_ID)!;
  t.equal(idp.idp!.ui.displayName.en, 'Example University');
});

t.test('refuses an unsigned document and misplaced signatures', async (t) => {
  t.throws(() => verifyMetadataSignature(unsigned, { certPem: federation.certPem }), invalid(/exactly one ds:Signature.*found 0/));
  const removed = signed.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '');
  t.throws(() => verifyMetadataSignature(removed, { certPem: federation.certPem }), invalid(/found 0/));
  const signatureXml = signed.match(/<ds:Signature[\s\S]*<\/ds:Signature>/)![0];
  const twice = signed.replace(signatureXml, signatureXml + signatureXml);
  t.throws(() => verifyMetadataSignature(twice, { certPem: federation.certPem }), invalid(/found 2/));

  // Only an entity is signed, not the aggregate.
  const signedEntity = signRoot(idpEntity({ certPem: entity.certPem, declareNs: true }).replace('<md:EntityDescriptor ', '<md:EntityDescriptor ID="e1" '), federation.keyPem, federation.certPem);
  const aggregateOfSignedEntity = aggregate([signedEntity.replace(/^<\?xml[^>]*>/, '')]);
  t.throws(() => verifyMetadataSignature(aggregateOfSignedEntity, { certPem: federation.certPem }), invalid(/found 0/));
});

t.test('refuses signature wrapping', async (t) => {
  const body = signed.replace(/^<\?xml[^>]*>\s*/, '');
  const evil = spEntity({ entityId: 'https://evil.example/sp', certPem: other.certPem, acsLocation: 'https://evil.example/acs' });
  const md = 'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"';

  // The signed aggregate moved inside a new root next to an unsigned entity.
  const wrapped = `<md:EntitiesDescriptor ${md} xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute" xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:idpdisc="urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol" validUntil="2999-01-01T00:00:00Z">${body}${evil}</md:EntitiesDescriptor>`;
  t.throws(() => verifyMetadataSignature(wrapped, { certPem: federation.certPem }), invalid(/found 0/));

  // The same, with the signature copied up to the new root: it references the inner element.
  const signatureXml = signed.match(/<ds:Signature[\s\S]*<\/ds:Signature>/)![0];
  const lifted = wrapped.replace('validUntil="2999-01-01T00:00:00Z">', `validUntil="2999-01-01T00:00:00Z">${signatureXml}`);
  t.throws(() => verifyMetadataSignature(lifted, { certPem: federation.certPem }), invalid(/not the root element/));

  // The new root takes over the signed ID; the original keeps it too.
  const sameId = lifted.replace('validUntil="2999-01-01T00:00:00Z">', 'ID="agg20260101T000000Z" validUntil="2999-01-01T00:00:00Z">');
  t.throws(() => verifyMetadataSignature(sameId, { certPem: federation.certPem }), invalid(/same value for the ID|digest/));

  // An unsigned entity appended inside the signed root.
  const appended = signed.replace('</md:EntitiesDescriptor>', `${evil}</md:EntitiesDescriptor>`);
  t.throws(() => verifyMetadataSignature(appended, { certPem: federation.certPem }), invalid(/digest/));
});

t.test('refuses SHA-1 and other transforms', async (t) => {
  const sha1 = signRoot(unsigned, federation.keyPem, federation.certPem, {
    signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  });
  t.throws(() => verifyMetadataSignature(sha1, { certPem: federation.certPem }), invalid(/rsa-sha1 is not accepted/));
  const sha1Digest = signRoot(unsigned, federation.keyPem, federation.certPem, {
    digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1',
  });
  t.throws(() => verifyMetadataSignature(sha1Digest, { certPem: federation.certPem }), invalid(/digest algorithm .*sha1/));
  const inclusive = signRoot(unsigned, federation.keyPem, federation.certPem, {
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'],
  });
  t.throws(() => verifyMetadataSignature(inclusive, { certPem: federation.certPem }), invalid(/transforms/));
});

t.test('refuses DTDs and broken XML before looking at signatures', async (t) => {
  const xxe = signed.replace(/^<\?xml[^>]*>/, '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>');
  t.throws(() => verifyMetadataSignature(xxe, { certPem: federation.certPem }), invalid(/DOCTYPE/));
  const laughs = signed.replace(/^<\?xml[^>]*>/, '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>');
  t.throws(() => verifyMetadataSignature(laughs, { certPem: federation.certPem }), invalid(/DOCTYPE/));
  t.throws(() => verifyMetadataSignature(signed.slice(0, -40), { certPem: federation.certPem }), invalid(/well-formed/));
  t.throws(() => verifyMetadataSignature('<html/>', { certPem: federation.certPem }), invalid(/root element/));
});

t.test('checkValidity: required, not past, not too far ahead', async (t) => {
  const now = new Date('2026-06-01T00:00:00Z');
  const days = (n: number) => new Date(now.getTime() + n * 86400_000);
  checkValidity(days(5), 28, now);
  checkValidity(days(28), 28, now);
  checkValidity(new Date(now.getTime() - 60_000), 28, now); // within the clock skew
  t.throws(() => checkValidity(undefined, 28, now), invalid(/no validUntil/));
  t.throws(() => checkValidity(days(-1), 28, now), invalid(/has passed/));
  t.throws(() => checkValidity(days(29), 28, now), invalid(/more than 28 days ahead/));
});
