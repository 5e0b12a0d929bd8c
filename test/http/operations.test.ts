/**
 * Operations around real logins (SAML SP peer → fedgate → discovery → SAML IdP peer): metrics
 * after a success and failures, the metrics allow list behind a trusted proxy, the audit line,
 * and one reference id shared by a login's log lines and its error page.
 */
import t, { type Test } from 'tap';
import { Browser } from '../helpers/browser.js';
import { startFedgate, tempDir, writeMetadata, type RunningFedgate } from '../helpers/fedgate.js';
import { freePort } from '../helpers/ports.js';
import { capturingLogger, type LogLine } from '../helpers/log-lines.js';
import { startHomeIdpPeer, startSamlIdpPeer } from '../helpers/saml-idp-peer.js';
import { startSpPeer, type SpPeer } from '../helpers/saml-sp-peer.js';

const OID = {
  eppn: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  mail: 'urn:oid:0.9.2342.19200300.100.1.3',
  assurance: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.11',
};

interface Setup {
  fedgate: RunningFedgate;
  sp: SpPeer;
  /** An SP fedgate does not know. */
  stranger: SpPeer;
  idpEntityId: string;
  lines: LogLine[];
}

async function setup(t: Test): Promise<Setup> {
  const dir = tempDir();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const sp = await startSpPeer(url);
  const stranger = await startSpPeer(url);
  const idps = await Promise.all([
    startHomeIdpPeer({
      [OID.eppn]: ['alice@example.org'],
      [OID.mail]: ['alice@example.org'],
      [OID.assurance]: ['https://refeds.org/assurance/IAP/medium'],
    }),
    startSamlIdpPeer({ name: 'other', displayName: 'Other Institute', scope: 'other.example' }),
  ]);
  const lines: LogLine[] = [];
  const fedgate = await startFedgate(
    {
      server: { port, trustProxy: ['127.0.0.1'] },
      frontends: { saml: { sps: [{ metadata: writeMetadata(dir, 'sp.xml', sp.metadataXml) }] } },
      backends: { saml: { idps: idps.map((idp, i) => ({ metadata: writeMetadata(dir, `idp${i}.xml`, idp.metadataXml) })) } },
    },
    { logger: capturingLogger(lines) },
  );
  const spMetadata = await (await fetch(`${url}/saml/sp/metadata`)).text();
  for (const idp of idps) idp.trustServiceProvider(spMetadata);
  t.teardown(async () => {
    await Promise.all([fedgate.close(), sp.close(), stranger.close(), ...idps.map((i) => i.close())]);
  });
  return { fedgate, sp, stranger, idpEntityId: idps[0]!.entityId, lines };
}

