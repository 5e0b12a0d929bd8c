/**
 * The whole app through Redis outages: while Redis is away a login answers 503 with a page the
 * user understands, the process keeps serving, and the same fedgate recovers by itself once Redis
 * is back. A login in flight during an outage either completes once Redis is back or fails with a
 * clear page; nothing half-written is accepted later. Redis is a throwaway redis-server child
 * without persistence, killed and restarted on its port; one fedgate lives through every outage of
 * this file.
 */
import t, { type Test } from 'tap';
import { ReplayedMessageError, StoreUnavailableError, UnknownLoginError } from '../../src/core/errors.js';
import { Browser } from '../helpers/browser.js';
import { eventually } from '../helpers/eventually.js';
import { startFedgate, tempDir, writeMetadata, type RunningFedgate } from '../helpers/fedgate.js';
import { freePort } from '../helpers/ports.js';
import { redisServerSkip, throwawayRedis, type ThrowawayRedis } from '../helpers/redis-server.js';
import { startSamlIdpPeer, type SamlIdpPeer } from '../helpers/saml-idp-peer.js';
import { assertErrorPage, formTo, postForm, spProfile, upToAcs } from '../helpers/saml-login.js';
import { startSpPeer, type SpPeer } from '../helpers/saml-sp-peer.js';

const skip =
  process.env.FEDGATE_REDIS_AVAILABLE === '0'
    ? 'FEDGATE_REDIS_AVAILABLE=0: the Redis-backed tests are switched off'
    : redisServerSkip;

const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';
const STORE_DOWN = new StoreUnavailableError('').userMessage;
/** How long a fresh login may take to work again once Redis is back (reconnection backs off up to 2 s). */
const RECOVERY_MS = 10_000;

// An outage must never surface as an unhandled rejection (which would end a real process).
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

interface Setup {
  fedgate: RunningFedgate;
  redis: ThrowawayRedis;
  sp: SpPeer;
  idp: SamlIdpPeer;
}

/** Two upstream IdPs, so the discovery page shows; the first one is used. */
async function setup(t: Test): Promise<Setup> {
  const redis = await throwawayRedis();
  t.teardown(() => redis.stop());
  const dir = tempDir();
  const port = await freePort();
  const sp = await startSpPeer(`http://127.0.0.1:${port}`);
  const idps = await Promise.all([
    startSamlIdpPeer({ name: 'home', displayName: 'Home University' }),
    startSamlIdpPeer({ name: 'other', displayName: 'Other Institute', scope: 'other.example' }),
  ]);
  t.teardown(() => Promise.all([sp.close(), ...idps.map((i) => i.close())]));
  const fedgate = await startFedgate({
    server: { port },
    store: { type: 'redis', url: redis.url, commandTimeoutMs: 500 },
    frontends: { saml: { sps: [{ metadata: writeMetadata(dir, 'sp.xml', sp.metadataXml) }] } },
    backends: { saml: { idps: idps.map((idp, i) => ({ metadata: writeMetadata(dir, `idp${i}.xml`, idp.metadataXml) })) } },
  });
  t.teardown(() => fedgate.close());
  const spMetadata = await (await fetch(`${fedgate.url}/saml/sp/metadata`)).text();
  for (const idp of idps) idp.trustServiceProvider(spMetadata);
  return { fedgate, redis, sp, idp: idps[0]! };
}

/** The process still serves: liveness and a page that needs no store. */
async function assertStillServing(t: Test, fedgate: RunningFedgate): Promise<void> {
  const health = await fetch(`${fedgate.url}/healthz`);
  t.equal(health.status, 200, '/healthz answers 200');
  t.match(await health.json(), { status: 'ok' });
  t.equal((await fetch(`${fedgate.url}/saml/idp/metadata`)).status, 200, 'the app still serves its metadata');
}

/**
 * A whole login in a new browser (so no SSO session shortcut): SP → discovery → IdP → fedgate → SP.
 * Throws unless the SP validated fedgate's assertion, so it can be polled.
 */
async function completeLogin(s: Setup): Promise<Record<string, unknown>> {
  const browser = new Browser();
  const discovery = await browser.get(await s.sp.loginUrl());
  if (discovery.status !== 200) throw new Error(`login start answered ${discovery.status}`);
  return spProfile(await browser.submit(discovery, { idp: s.idp.entityId }, 'choose'));
}

