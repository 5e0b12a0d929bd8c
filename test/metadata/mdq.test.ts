import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { EntityIndex } from '../../src/metadata/entity-index.js';
import { MdqClient, mdqUrl } from '../../src/metadata/mdq.js';
import { IDP_ID, generateKeyPair, idpEntity, signRoot } from '../fixtures/metadata/build.js';
import { memoryLog } from '../fixtures/metadata/server.js';

const [federation, other, entity] = await Promise.all([generateKeyPair('mdq signer'), generateKeyPair('other'), generateKeyPair('entity')]);
const validUntil = new Date(Date.now() + 3 * 24 * 3600_000).toISOString();
const signedEntity = (entityId: string, key = federation) =>
  signRoot(idpEntity({ entityId, certPem: entity.certPem, declareNs: true, validUntil }), key.keyPem, key.certPem, { uri: '' });
const SLOW_ID = 'https://slow.example.org/idp';
const TAMPERED_ID = 'https://tampered.example.org/idp';
const WRONG_ID = 'https://wrong.example.org/idp';

/** A loopback MDQ responder: entities by percent-encoded entityID or {sha1}, ETags, 404s. */
async function startMdq() {
  const documents = new Map<string, string>([
    [IDP_ID, signedEntity(IDP_ID)],
    [SLOW_ID, signedEntity(SLOW_ID)],
    [TAMPERED_ID, signedEntity(TAMPERED_ID).replace('https://idp.example.org/sso/post', 'https://evil.example/sso')],
    [WRONG_ID, signedEntity(IDP_ID)],
  ]);
  const sha1 = (id: string) => createHash('sha1').update(id).digest('hex');
  const requests: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    const m = (req.url ?? '').match(/^\/mdq\/entities\/(.+)$/);
    const asked = m ? decodeURIComponent(m[1]!) : '';
    const entityId = asked.startsWith('{sha1}') ? [...documents.keys()].find((id) => `{sha1}${sha1(id)}` === asked) : asked;
    const body = entityId ? documents.get(entityId) : undefined;
    if (!body) return void res.writeHead(404, { 'cache-control': 'max-age=60' }).end();
    const etag = `"${sha1(body)}"`;
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end();
    const send = () => res.writeHead(200, { 'content-type': 'application/samlmetadata+xml', etag, 'cache-control': 'max-age=600' }).end(body);
    if (entityId === SLOW_ID) setTimeout(send, 100);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mdq/`;
  return {
    base,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const mdq = await startMdq();
t.teardown(() => mdq.close());
let clock = Date.now();
const client = (identifier: 'entityID' | 'sha1' = 'entityID', certPem = federation.certPem) =>
  new MdqClient({ mdq: mdq.base, identifier, maxValidityDays: 28, timeoutSeconds: 10 }, { trusted: { certPem }, log: memoryLog(), now: () => new Date(clock) });
const requestsFor = (fragment: string) => mdq.requests.filter((r) => r.path.includes(fragment)).length;

t.test('MDQ URLs: percent-encoded entityID or the {sha1} form', async (t) => {
  t.equal(mdqUrl('https://mdq.example.org/', 'https://idp.example.org/a b'), 'https://mdq.example.org/entities/https%3A%2F%2Fidp.example.org%2Fa%20b');
  t.equal(
    mdqUrl('https://mdq.example.org/', 'http://example.org/service', 'sha1'),
    'https://mdq.example.org/entities/%7Bsha1%7D11d72e8cf351eb6c75c721e838f469677ab41bdb',
    'the example of draft-young-md-query',
  );
});

t.test('an entity is fetched, verified and cached; a stale copy is revalidated with If-None-Match', async (t) => {
  const c = client();
  const record = await c.lookup(IDP_ID);
  t.equal(record?.entityId, IDP_ID);
  t.equal(record?.idp?.singleSignOnServices[0]?.location, 'https://idp.example.org/sso/redirect');
  const first = mdq.requests.at(-1)!;
  t.equal(first.path, `/mdq/entities/${encodeURIComponent(IDP_ID)}`);
  t.equal(first.headers.accept, 'application/samlmetadata+xml');
  t.equal(first.headers['if-none-match'], undefined);

  const before = mdq.requests.length;
  t.equal(await c.lookup(IDP_ID), record, 'served from the cache');
  t.equal(mdq.requests.length, before);

  clock += 601_000; // past max-age=600
  t.same(await c.lookup(IDP_ID), record);
  t.equal(mdq.requests.length, before + 1);
  t.match(mdq.requests.at(-1)!.headers['if-none-match'], /^"[0-9a-f]{40}"$/, 'conditional GET');
  clock = Date.now();
});

t.test('a tampered, foreign or wrongly signed response is refused', async (t) => {
  await t.rejects(client().lookup(TAMPERED_ID), { name: 'InvalidMetadataError', message: /digest/ });
  await t.rejects(client().lookup(WRONG_ID), { name: 'InvalidMetadataError', message: /not the EntityDescriptor of/ });
  await t.rejects(client('entityID', other.certPem).lookup(IDP_ID), { name: 'InvalidMetadataError', message: /signature/ });
});

t.test('concurrent look-ups of one entity make one request', async (t) => {
  const c = client();
  const results = await Promise.all(Array.from({ length: 5 }, () => c.lookup(SLOW_ID)));
  t.ok(results.every((r) => r?.entityId === SLOW_ID));
  t.equal(requestsFor(encodeURIComponent(SLOW_ID)), 1);
});

t.test('an unknown entity is remembered as unknown for a while', async (t) => {
  const c = client();
  const unknown = 'https://unknown.example.org/idp';
  t.equal(await c.lookup(unknown), undefined);
  t.equal(await c.lookup(unknown), undefined);
  t.equal(requestsFor(encodeURIComponent(unknown)), 1);
  clock += 61_000; // past max-age=60
  t.equal(await c.lookup(unknown), undefined);
  t.equal(requestsFor(encodeURIComponent(unknown)), 2);
  clock = Date.now();
});

t.test('the {sha1} form', async (t) => {
  const record = await client('sha1').lookup(IDP_ID);
  t.equal(record?.entityId, IDP_ID);
  t.match(mdq.requests.at(-1)!.path, /^\/mdq\/entities\/%7Bsha1%7D[0-9a-f]{40}$/);
});

t.test('EntityIndex.resolve falls back to MDQ, after which get() knows the entity', async (t) => {
  const dir = t.testdir({ 'mdq.crt': federation.certPem });
  const index = await EntityIndex.load(
    [{ mdq: mdq.base, signingCert: join(dir, 'mdq.crt'), identifier: 'entityID', maxValidityDays: 28, timeoutSeconds: 10, hidden: false }],
    { log: memoryLog() },
  );
  t.equal(index.get(IDP_ID), undefined);
  t.equal((await index.resolve(IDP_ID))?.entityId, IDP_ID);
  t.equal(index.get(IDP_ID)?.entityId, IDP_ID);
  t.equal(await index.resolve('https://unknown2.example.org/idp'), undefined);
});
