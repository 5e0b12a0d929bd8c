/**
 * The whole bridge, as deployed: a SAML SP (node-saml) asks fedgate for a login, the user picks an
 * upstream IdP (samlify) on the discovery page, logs in there, and the SP validates fedgate's
 * signed assertion with the certificate from fedgate's metadata. Run against the memory store and
 * against Redis; and across two instances sharing one Redis.
 */
import t, { type Test } from 'tap';
import { Browser, parseForms } from '../helpers/browser.js';
import { REDIS_URL, startFedgate, tempDir, writeMetadata, type RunningFedgate } from '../helpers/fedgate.js';
import { freePort } from '../helpers/ports.js';
import { startHomeIdpPeer, startSamlIdpPeer, type SamlIdpPeer } from '../helpers/saml-idp-peer.js';
import { startSpPeer, type SpPeer } from '../helpers/saml-sp-peer.js';

const OID = {
  eppn: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  displayName: 'urn:oid:2.16.840.1.113730.3.1.241',
  entitlement: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.7',
  affiliation: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.9',
};

const ENTITLEMENTS = ['urn:geant:example.org:group:physics#example.org', 'urn:geant:example.org:group:physics:detector#example.org'];

const redisSkip =
  process.env.FEDGATE_REDIS_AVAILABLE === '0' ? `Redis not reachable at ${REDIS_URL}: set REDIS_URL to run the Redis-backed tests` : false;

interface Setup {
  fedgates: RunningFedgate[];
  sp: SpPeer;
  idps: SamlIdpPeer[];
}

/** Two upstream IdPs (so discovery shows), one SP, and `instances` fedgates sharing `store`. */
async function setup(t: Test, store: Record<string, unknown>, instances = 1): Promise<Setup> {
  const dir = tempDir();
  const ports = await Promise.all(Array.from({ length: instances }, () => freePort()));
  // Every instance is reachable under its own URL, yet they are one proxy: same entityIDs, same ACS.
  const publicUrl = `http://127.0.0.1:${ports[0]}`;
  const sp = await startSpPeer(publicUrl);
  const idps = await Promise.all([
    startHomeIdpPeer({
      [OID.eppn]: ['alice@example.org'],
      [OID.mail]: ['alice@example.org'],
      [OID.displayName]: ['Alice <Admin> & "Co"'],
      [OID.entitlement]: ENTITLEMENTS,
      [OID.affiliation]: ['member@example.org', 'staff@example.org'],
    }, { response: { encrypt: true } }),
    startSamlIdpPeer({ name: 'other', displayName: 'Other Institute', scope: 'other.example' }),
  ]);
  const keysDir = tempDir();
  const config = {
    dataDir: keysDir,
    store,
    frontends: { saml: { sps: [{ metadata: writeMetadata(dir, 'sp.xml', sp.metadataXml) }] } },
    backends: { saml: { idps: idps.map((idp, i) => ({ metadata: writeMetadata(dir, `idp${i}.xml`, idp.metadataXml) })) } },
  };
  const fedgates: RunningFedgate[] = [];
  for (const port of ports) {
    fedgates.push(await startFedgate({ ...config, server: { baseUrl: publicUrl, port } }));
  }
  const spMetadata = await (await fetch(`${publicUrl}/saml/sp/metadata`)).text();
  for (const idp of idps) idp.trustServiceProvider(spMetadata);
  t.teardown(async () => {
    await Promise.all([...fedgates.map((f) => f.close()), sp.close(), ...idps.map((i) => i.close())]);
  });
  return { fedgates, sp, idps };
}

/** Rewrites URLs of the first instance to `target`, as a load balancer sending a request elsewhere would. */
function via(url: string, from: RunningFedgate, target: RunningFedgate): string {
  return url.replace(`127.0.0.1:${from.config.server.port}`, `127.0.0.1:${target.config.server.port}`);
}

