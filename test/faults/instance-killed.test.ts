/**
 * A fedgate instance killed in the middle of a login: two instances behind one address share Redis
 * and the data folder (keys, salt), as behind a load balancer. Instance A is a real `fedgate serve`
 * process; it takes the service's request, shows discovery and sends the AuthnRequest upstream,
 * then dies by SIGKILL (no shutdown of any kind) while the user is at the IdP. The balancer sends
 * the IdP's Response to instance B, which finishes the login from what A left in Redis.
 */
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';
import { ReplayedMessageError } from '../../src/core/errors.js';
import { startBalancer } from '../helpers/balancer.js';
import { Browser } from '../helpers/browser.js';
import { REDIS_URL, startParsedFedgate, tempDir, writeMetadata } from '../helpers/fedgate.js';
import { spawnFedgate, writeConfig } from '../helpers/fedgate-process.js';
import { freePort } from '../helpers/ports.js';
import { startSamlIdpPeer } from '../helpers/saml-idp-peer.js';
import { assertErrorPage, postForm, spProfile, upToAcs } from '../helpers/saml-login.js';
import { startSpPeer } from '../helpers/saml-sp-peer.js';

const redisSkip = process.env.FEDGATE_REDIS_AVAILABLE === '0' ? `Redis not reachable at ${REDIS_URL}` : false;
const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';

t.test('instance A is killed between the AuthnRequest and the ACS: instance B finishes the login', { skip: redisSkip }, async (t) => {
  const [portA, portB] = [await freePort(), await freePort()];
  const balancer = await startBalancer(portA);
  t.teardown(() => balancer.close());
  const sp = await startSpPeer(balancer.url);
  const idps = await Promise.all([
    startSamlIdpPeer({ name: 'home', displayName: 'Home University' }),
    startSamlIdpPeer({ name: 'other', displayName: 'Other Institute', scope: 'other.example' }),
  ]);
  t.teardown(() => Promise.all([sp.close(), ...idps.map((i) => i.close())]));
  const home = idps[0]!;

  const dir = tempDir();
  // One configuration for both, as a deployment would roll out; only the port differs.
  const config = {
    server: { baseUrl: balancer.url, host: '127.0.0.1', port: portA },
    dataDir: tempDir('fedgate-shared-data-'),
    logging: { level: 'warn' },
    store: { type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-killed-${process.pid}-${Date.now()}:` },
    frontends: { saml: { sps: [{ metadata: writeMetadata(dir, 'sp.xml', sp.metadataXml) }] } },
    backends: { saml: { idps: idps.map((idp, i) => ({ metadata: writeMetadata(dir, `idp${i}.xml`, idp.metadataXml) })) } },
  };
  const a = spawnFedgate(['serve', '--config', writeConfig(dir, config)]);
  t.teardown(() => a.kill('SIGKILL'));
  await a.ready(`http://127.0.0.1:${portA}`);
  // B starts after A generated the keys into the shared data folder, and reads the same ones.
  const b = await startParsedFedgate(parseConfig({ ...config, logging: { level: 'silent' }, server: { ...config.server, port: portB } }));
  t.teardown(() => b.close());

  const spMetadata = await (await fetch(`${balancer.url}/saml/sp/metadata`)).text();
  for (const idp of idps) idp.trustServiceProvider(spMetadata);

  const browser = new Browser();
  const acsPost = await upToAcs(browser, sp, home.entityId);
  t.equal(home.requests.length, 1, 'the AuthnRequest reached the IdP');
  t.ok(balancer.seen.length > 0 && balancer.seen.every((port) => port === portA), 'A alone served the login so far');
  t.equal(new URL(acsPost.action).origin, balancer.url, 'the IdP answers to the shared address');

  const exit = await a.kill('SIGKILL');
  t.equal(exit.signal, 'SIGKILL', 'A is gone, killed without a chance to clean up');
  t.equal((await fetch(`http://127.0.0.1:${portA}/healthz`).catch(() => undefined))?.status, undefined, 'nothing answers on A’s port');

  balancer.target = portB;
  const seenBefore = balancer.seen.length;
  const done = await browser.post(acsPost.action, acsPost.fields);
  const profile = spProfile(done);
  t.equal(profile[EPPN], 'alice@example.org', 'B finished the login: the SP validated its Response');
  t.ok(balancer.seen.slice(seenBefore).every((port) => port === portB), 'B alone served the rest');

  // What A stored is used up by B, not left for a second use.
  const again = await postForm(browser, acsPost);
  assertErrorPage(t, again, 403, new ReplayedMessageError('').userMessage, 'the same Response posted to B again');
});
