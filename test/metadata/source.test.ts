import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import type { MetadataSourceConfig } from '../../src/config/schema.js';
import { sha256Fingerprint } from '../../src/crypto/keys.js';
import { MAX_METADATA_BYTES, loadMetadataSource, type SourceCache } from '../../src/metadata/source.js';
import { IDP_ID, SP_ID, aggregate, generateKeyPair, idpEntity, signRoot, spEntity } from '../fixtures/metadata/build.js';
import { memoryLog, startMetadataServer } from '../fixtures/metadata/server.js';

const [federation, other, entity] = await Promise.all([generateKeyPair('federation'), generateKeyPair('other'), generateKeyPair('entity')]);
const unsigned = aggregate([idpEntity({ certPem: entity.certPem }), spEntity({ certPem: entity.certPem })]);
const signed = signRoot(unsigned, federation.keyPem, federation.certPem);
const tampered = signed.replace('https://idp.example.org/sso/redirect', 'https://evil.example/sso');
const source = (metadata: string, extra: Partial<MetadataSourceConfig> = {}): MetadataSourceConfig => ({
  metadata,
  refreshSeconds: 3600,
  retrySeconds: 60,
  timeoutSeconds: 120,
  maxValidityDays: 28,
  ...extra,
});

t.test('file sources: trusted as they are, or verified when a signer is configured', async (t) => {
  const dir = t.testdir({
    'unsigned.xml': unsigned,
    'signed.xml': signed,
    'tampered.xml': tampered,
    'federation.crt': federation.certPem,
    'other.crt': other.certPem,
  });
  const log = memoryLog();
  const path = (f: string) => join(dir, f);
  const plain = await loadMetadataSource(source(path('unsigned.xml')), { log });
  t.same(plain.map((r) => r.entityId), [IDP_ID, SP_ID]);
  t.equal(plain[0]!.source, path('unsigned.xml'));
  t.match(log.lines.at(-1), { level: 'info', msg: 'metadata loaded', obj: { entities: 2, signed: false } });

  const verified = await loadMetadataSource(source(path('signed.xml'), { signingCert: path('federation.crt') }), { log });
  t.same(verified.map((r) => r.entityId), [IDP_ID, SP_ID]);
  const pinned = await loadMetadataSource(source(path('signed.xml'), { fingerprint: sha256Fingerprint(federation.certPem) }), { log });
  t.equal(pinned.length, 2);

  const invalid = { name: 'InvalidMetadataError' };
  await t.rejects(loadMetadataSource(source(path('tampered.xml'), { signingCert: path('federation.crt') }), { log }), invalid);
  await t.rejects(loadMetadataSource(source(path('signed.xml'), { signingCert: path('other.crt') }), { log }), invalid);
  await t.rejects(loadMetadataSource(source(path('unsigned.xml'), { signingCert: path('federation.crt') }), { log }), invalid);
  await t.rejects(
    loadMetadataSource(source(path('signed.xml'), { signingCert: path('federation.crt'), maxValidityDays: 3 }), { log }),
    { ...invalid, message: /more than 3 days ahead/ },
  );
  await t.rejects(loadMetadataSource(source(path('missing.xml')), { log }), { name: 'MetadataUnavailableError' });
  await t.rejects(loadMetadataSource(source(path('signed.xml'), { signingCert: path('missing.crt') }), { log }), {
    name: 'MetadataUnavailableError',
  });
});