function runBridge(name: string, store: () => Record<string, unknown>, skip: string | false) {
  t.test(`SP → fedgate → discovery → IdP → fedgate → SP (${name} store)`, { skip }, async (t) => {
    const { sp, idps } = await setup(t, store());
    const browser = new Browser();

    const discovery = await browser.get(await sp.loginUrl({ relayState: 'rs-123' }));
    t.equal(discovery.status, 200, 'the discovery page is shown');
    t.match(discovery.body, 'Home University');
    t.match(discovery.body, 'Other Institute');

    const done = await browser.submit(discovery, { idp: idps[0]!.entityId }, 'choose');
    t.equal(done.status, 200, `the SP accepted fedgate's answer: ${done.body.slice(0, 300)}`);
    if (!sp.lastResult()) t.comment(browser.history.map((p) => `${p.status} ${p.url.slice(0, 120)}`).join("\n"));
    const profile = sp.lastResult()?.profile as Record<string, unknown> | undefined;
    t.ok(profile, 'the SP validated the signed assertion with the certificate from fedgate metadata');
    t.match(profile?.issuer, /\/saml\/idp\/metadata$/);
    t.same(profile?.[OID.eppn], 'alice@example.org');
    t.same(profile?.[OID.entitlement], ENTITLEMENTS, 'multi-valued attributes arrive as several values');
    t.same(profile?.[OID.displayName], 'Alice <Admin> & "Co"', 'special characters survive exactly once escaped');
    t.equal(profile?.nameIDFormat, 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient');

    t.equal(idps[0]!.requests.length, 1, 'the upstream IdP received one AuthnRequest');
    t.equal(idps[0]!.requests[0]!.signed && idps[0]!.requests[0]!.signatureValid, true, 'signed with the key in fedgate SP metadata');

    await t.test('a second login in the same browser is answered from the SSO session', async (t) => {
      const again = await browser.get(await sp.loginUrl());
      t.equal(again.status, 200);
      t.ok(sp.lastResult()?.profile, 'validated again');
      t.equal(idps[0]!.requests.length, 1, 'no new upstream login');
    });

    await t.test('ForceAuthn goes upstream again, and the discovery page offers the last choice first', async (t) => {
      const page = await browser.get(await sp.loginUrl({ forceAuthn: true }));
      t.equal(page.status, 200);
      t.match(page.body, /Last used[\s\S]*Home University[\s\S]*All/);
      const done = await browser.submit(page, { idp: idps[0]!.entityId }, 'choose');
      t.equal(done.status, 200);
      t.equal(idps[0]!.requests.length, 2, 'a new upstream login');
      t.equal(idps[0]!.requests[1]!.forceAuthn, true, 'ForceAuthn was forwarded upstream');
    });

    await t.test('RequestedAuthnContext is forwarded, and an unmet exact context answers NoAuthnContext', async (t) => {
      const mfa = 'https://refeds.org/profile/mfa';
      const page = await browser.get(await sp.loginUrl({ forceAuthn: true, authnContext: [mfa], idphint: idps[0]!.entityId }));
      t.same(idps[0]!.requests[2]?.requestedAuthnContext?.classRefs, [mfa], 'forwarded upstream');
      t.equal(page.status, 403, 'the SP saw an error status');
      t.match((sp.lastResult()?.error as { xmlStatus?: string } | undefined)?.xmlStatus, /status:NoAuthnContext/);
    });

    await t.test('IsPassive with a session is answered; without one the SP gets NoPassive', async (t) => {
      const withSession = await browser.get(await sp.loginUrl({ passive: true }));
      t.equal(withSession.status, 200);
      const stranger = new Browser();
      const answer = await stranger.get(await sp.loginUrl({ passive: true }));
      t.equal(answer.status, 200, 'fedgate answered the SP at once');
      t.equal(sp.lastResult()?.profile, null, 'node-saml reads a NoPassive status as "not logged in"');
      t.equal(idps[0]!.requests.length, 3, 'nobody was sent upstream');
    });
  });
}

runBridge('memory', () => ({ type: 'memory' }), false);
runBridge('Redis', () => ({ type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-e2e-${process.pid}-${Date.now()}:` }), redisSkip);

t.test('a login started on instance A finishes on instance B (shared Redis)', { skip: redisSkip }, async (t) => {
  const store = { type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-e2e-ab-${process.pid}-${Date.now()}:` };
  const { fedgates, sp, idps } = await setup(t, store, 2);
  const [a, b] = fedgates as [RunningFedgate, RunningFedgate];
  const browser = new Browser();
  // One site behind a load balancer: the login cookie instance A sets comes along to instance B.
  browser.shareCookies(...[a, b].map((f) => `http://127.0.0.1:${f.config.server.port}`));

  // A: the SP's AuthnRequest and the discovery page.
  const discovery = await browser.get(await sp.loginUrl());
  t.equal(discovery.status, 200);
  t.match(discovery.url, `127.0.0.1:${a.config.server.port}`);

  // B: the discovery choice (A's form, posted to B).
  const form = parseForms(discovery).find((f) => f.method === 'post');
  t.ok(form, 'the discovery page has a choice form');
  const atIdp = await browser.fetchRaw(via(form!.action, a, b), {
    method: 'POST',
    body: new URLSearchParams({ ...form!.fields, idp: idps[0]!.entityId }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(atIdp.status, 302, 'instance B sent the browser upstream');
  const idpPage = await browser.fetchRaw(atIdp.headers.get('location')!, { method: 'GET' });
  // The IdP posts to the ACS of A's URL; deliver it to B instead.
  const post = parseForms(idpPage).find((f) => f.action.endsWith('/saml/sp/acs'));
  t.ok(post, 'the IdP answered with a POST to fedgate ACS');
  const final = await browser.fetchRaw(via(post!.action, a, b), {
    method: 'POST',
    body: new URLSearchParams(post!.fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(final.status, 200, 'instance B accepted the upstream answer');
  const toSp = parseForms(final).find((f) => f.action === sp.acsUrl);
  t.ok(toSp, 'instance B answers the SP');
  const spAnswer = await browser.post(toSp!.action, toSp!.fields);
  t.equal(spAnswer.status, 200, spAnswer.body.slice(0, 300));
  t.same((sp.lastResult()?.profile as Record<string, unknown>)?.[OID.eppn], 'alice@example.org');
});
