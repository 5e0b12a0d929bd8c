/**
 * A federation-sized signed aggregate (2,000 entities, ~8 MB) through the xmlsec1 path: what is
 * indexed is exactly what was signed, and nothing else is accepted.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import t from 'tap';
import type { MetadataSourceConfig } from '../../src/config/schema.js';
import { sha256Fingerprint } from '../../src/crypto/keys.js';
import { EntityIndex } from '../../src/metadata/entity-index.js';
import { loadMetadataSource } from '../../src/metadata/source.js';
import { BACKGROUND_NICENESS } from '../../src/metadata/xmlsec.js';
import { aggregate, generateKeyPair, idpEntity } from '../fixtures/metadata/build.js';
import { entityIdOf, signWithXmlsec, syntheticAggregate } from '../fixtures/metadata/generate.js';
import { memoryLog, startMetadataServer } from '../fixtures/metadata/server.js';

// The metadata worker compiles its TypeScript sources on first start under the test loader (~7 s).
t.setTimeout(120_000);

const N = 2000;
const ID = 'edugain20260101T000000Z';
const [federation, other, entity] = await Promise.all([generateKeyPair('federation'), generateKeyPair('other'), generateKeyPair('entity')]);
const signed = await signWithXmlsec(syntheticAggregate(N, entity.certPem, { id: ID }), ID, federation.keyPem, federation.certPem);
const source = (metadata: string, extra: Partial<MetadataSourceConfig> = {}): MetadataSourceConfig => ({
  metadata,
  refreshSeconds: 3600,
  retrySeconds: 60,
  timeoutSeconds: 120,
  maxValidityDays: 28,
  ...extra,
});
const invalid = (message: RegExp) => ({ name: 'InvalidMetadataError', message });
const signedRoot = (xml: string) => xml.slice(xml.indexOf('<md:EntitiesDescriptor'));
const dir = t.testdir({ 'federation.crt': federation.certPem, 'other.crt': other.certPem });
let files = 0;
const load = async (xml: string, extra: Partial<MetadataSourceConfig> = {}, opts: { largeDocumentBytes?: number; command?: string } = {}) => {
  const path = join(dir, `md${files++}.xml`);
  await writeFile(path, xml);
  return loadMetadataSource(source(path, { signingCert: join(dir, 'federation.crt'), ...extra }), {
    log: memoryLog(),
    ...(opts.largeDocumentBytes === undefined ? {} : { largeDocumentBytes: opts.largeDocumentBytes }),
    ...(opts.command ? { xmlsec: { command: opts.command } } : {}),
  });
};

t.test('a signed aggregate is accepted and indexed entity by entity, with the event loop free', async (t) => {
  t.ok(signed.length > 1024 * 1024, 'large enough for the xmlsec1 path');
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const records = await load(signed);
  delay.disable();
  t.equal(records.length, N);
  t.same(records.map((r) => r.entityId), Array.from({ length: N }, (_, i) => entityIdOf(i)));
  t.equal(records[1500]!.idp?.singleSignOnServices[0]?.location, 'https://entity1500.example.org/sso');
  t.equal(records[1501]!.sp?.assertionConsumerServices[0]?.location, 'https://entity1501.example.org/acs');
  t.ok(delay.max / 1e6 < 1000, `the event loop never stalled for long (longest ${Math.round(delay.max / 1e6)} ms)`);

  const pinned = await load(signed, { signingCert: undefined, fingerprint: sha256Fingerprint(federation.certPem) });
  t.equal(pinned.length, N, 'the KeyInfo certificate is used when it matches the pinned fingerprint');
  await t.rejects(load(signed, { signingCert: undefined, fingerprint: sha256Fingerprint(other.certPem) }), invalid(/fingerprint/));
});

t.test('one byte changed in any entity rejects the whole aggregate', async (t) => {
  for (const i of [0, 999, N - 1]) {
    const location = i % 2 === 0 ? `https://entity${i}.example.org/sso` : `https://entity${i}.example.org/acs`;
    const tampered = signed.replace(location, location.replace('example', 'exbmple'));
    t.not(tampered, signed);
    await t.rejects(load(tampered), invalid(/xmlsec1 refused/), `entity ${i}`);
  }
});

t.test('a signature by another key is refused, whatever the KeyInfo offers', async (t) => {
  await t.rejects(load(signed, { signingCert: join(dir, 'other.crt') }), invalid(/xmlsec1 refused/));
  const byOther = await signWithXmlsec(syntheticAggregate(300, entity.certPem, { id: ID }), ID, other.keyPem, other.certPem, 'key-value');
  t.match(byOther, /<ds:KeyValue>/);
  await t.rejects(load(byOther), invalid(/xmlsec1 refused/), 'a key carried in the document is never used');
});

t.test('signature wrapping is refused', async (t) => {
  const evil = idpEntity({ entityId: 'https://evil.example/idp', certPem: other.certPem, declareNs: true });
  await t.rejects(load(`${signed}${evil}\n`), invalid(/xmlsec1 refused/), 'an entity appended after the signed root');

  const wrapped = `<?xml version="1.0"?>
<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ID="wrapper">${evil}${signedRoot(signed)}</md:EntitiesDescriptor>`;
  await t.rejects(load(wrapped), invalid(/not a direct child of the root/), 'the signed root moved inside a wrapper');

  const signature = signed.slice(signed.indexOf('<ds:Signature'), signed.indexOf('</ds:Signature>') + '</ds:Signature>'.length);
  const unsignedRoot = signedRoot(signed).replace(signature, '');
  const movedSignature = `<?xml version="1.0"?>
<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ID="wrapper">${signature}${evil}${unsignedRoot}</md:EntitiesDescriptor>`;
  await t.rejects(load(movedSignature), invalid(/references #edugain.*not the root element/), 'the signature lifted to a wrapper root');

  const sameId = movedSignature.replace('ID="wrapper"', `ID="${ID}"`);
  await t.rejects(load(sameId), invalid(/xmlsec1 refused/), 'a wrapper that claims the signed ID');

  // Validly signed, but a second root signature (covered by the first) makes the document ambiguous.
  const extra = '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/></ds:Signature>';
  const twoSignatures = await signWithXmlsec(
    aggregate([idpEntity({ certPem: entity.certPem })], { id: ID }).replace('</md:Extensions>', `</md:Extensions>${extra}`),
    ID,
    federation.keyPem,
    federation.certPem,
  );
  await t.rejects(load(twoSignatures, {}, { largeDocumentBytes: 0 }), invalid(/exactly one ds:Signature/), 'two signatures on the root');
});

t.test('validUntil: expired refused, close to expiry warned about', async (t) => {
  const expired = await signWithXmlsec(
    aggregate([idpEntity({ certPem: entity.certPem })], { id: ID, validUntil: new Date(Date.now() - 3600_000) }),
    ID,
    federation.keyPem,
    federation.certPem,
  );
  await t.rejects(load(expired, {}, { largeDocumentBytes: 0 }), invalid(/has passed/));

  const soon = await signWithXmlsec(
    aggregate([idpEntity({ certPem: entity.certPem })], { id: ID, validUntil: new Date(Date.now() + 3600_000) }),
    ID,
    federation.keyPem,
    federation.certPem,
  );
  const path = join(dir, 'soon.xml');
  await writeFile(path, soon);
  const log = memoryLog();
  const records = await loadMetadataSource(source(path, { signingCert: join(dir, 'federation.crt') }), { log, largeDocumentBytes: 0 });
  t.equal(records.length, 1);
  t.match(log.warnings().map((w) => w.msg), [/expires within 24 hours/]);
});

t.test('without xmlsec1 a large signed document is refused, naming the package', async (t) => {
  await t.rejects(load(signed, {}, { command: '/nonexistent/xmlsec1' }), {
    name: 'MetadataUnavailableError',
    message: /install the Debian package xmlsec1/,
  });
});

t.test('an xmlsec1 that stops early or hangs fails the load, and nothing else', async (t) => {
  const path = join(dir, `md${files++}.xml`);
  await writeFile(path, signed);
  const loadWith = (command: string, timeoutMs?: number) =>
    loadMetadataSource(source(path, { signingCert: join(dir, 'federation.crt') }), { log: memoryLog(), xmlsec: { command, ...(timeoutMs ? { timeoutMs } : {}) } });
  // Exits at once without reading the document it is given.
  await t.rejects(loadWith('/bin/false'), invalid(/xmlsec1 refused/));
  const hang = join(dir, 'hang.sh');
  await writeFile(hang, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
  await t.rejects(loadWith(hang, 300), { name: 'MetadataUnavailableError', message: /did not finish within 300 ms/ });
});

/** Threads of this process at background priority (Linux; 0 elsewhere). */
function lowPriorityThreads(): number {
  if (process.platform !== 'linux') return 0;
  return readdirSync('/proc/self/task').filter((id) => {
    const stat = readFileSync(`/proc/self/task/${id}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]) === BACKGROUND_NICENESS;
  }).length;
}

t.test('a refresh that fails verification keeps the last good index', async (t) => {
  const server = await startMetadataServer();
  t.teardown(() => server.close());
  server.publish(signed, { etag: '"1"' });
  const log = memoryLog();
  const index = await EntityIndex.load([source(server.url, { signingCert: join(dir, 'federation.crt') })], { log });
  t.teardown(() => index.stop());
  t.equal(index.all().length, N);

  server.publish(signed.replace('https://entity42.example.org/sso', 'https://evil.example/sso'), { etag: '"2"' });
  t.equal(lowPriorityThreads(), 0, 'loads so far ran at the usual CPU priority');
  await index.refresh();
  t.equal(index.all().length, N);
  t.equal(index.get(entityIdOf(42))?.idp?.singleSignOnServices[0]?.location, 'https://entity42.example.org/sso');
  t.match(log.warnings().map((w) => w.msg), [/refresh failed; keeping the last good copy/]);

  server.publish(signed, { etag: '"3"' });
  await index.refresh();
  t.equal(index.status()[0]?.stale, false, 'a good copy again');
  if (process.platform === 'linux') t.equal(lowPriorityThreads(), 1, 'refreshes parse at a lower CPU priority');
});
