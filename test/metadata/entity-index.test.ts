import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { MetadataSourceConfig } from '../../src/config/schema.js';
import { sha256Fingerprint } from '../../src/crypto/keys.js';
import { EntityIndex } from '../../src/metadata/entity-index.js';
import type { EntityRecord } from '../../src/metadata/types.js';
import { VALIDITY_SKEW_MS } from '../../src/metadata/validity.js';
import { IDP_ID, SP_ID, aggregate, generateKeyPair, idpEntity, signRoot, spEntity } from '../fixtures/metadata/build.js';
import { memoryLog, startMetadataServer } from '../fixtures/metadata/server.js';

const [federation, entity] = await Promise.all([generateKeyPair('federation'), generateKeyPair('entity')]);
const fingerprint = sha256Fingerprint(federation.certPem);
const signedSps = (acsLocation: string) =>
  signRoot(aggregate([spEntity({ certPem: entity.certPem, acsLocation })], { cacheDuration: 'P1D' }), federation.keyPem, federation.certPem);
const acsOf = (index: EntityIndex) => index.get(SP_ID)?.sp?.assertionConsumerServices[0]?.location;

const record = (entityId: string, extra: Partial<EntityRecord> = {}): EntityRecord => ({
  entityId,
  entityAttributes: {},
  organizationDisplayName: {},
  source: 'demo',
  ...extra,
});

async function setup(t: Test, refreshSeconds = 3600) {
  const server = await startMetadataServer();
  t.teardown(() => server.close());
  server.publish(signedSps('https://sp.example.org/acs/1'), { etag: '"1"' });
  const dir = t.testdir({
    'idps.xml': aggregate([
      idpEntity({ certPem: entity.certPem }),
      spEntity({ certPem: entity.certPem, acsLocation: 'https://file.example/acs' }),
    ]),
  });
  const sources: MetadataSourceConfig[] = [
    { metadata: join(dir, 'idps.xml'), refreshSeconds: 3600, retrySeconds: 60, timeoutSeconds: 120, maxValidityDays: 28 },
    { metadata: server.url, fingerprint, refreshSeconds, retrySeconds: 60, timeoutSeconds: 120, maxValidityDays: 28 },
  ];
  const log = memoryLog();
  const index = await EntityIndex.load(sources, { log });
  t.teardown(() => index.stop());
  return { server, index, log };
}

t.test('indexes the entities of every source; the first source wins a duplicate', async (t) => {
  const { index } = await setup(t);
  t.same(index.all().map((r) => r.entityId), [IDP_ID, SP_ID]);
  t.same(index.idps().map((r) => r.entityId), [IDP_ID]);
  t.same(index.sps().map((r) => r.entityId), [SP_ID]);
  t.equal(acsOf(index), 'https://file.example/acs');
  t.equal(index.get('https://unknown.example/'), undefined);
});

t.test('addRecords registers in-process entities and replaces them on the next call', async (t) => {
  const { index } = await setup(t);
  index.addRecords('demo', [record('https://demo.example/idp', { idp: {} as EntityRecord['idp'] })]);
  t.ok(index.get('https://demo.example/idp'));
  t.equal(index.idps().length, 2);
  index.addRecords('demo', [record('https://demo.example/sp')]);
  t.notOk(index.get('https://demo.example/idp'));
  t.ok(index.get('https://demo.example/sp'));
  index.addRecords('demo', [record(IDP_ID, { source: 'demo' })]);
  t.equal(index.get(IDP_ID)?.source.endsWith('idps.xml'), true, 'configured metadata is not overridden');
});

t.test('expired records are not handed out', async (t) => {
  const { index } = await setup(t);
  index.addRecords('demo', [record('https://old.example/', { validUntil: new Date(Date.now() - 3600_000) })]);
  t.equal(index.get('https://old.example/'), undefined);
  t.notOk(index.all().some((r) => r.entityId === 'https://old.example/'));
});

t.test('generation() changes whenever the listed entities may: added records, a refreshed source, an entity expiring', async (t) => {
  const { index, server } = await setup(t);
  const loaded = index.generation();
  t.equal(index.generation(), loaded, 'the same while nothing changes');
  await index.refresh();
  t.equal(server.requests.at(-1)!['if-none-match'], '"1"', 'asked conditionally: the source answers 304');
  t.equal(index.generation(), loaded, 'a refresh answered 304 changes nothing');

  const validUntil = new Date(Date.now() + 3600_000);
  index.addRecords('demo', [record('https://soon.example/idp', { validUntil })]);
  const added = index.generation();
  t.not(added, loaded, 'added records');
  t.equal(index.generation(validUntil.getTime() + VALIDITY_SKEW_MS), added, 'valid until its validUntil plus the skew');
  const expired = index.generation(validUntil.getTime() + VALIDITY_SKEW_MS + 1);
  t.not(expired, added, 'then it expires');
  t.equal(index.generation(validUntil.getTime() + VALIDITY_SKEW_MS + 60_000), expired, 'once');

  server.publish(signedSps('https://sp.example.org/acs/2'), { etag: '"2"' });
  await index.refresh();
  t.ok(index.generation(validUntil.getTime() + VALIDITY_SKEW_MS + 60_000) > expired, 'a refreshed source');
});

