/** /healthz and /readyz against a real store and real metadata files. */
import t from 'tap';
import { REDIS_URL, startFedgate, tempDir, writeMetadata } from '../helpers/fedgate.js';
import { freePort } from '../helpers/ports.js';
import { startSpPeer } from '../helpers/saml-sp-peer.js';
import { eventually } from '../helpers/eventually.js';

const redisSkip = process.env.FEDGATE_REDIS_AVAILABLE === '0' ? `Redis not reachable at ${REDIS_URL}` : false;

async function getJson(url: string): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

t.test('ready with a reachable Redis and fresh metadata', { skip: redisSkip }, async (t) => {
  const fedgate = await startFedgate({ store: { type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-readyz-${process.pid}:` } });
  t.teardown(() => fedgate.close());
  t.same(await getJson(`${fedgate.url}/healthz`), { status: 200, body: { status: 'ok', details: { metadata: [] } } });
  const ready = await getJson(`${fedgate.url}/readyz`);
  t.equal(ready.status, 200);
  t.match(ready.body, { status: 'ready', checks: { store: { ok: true }, metadata: { ok: true } } });
});

t.test('unready while the store does not answer; still alive', async (t) => {
  const closedPort = await freePort();
  const fedgate = await startFedgate({
    store: { type: 'redis', url: `redis://127.0.0.1:${closedPort}`, commandTimeoutMs: 100 },
    operations: { readiness: { storeTimeoutMs: 500 } },
  });
  t.teardown(() => fedgate.close());
  const started = Date.now();
  const ready = await getJson(`${fedgate.url}/readyz`);
  t.ok(Date.now() - started < 3000, `answered within the bounded time (${Date.now() - started} ms)`);
  t.equal(ready.status, 503);
  t.match(ready.body, { status: 'unready', checks: { store: { ok: false, reason: /Redis|ping/ }, metadata: { ok: true } } });
  t.equal((await getJson(`${fedgate.url}/healthz`)).status, 200, 'liveness is unaffected');
  const metrics = await (await fetch(`${fedgate.url}/metrics`)).text();
  t.match(metrics, /fedgate_store_errors_total [1-9]/, 'the failed ping counts as a store error');
});

t.test('unready once a metadata source has expired', async (t) => {
  const sp = await startSpPeer('http://127.0.0.1:1');
  t.teardown(() => sp.close());
  // Within the 5-minute validUntil skew now, past it in a few seconds (start-up on a busy machine included).
  const validUntil = new Date(Date.now() - 5 * 60_000 + 6000).toISOString();
  const xml = sp.metadataXml.replace(/<((?:md:)?EntityDescriptor)\b/, `<$1 validUntil="${validUntil}"`);
  t.match(xml, 'validUntil=', 'the metadata carries validUntil');
  const metadata = writeMetadata(tempDir(), 'sp.xml', xml);
  const fedgate = await startFedgate({ frontends: { saml: { sps: [{ metadata }] } } });
  t.teardown(() => fedgate.close());
  t.equal((await getJson(`${fedgate.url}/readyz`)).status, 200, 'ready while the metadata is valid');
  await eventually(15_000, async () => {
    const ready = await getJson(`${fedgate.url}/readyz`);
    if (ready.status !== 503) throw new Error(`still ${ready.status}`);
    t.match(ready.body, { status: 'unready', checks: { store: { ok: true }, metadata: { ok: false, reason: /sp\.xml \(expired at / } } });
  });
});
