/**
 * A metadata URL that is down, at start-up and at refresh. Every verified download is kept as a
 * backing copy in the data folder. A start while the URL is down begins from that copy (verified
 * again) and says the source is stale; with no usable copy the start fails with one line naming
 * the configuration key. At refresh, a URL that fails or hangs leaves the last good copy in use;
 * the failure shows in the log, /healthz, /readyz and /metrics, and the source is retried every
 * retrySeconds until a good copy replaces it.
 *
 * The upstream IdP "Home University" is known only from the signed document at the URL; "Other
 * Institute" comes from a file, so the discovery page lists both.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { StartupError } from '../../src/core/errors.js';
import { backingFilePath } from '../../src/metadata/source.js';
import { generateKeyPair, signRoot } from '../fixtures/metadata/build.js';
import { startMetadataServer } from '../fixtures/metadata/server.js';
import { Browser } from '../helpers/browser.js';
import { eventually } from '../helpers/eventually.js';
import { spawnFedgate, writeConfig } from '../helpers/fedgate-process.js';
import { startFedgate, tempDir, writeMetadata, type RunningFedgate } from '../helpers/fedgate.js';
import { capturingLogger, type LogLine } from '../helpers/log-lines.js';
import { freePort } from '../helpers/ports.js';
import { startHomeIdpPeer, startSamlIdpPeer } from '../helpers/saml-idp-peer.js';
import { spProfile } from '../helpers/saml-login.js';
import { startSpPeer } from '../helpers/saml-sp-peer.js';

const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';
const TIMEOUT_S = 1;
/** What a bounded wait may take beyond its bound on a busy machine. */
const SLACK_MS = 4000;

const federation = await generateKeyPair('federation signer');
const home = await startHomeIdpPeer({ [EPPN]: ['alice@example.org'] });
const other = await startSamlIdpPeer({ name: 'other', displayName: 'Other Institute', scope: 'other.example' });
const server = await startMetadataServer();
const port = await freePort();
const fedgateUrl = `http://127.0.0.1:${port}`;
const sp = await startSpPeer(fedgateUrl);
t.teardown(() => Promise.all([home.close(), other.close(), server.close(), sp.close()]));

/** Home University's metadata as the federation publishes it: signed, valid until `validUntil`, under `name`. */
function published(name: string, validUntil = new Date(Date.now() + 3 * 86400_000)): string {
  const xml = home.metadataXml
    .replace(/<((?:\w+:)?EntityDescriptor) /, `<$1 ID="home-${name.length}" validUntil="${validUntil.toISOString()}" `)
    .replace('>Home University<', `>${name}<`);
  return signRoot(xml, federation.keyPem, federation.certPem);
}

const files = tempDir();
const signingCert = writeMetadata(files, 'federation.pem', federation.certPem);
const otherMetadata = writeMetadata(files, 'other.xml', other.metadataXml);
const spMetadataFile = writeMetadata(files, 'sp.xml', sp.metadataXml);

/** fedgate's configuration with the Home University document at `url`. */
function configFor(url: string, dataDir: string): Record<string, unknown> {
  return {
    server: { port },
    dataDir,
    frontends: { saml: { sps: [{ metadata: spMetadataFile }] } },
    backends: {
      saml: {
        idps: [
          { metadata: otherMetadata },
          { metadata: url, signingCert, refreshSeconds: 60, retrySeconds: 1, timeoutSeconds: TIMEOUT_S },
        ],
      },
    },
  };
}