t.test('a signed document must carry a validUntil', async (t) => {
  const timeless = signRoot(unsigned.replace(/ validUntil="[^"]+"/, ''), federation.keyPem, federation.certPem);
  const dir = t.testdir({ 'timeless.xml': timeless, 'federation.crt': federation.certPem });
  await t.rejects(
    loadMetadataSource(source(join(dir, 'timeless.xml'), { signingCert: join(dir, 'federation.crt') }), { log: memoryLog() }),
    { name: 'InvalidMetadataError', message: /no validUntil/ },
  );
});

t.test('entities left out are logged', async (t) => {
  const past = new Date(Date.now() - 86400_000).toISOString();
  const xml = aggregate([idpEntity({ certPem: entity.certPem, validUntil: past }), spEntity({ certPem: entity.certPem })]);
  const dir = t.testdir({ 'md.xml': xml });
  const log = memoryLog();
  const records = await loadMetadataSource(source(join(dir, 'md.xml')), { log });
  t.same(records.map((r) => r.entityId), [SP_ID]);
  t.match(log.warnings(), [{ obj: { entityId: IDP_ID }, msg: /left out: expired/ }]);
});

t.test('URL sources: verified, then refreshed with a conditional GET', async (t) => {
  const server = await startMetadataServer();
  t.teardown(() => server.close());
  server.publish(signed, { etag: '"v1"', lastModified: 'Mon, 01 Jun 2026 00:00:00 GMT' });
  const src = source(server.url, { fingerprint: sha256Fingerprint(federation.certPem) });
  const log = memoryLog();
  const cache: SourceCache = {};

  const first = await loadMetadataSource(src, { log, cache });
  t.same(first.map((r) => r.entityId), [IDP_ID, SP_ID]);
  t.equal(server.requests[0]!['if-none-match'], undefined);
  t.match(server.requests[0]!.accept, /application\/samlmetadata\+xml/);
  t.equal(cache.etag, '"v1"');
  t.equal(cache.cacheDurationMs, 6 * 3600_000);

  const again = await loadMetadataSource(src, { log, cache });
  t.equal(server.requests[1]!['if-none-match'], '"v1"');
  t.equal(server.requests[1]!['if-modified-since'], 'Mon, 01 Jun 2026 00:00:00 GMT');
  t.equal(again, first, '304: the records already held');
  t.match(log.lines.at(-1), { msg: /not modified/ });

  server.publish(tampered, { etag: '"v2"' });
  await t.rejects(loadMetadataSource(src, { log, cache }), { name: 'InvalidMetadataError' });
  t.equal(cache.etag, '"v1"', 'a refused document changes nothing');
  t.equal(cache.records, first);

  server.publish(signed, { lastModified: 'Tue, 02 Jun 2026 00:00:00 GMT' });
  await loadMetadataSource(src, { log, cache });
  t.equal(cache.etag, undefined);
  await loadMetadataSource(src, { log, cache });
  t.equal(server.requests.at(-1)!['if-modified-since'], 'Tue, 02 Jun 2026 00:00:00 GMT');
  t.match(log.lines.at(-1), { msg: /not modified/ }, 'Last-Modified alone works too');

  server.failWith(500);
  await t.rejects(loadMetadataSource(src, { log, cache }), { name: 'MetadataUnavailableError', message: /HTTP 500/ });
  server.failWith(304);
  await t.rejects(loadMetadataSource(src, { log }), { name: 'MetadataUnavailableError', message: /HTTP 304/ }, 'no 304 without a cache');
});

t.test('URL sources: unreachable and oversized', async (t) => {
  const log = memoryLog();
  const fingerprint = sha256Fingerprint(federation.certPem);
  const closed = await startMetadataServer();
  await closed.close();
  await t.rejects(loadMetadataSource(source(closed.url, { fingerprint }), { log }), { name: 'MetadataUnavailableError', message: /cannot fetch/ });

  let declared = false;
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const big = createServer((_req, res) => {
    if (declared) {
      res.writeHead(200, { 'content-length': String(MAX_METADATA_BYTES + 1) });
      res.end();
      return;
    }
    // No length announced: the limit must hold while reading.
    res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
    let sent = 0;
    const push = () => {
      while (sent <= MAX_METADATA_BYTES) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', push);
      }
      res.end();
    };
    res.on('close', () => res.removeAllListeners('drain'));
    push();
  });
  await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => (big.closeAllConnections(), big.close(() => resolve()))));
  const url = `http://127.0.0.1:${(big.address() as AddressInfo).port}/huge.xml`;
  await t.rejects(loadMetadataSource(source(url, { fingerprint }), { log }), { name: 'InvalidMetadataError', message: /larger than/ });
  declared = true;
  await t.rejects(loadMetadataSource(source(url, { fingerprint }), { log }), { name: 'InvalidMetadataError', message: /larger than/ });
});

t.test('URL sources: a compressed transfer, whose Content-Length counts the compressed bytes, is read whole', async (t) => {
  const compressed = gzipSync(signed);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/samlmetadata+xml', 'content-encoding': 'gzip', 'content-length': String(compressed.length) });
    res.end(compressed);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  t.ok(compressed.length < signed.length);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/federation.xml`;
  const records = await loadMetadataSource(source(url, { fingerprint: sha256Fingerprint(federation.certPem) }), { log: memoryLog() });
  t.same(records.map((r) => r.entityId), [IDP_ID, SP_ID]);
});