t.test('a Redis outage answers logins with 503, and the same fedgate recovers by itself', { skip }, async (t) => {
  const s = await setup(t);
  const { fedgate, redis } = s;

  await t.test('(a) Redis down before a login starts: 503 page, the process keeps serving', async (t) => {
    // Redis has not run at all yet: fedgate started without it and has never connected.
    for (const attempt of ['first', 'second']) {
      const browser = new Browser();
      const started = Date.now();
      const page = await browser.get(await s.sp.loginUrl());
      const elapsed = Date.now() - started;
      assertErrorPage(t, page, 503, STORE_DOWN, `the ${attempt} login`);
      t.ok(elapsed < 2000, `the ${attempt} login failed fast (${elapsed} ms)`);
      t.match(page.url, `${fedgate.url}/saml/idp/sso`, 'answered by fedgate at its SSO endpoint');
    }
    await assertStillServing(t, fedgate);
  });

  await t.test('recovery from a Redis that was never up: a login works once it starts', async (t) => {
    await redis.start();
    const profile = await eventually(RECOVERY_MS, () => completeLogin(s), 200);
    t.equal(profile[EPPN], 'alice@example.org', 'the SP validated the assertion');
  });

  await t.test('(b) Redis killed between discovery and the choice: 503, then a fresh login works again', async (t) => {
    const browser = new Browser();
    const discovery = await browser.get(await s.sp.loginUrl());
    t.equal(discovery.status, 200, 'the discovery page is shown');
    t.match(discovery.body, 'Home University');

    const upstreamRequests = s.idp.requests.length;
    await redis.stop('SIGKILL');
    const choice = await browser.submit(discovery, { idp: s.idp.entityId }, 'choose');
    assertErrorPage(t, choice, 503, STORE_DOWN, 'the choice');
    t.equal(s.idp.requests.length, upstreamRequests, 'nobody was sent upstream');
    assertErrorPage(t, await browser.get(discovery.url), 503, STORE_DOWN, 'reloading the discovery page');
    await assertStillServing(t, fedgate);

    await redis.start();
    const started = Date.now();
    const profile = await eventually(RECOVERY_MS, () => completeLogin(s), 200);
    t.equal(profile[EPPN], 'alice@example.org', `a fresh login succeeded ${Date.now() - started} ms after Redis was back, without restarting fedgate`);

    // The restarted Redis is empty: the login the page was shown for is gone, and choosing on
    // that old page is refused cleanly rather than continued from nothing.
    const requestsBefore = s.idp.requests.length;
    const stale = await browser.submit(discovery, { idp: s.idp.entityId }, 'choose');
    assertErrorPage(t, stale, 400, new UnknownLoginError('').userMessage, 'choosing on the page shown before the outage');
    t.equal(s.idp.requests.length, requestsBefore, 'and nobody was sent upstream for it');
  });

  await t.test('(b2) Redis hanging at the choice, keeping its data: the same login completes once it answers', async (t) => {
    const browser = new Browser();
    const discovery = await browser.get(await s.sp.loginUrl());
    t.equal(discovery.status, 200, 'the discovery page is shown');
    const choice = formTo(discovery, '/discovery');
    const pick = { ...choice, fields: { ...choice.fields, idp: s.idp.entityId } };

    redis.pause();
    const upstreamRequests = s.idp.requests.length;
    const stalled = await postForm(browser, pick);
    redis.resume();
    assertErrorPage(t, stalled, 503, STORE_DOWN, 'the choice while Redis hangs');
    t.equal(s.idp.requests.length, upstreamRequests, 'nobody was sent upstream');

    // Reading the pending login is all the choice does before it goes upstream: nothing was taken
    // or half-written, so the user pressing the button again continues the very same login.
    const done = await eventually(RECOVERY_MS, async () => {
      const page = await browser.post(pick.action, pick.fields);
      if (page.status === 503) throw new Error('Redis not answering yet');
      return page;
    }, 200);
    t.equal(spProfile(done)[EPPN], 'alice@example.org', 'the login in flight completed, and the SP validated the assertion');
  });

  await t.test('(c) Redis killed after the upstream answered, before fedgate got the answer', async (t) => {
    const browser = new Browser();
    const acsPost = await upToAcs(browser, s.sp, s.idp.entityId);

    await redis.stop('SIGKILL');
    assertErrorPage(t, await postForm(browser, acsPost), 503, STORE_DOWN, 'the ACS post');
    await assertStillServing(t, fedgate);

    await redis.start();
    // Wait until fedgate writes to Redis again (starting a login stores its state).
    await eventually(RECOVERY_MS, async () => {
      const page = await new Browser().get(await s.sp.loginUrl());
      if (page.status !== 200) throw new Error(`login start answered ${page.status}`);
    }, 200);

    // The ACS marks the assertion ID used (set-if-absent) before it takes the request binding, and
    // the 503 came from the first of these, failing fast before anything reached Redis. But the
    // restarted Redis has no persistence: the binding of the AuthnRequest and the login state are
    // gone, so the same Response cannot be accepted again: it is not replayed (the replay mark is
    // gone too), it answers a login fedgate no longer knows. A typed 400, never a 500.
    const again = await postForm(browser, acsPost);
    assertErrorPage(t, again, 400, new UnknownLoginError('').userMessage, 'the same Response posted again');
    const profile = await completeLogin(s);
    t.equal(profile[EPPN], 'alice@example.org', 'the user starting again from the service gets in');
  });

  await t.test('(d) Redis hanging at the ACS post: 503, and the same Response stays used up', async (t) => {
    const browser = new Browser();
    const acsPost = await upToAcs(browser, s.sp, s.idp.entityId);

    redis.pause();
    const started = Date.now();
    const stalled = await postForm(browser, acsPost);
    const elapsed = Date.now() - started;
    redis.resume();
    assertErrorPage(t, stalled, 503, STORE_DOWN, 'the ACS post to a hanging Redis');
    t.ok(elapsed < 2000, `after about the 500 ms command timeout (${elapsed} ms)`);

    // Here Redis keeps its data, so the order in the ACS decides: the replay-cache SET NX was
    // written to the connection before fedgate gave up waiting, and the resumed Redis executes it.
    // The assertion is therefore marked used while its request binding was never taken. A second
    // post is refused as a replay: the Response is used at most once, even when fedgate could not
    // tell whether its write arrived. The user starts again from the service.
    const again = await eventually(RECOVERY_MS, async () => {
      const page = await postForm(browser, acsPost);
      if (page.status === 503) throw new Error('Redis not answering yet');
      return page;
    }, 200);
    assertErrorPage(t, again, 403, new ReplayedMessageError('').userMessage, 'the same Response posted again');
    const profile = await completeLogin(s);
    t.equal(profile[EPPN], 'alice@example.org', 'a fresh login works');
  });

  t.same(unhandled, [], 'no unhandled promise rejection anywhere');
});