async function json(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

/** The status /healthz reports for the Home University source. */
async function homeSource(fedgate: RunningFedgate): Promise<Record<string, any>> {
  const health = await json(`${fedgate.url}/healthz`);
  const source = (health.body.details.metadata as Record<string, any>[]).find((s) => s.source === server.url);
  if (health.status !== 200 || !source) throw new Error(`/healthz answered ${health.status} without ${server.url}`);
  return source;
}

/** The value of a metadata metric for the Home University source. */
async function metric(fedgate: RunningFedgate, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${fedgate.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{role="idp",source="${server.url}"} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** A whole login at Home University, chosen on the discovery page; returns that page too. */
async function loginAtHome(): Promise<{ discovery: string; profile: Record<string, unknown> }> {
  const browser = new Browser();
  const discovery = await browser.get(await sp.loginUrl());
  if (discovery.status !== 200) throw new Error(`login start answered ${discovery.status}`);
  return { discovery: discovery.body, profile: spProfile(await browser.submit(discovery, { idp: home.entityId }, 'choose')) };
}

function assertLogged(t: Test, lines: LogLine[], level: number, msg: string, what: string): void {
  t.ok(lines.some((l) => l.level === level && l.msg === msg && l.source === server.url), `${what}: logged "${msg}"`);
}
const WARN = 40;
const INFO = 30;

t.test('no usable backing copy: the start fails with one line naming the key and the URL', async (t) => {
  const downUrl = `http://127.0.0.1:${await freePort()}/federation.xml`;
  const dataDir = tempDir('fedgate-data-');
  const backing = backingFilePath(join(dataDir, 'metadata-backing'), downUrl);

  await t.test('fedgate serve exits with status 1 and says why', async (t) => {
    const config = { ...configFor(downUrl, dataDir), server: { baseUrl: fedgateUrl, host: '127.0.0.1', port }, logging: { level: 'warn' } };
    const cli = spawnFedgate(['serve', '--config', writeConfig(tempDir(), config)]);
    t.teardown(() => cli.kill('SIGKILL'));
    const exit = await cli.exited;
    t.equal(exit.code, 1, 'exit status 1');
    t.equal(
      cli.stderr(),
      `fedgate: cannot start: backends.saml.idps[1].metadata: cannot fetch ${downUrl}: ECONNREFUSED; no usable backing copy: no backing copy was saved yet (${backing})\n`,
      'one line: the key, the URL, why it failed, and that there is no backing copy',
    );
  });

  await t.test('a backing copy past its validUntil is not used', async (t) => {
    mkdirSync(dirname(backing), { recursive: true });
    writeFileSync(backing, published('Home University', new Date(Date.now() - 86400_000)));
    await t.rejects(startFedgate(configFor(downUrl, dataDir)), {
      name: StartupError.name,
      message: /^backends\.saml\.idps\[1\]\.metadata: cannot fetch .*; no usable backing copy: metadata: validUntil .* has passed$/,
    });
  });

  await t.test('a backing copy that was changed on disk is not used', async (t) => {
    writeFileSync(backing, published('Home University').replace('Home University', 'Evil University'));
    await t.rejects(startFedgate(configFor(downUrl, dataDir)), {
      name: StartupError.name,
      message: /^backends\.saml\.idps\[1\]\.metadata: cannot fetch .*; no usable backing copy: .*(signature|digest)/i,
    });
  });
});

const dataDir = tempDir('fedgate-data-');
const lines: LogLine[] = [];
let fedgate: RunningFedgate | undefined;
t.teardown(() => fedgate?.close());

t.test('every verified download is kept as the backing copy', async (t) => {
  const document = published('Home University');
  server.publish(document);
  const first = await startFedgate(configFor(server.url, dataDir));
  const spMetadata = await (await fetch(`${fedgateUrl}/saml/sp/metadata`)).text();
  home.trustServiceProvider(spMetadata);
  other.trustServiceProvider(spMetadata);
  t.match(await homeSource(first), { stale: false, fromBackingCopy: false, failures: 0, entities: 1 });
  await first.close();
  t.equal(readFileSync(backingFilePath(join(dataDir, 'metadata-backing'), server.url), 'utf8'), document, 'the verified bytes, in the data folder');
});

t.test('the URL down at start-up: fedgate starts from the backing copy, says so, and logins work', async (t) => {
  server.failWith(503);
  fedgate = await startFedgate(configFor(server.url, dataDir), { logger: capturingLogger(lines) });
  assertLogged(t, lines, WARN, 'metadata URL unavailable at start-up; using its backing copy until the URL answers again', 'the start');

  const source = await homeSource(fedgate);
  t.match(source, { stale: true, fromBackingCopy: true, failures: 1, entities: 1, lastError: `fetching ${server.url} answered HTTP 503` }, '/healthz details: stale, from the backing copy');
  const ready = await json(`${fedgate.url}/readyz`);
  t.equal(ready.status, 200, '/readyz: still ready, the copy is valid');
  t.match(ready.body.checks.metadata, { ok: true, stale: [new RegExp(`^${server.url}: last fetch failed \\(.*HTTP 503\\); serving the backing copy saved at `)] });
  t.equal(await metric(fedgate, 'fedgate_metadata_stale'), 1, 'metrics: stale');
  t.equal(await metric(fedgate, 'fedgate_metadata_fetch_failures_total'), 1, 'metrics: one failed fetch');

  t.equal((await loginAtHome()).profile[EPPN], 'alice@example.org', 'a login at the IdP from the backing copy works');
});

t.test('once the URL answers again, it is retried by itself and its document replaces the backing copy', async (t) => {
  server.failWith(undefined);
  server.publish(published('Home University (renamed)'));
  const source = await eventually(10_000, async () => {
    const s = await homeSource(fedgate!);
    if (s.stale) throw new Error('still stale');
    return s;
  }, 200);
  t.match(source, { stale: false, fromBackingCopy: false, failures: 1 });
  t.notOk('lastError' in source, 'no error shown any more');
  assertLogged(t, lines, INFO, 'metadata source answers again', 'the recovery');
  t.equal(await metric(fedgate!, 'fedgate_metadata_stale'), 0, 'metrics: not stale');
  const login = await loginAtHome();
  t.match(login.discovery, 'Home University (renamed)', 'the new document is in use');
  t.equal(login.profile[EPPN], 'alice@example.org');
});

t.test('a refresh that hangs ends after timeoutSeconds and keeps the last good copy', async (t) => {
  server.hang(true);
  t.teardown(() => server.hang(false));
  const before = await homeSource(fedgate!);
  const started = Date.now();
  await fedgate!.metadata.idps.refresh();
  const elapsed = Date.now() - started;
  t.ok(elapsed < TIMEOUT_S * 1000 + SLACK_MS, `the refresh gave up within its bound (${elapsed} ms)`);

  const source = await homeSource(fedgate!);
  t.match(source, { stale: true, fromBackingCopy: false, entities: 1, lastError: `cannot fetch ${server.url}: no complete answer within ${TIMEOUT_S} s` });
  t.ok(source.failures > before.failures, 'the failure is counted');
  t.equal(source.loadedAt, before.loadedAt, 'the copy in use is the one loaded before');
  assertLogged(t, lines, WARN, 'metadata refresh failed; keeping the last good copy', 'the refresh');
  const ready = await json(`${fedgate!.url}/readyz`);
  t.equal(ready.status, 200, '/readyz: still ready');
  t.equal(ready.body.checks.metadata.stale.length, 1, 'with the source listed as stale');
  t.equal(await metric(fedgate!, 'fedgate_metadata_stale'), 1, 'metrics: stale');
  t.ok((await metric(fedgate!, 'fedgate_metadata_fetch_failures_total'))! >= source.failures, 'metrics: the failures');
  t.ok((await metric(fedgate!, 'fedgate_metadata_age_seconds'))! >= 0, 'metrics: the age of the copy in use');

  const login = await loginAtHome();
  t.match(login.discovery, 'Home University (renamed)', 'the last good copy is in use');
  t.equal(login.profile[EPPN], 'alice@example.org', 'and logins at its IdP work');
});

t.test('a refresh answered with an error keeps the last good copy; a later good one replaces it', async (t) => {
  server.failWith(500);
  await fedgate!.metadata.idps.refresh();
  t.match(await homeSource(fedgate!), { stale: true, lastError: `fetching ${server.url} answered HTTP 500` });
  t.equal((await loginAtHome()).profile[EPPN], 'alice@example.org', 'logins still work');

  server.failWith(undefined);
  server.publish(published('Home University, third edition'));
  await eventually(10_000, async () => {
    if ((await homeSource(fedgate!)).stale) throw new Error('still stale');
  }, 200);
  t.match((await loginAtHome()).discovery, 'Home University, third edition', 'the retry loaded the new document');
});