async function metricsText(fedgate: RunningFedgate): Promise<string> {
  const res = await fetch(`${fedgate.url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

t.test('a successful login: metrics, log lines with one ref, and the audit line', async (t) => {
  const { fedgate, sp, idpEntityId, lines } = await setup(t);
  const browser = new Browser();
  const discovery = await browser.get(await sp.loginUrl());
  const done = await browser.submit(discovery, { idp: idpEntityId }, 'choose');
  t.equal(done.status, 200, 'the SP accepted the answer');
  t.ok(sp.lastResult()?.profile, 'logged in at the SP');

  const started = lines.find((l) => l.msg === 'login started');
  t.ok(started, 'a start line');
  const ref = started?.ref as string;
  t.match(ref, /^[A-Z2-9]{10}$/, 'a short reference id');
  t.ok(lines.find((l) => l.msg === 'upstream chosen' && l.ref === ref && l.upstream === idpEntityId), 'the upstream choice carries the ref');
  t.ok(lines.find((l) => l.msg === 'login finished' && l.ref === ref), 'the finish carries the ref');

  const audits = lines.filter((l) => l.audit === 'login');
  t.equal(audits.length, 1, 'one audit line per completed login');
  const audit = audits[0]!;
  t.equal(audit.level, 30, 'at info level');
  const { level: _l, time: _t, pid: _p, hostname: _h, msg: _m, ...shape } = audit;
  t.same(Object.keys(shape).sort(), ['acr', 'assurance', 'audit', 'backend', 'frontend', 'ref', 'released', 'service', 'subject', 'upstream']);
  t.match(shape, {
    audit: 'login',
    ref,
    service: sp.entityId,
    frontend: 'saml-idp',
    upstream: idpEntityId,
    backend: 'saml',
    subject: 'alice-opaque-1',
    assurance: ['https://refeds.org/assurance/IAP/medium'],
  });
  t.ok((shape.released as string[]).includes('eduPersonPrincipalName'), 'released attribute names');
  t.notMatch(JSON.stringify(audit), 'alice@example.org', 'no attribute values in the audit line');

  const text = await metricsText(fedgate);
  t.match(text, /fedgate_logins_total\{frontend="saml-idp",backend="saml",outcome="success",code=""\} 1/);
  t.match(text, /fedgate_login_duration_seconds_count\{frontend="saml-idp",backend="saml",outcome="success"\} 1/);
  t.match(text, /fedgate_request_duration_seconds_count\{endpoint="saml_acs"\} 1/);
  t.match(text, /fedgate_metadata_entities\{role="idp",source="[^"]*idp0\.xml"\} 1/);
  t.match(text, /fedgate_metadata_age_seconds\{role="sp",source="[^"]*sp\.xml"\} \d/);
  t.match(text, /fedgate_store_errors_total 0/);
  t.match(text, /process_cpu_seconds_total/, 'default process metrics');

  const again = await browser.get(await sp.loginUrl());
  t.equal(again.status, 200, 'answered from the SSO session');
  t.equal(lines.filter((l) => l.audit === 'login').length, 2, 'a login answered from the session is audited too');
  t.ok(lines.find((l) => l.msg === 'login finished' && l.fromSession === true && l.ref !== ref), 'with its own ref');
  t.match(await metricsText(fedgate), /fedgate_logins_total\{frontend="saml-idp",backend="saml",outcome="success",code=""\} 2/);
});

t.test('metrics can be switched off', async (t) => {
  const fedgate = await startFedgate({ operations: { metrics: { enabled: false } } });
  t.teardown(() => fedgate.close());
  const res = await fetch(`${fedgate.url}/metrics`);
  t.equal(res.status, 404);
  await res.text();
});

t.test('failures are counted; a failed login shows its ref on the error page', async (t) => {
  const { fedgate, stranger, sp, lines } = await setup(t);
  const browser = new Browser();

  const refused = await browser.get(await stranger.loginUrl());
  t.equal(refused.status, 403, 'an unknown SP is refused');

  const discovery = await browser.get(await sp.loginUrl());
  const failed = await browser.submit(discovery, { idp: 'https://nowhere.example.org/idp' }, 'choose');
  t.equal(failed.status, 403, 'an unknown upstream choice fails');
  const shown = /<code>([A-Z2-9]{10})<\/code>/.exec(failed.body)?.[1];
  t.ok(shown, 'the error page shows a reference');
  const failure = lines.find((l) => l.msg === 'login failed');
  t.equal(failure?.ref, shown, 'the page quotes the ref of the failed login');
  t.equal(failure?.code, 'unknown_identity_provider');
  t.ok(lines.find((l) => l.msg === 'login started' && l.ref === shown), 'the same ref as at the start');

  const text = await metricsText(fedgate);
  t.match(text, /fedgate_logins_total\{frontend="saml-idp",backend="none",outcome="failed",code="unknown_service_provider"\} 1/);
  t.match(text, /fedgate_logins_total\{frontend="saml-idp",backend="none",outcome="failed",code="unknown_identity_provider"\} 1/);
});

t.test('metrics are for allowed addresses only, as trustProxy determines them', async (t) => {
  const { fedgate } = await setup(t);
  const outside = await fetch(`${fedgate.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
  t.equal(outside.status, 403, 'a client behind the trusted proxy at a public address is refused');
  await outside.text();
  const local = await fetch(`${fedgate.url}/metrics`, { headers: { 'x-forwarded-for': '127.0.0.1' } });
  t.equal(local.status, 200);
  t.match(local.headers.get('content-type'), /^text\/plain/);
  await local.text();
});