t.test('refresh replaces a source only with a verified newer copy', async (t) => {
  const server = await startMetadataServer();
  t.teardown(() => server.close());
  server.publish(signedSps('https://sp.example.org/acs/1'), { etag: '"1"' });
  const log = memoryLog();
  const index = await EntityIndex.load([{ metadata: server.url, fingerprint, refreshSeconds: 3600, retrySeconds: 60, timeoutSeconds: 120, maxValidityDays: 28 }], { log });
  t.equal(acsOf(index), 'https://sp.example.org/acs/1');

  await index.refresh();
  t.equal(server.requests.at(-1)!['if-none-match'], '"1"');
  t.equal(acsOf(index), 'https://sp.example.org/acs/1', '304 keeps the records');

  server.publish(signedSps('https://sp.example.org/acs/2'), { etag: '"2"' });
  await index.refresh();
  t.equal(acsOf(index), 'https://sp.example.org/acs/2');

  const tampered = signedSps('https://sp.example.org/acs/3').replace('https://sp.example.org/acs/3', 'https://evil.example/acs');
  server.publish(tampered, { etag: '"3"' });
  await index.refresh();
  t.equal(acsOf(index), 'https://sp.example.org/acs/2', 'the last good copy stays');
  t.match(log.warnings().at(-1), { msg: /refresh failed; keeping the last good copy/, obj: { keptEntities: 1 } });
  t.equal(server.requests.at(-1)!['if-none-match'], '"2"');
  const [good] = index.status();
  t.match(good, { stale: true, failures: 1, entities: 1, lastError: /signature|digest/i }, 'the source is stale, with the reason');

  server.failWith(503);
  await index.refresh();
  t.equal(acsOf(index), 'https://sp.example.org/acs/2');
  t.equal(log.warnings().length, 2);
  t.match(index.status()[0], { stale: true, failures: 2, lastError: /HTTP 503/, loadedAt: good!.loadedAt });

  server.publish(signedSps('https://sp.example.org/acs/4'), { etag: '"4"' });
  server.failWith(undefined);
  await index.refresh();
  t.equal(acsOf(index), 'https://sp.example.org/acs/4');
  t.match(index.status()[0], { stale: false, failures: 2, fromBackingCopy: false });
  t.notOk('lastError' in index.status()[0]!, 'no reason once it answers');
});

t.test('after a failed fetch the source is tried again every retrySeconds until it answers', async (t) => {
  const server = await startMetadataServer();
  t.teardown(() => server.close());
  server.publish(signedSps('https://sp.example.org/acs/1'));
  const index = await EntityIndex.load([{ metadata: server.url, fingerprint, refreshSeconds: 3600, retrySeconds: 0.05, timeoutSeconds: 120, maxValidityDays: 28 }], {
    log: memoryLog(),
  });
  t.teardown(() => index.stop());
  index.startRefresh();
  server.failWith(500);
  await index.refresh();
  const requestsAfterFailure = server.requests.length;
  for (let i = 0; i < 100 && server.requests.length < requestsAfterFailure + 2; i++) await sleep(20);
  t.ok(server.requests.length >= requestsAfterFailure + 2, 'retried soon, not after refreshSeconds');

  server.publish(signedSps('https://sp.example.org/acs/2'));
  server.failWith(undefined);
  for (let i = 0; i < 100 && index.status()[0]!.stale; i++) await sleep(20);
  t.equal(acsOf(index), 'https://sp.example.org/acs/2', 'a retry loaded the new copy');
  const requestsAfterRecovery = server.requests.length;
  await sleep(200);
  t.equal(server.requests.length, requestsAfterRecovery, 'and the retries stopped: the next fetch is a regular refresh');
});

t.test('startRefresh refreshes URL sources on their timers until stop', async (t) => {
  const { server, index } = await setup(t, 0.05);
  index.startRefresh();
  index.startRefresh();
  server.publish(signedSps('https://sp.example.org/acs/later'), { etag: '"later"' });
  index.addRecords('demo', []);
  const requestsBefore = server.requests.length;
  for (let i = 0; i < 100 && server.requests.length < requestsBefore + 3; i++) await sleep(20);
  t.ok(server.requests.length >= requestsBefore + 3, 'several refreshes ran');
  t.equal(index.get(SP_ID)?.sp?.assertionConsumerServices[0]?.location, 'https://file.example/acs', 'the file source still wins');
  t.ok(index.all().length === 2);
  index.stop();
  await sleep(120);
  const afterStop = server.requests.length;
  await sleep(200);
  t.equal(server.requests.length, afterStop, 'no refresh after stop');
});
