/**
 * A provider that cannot be reached: at start-up its discovery fails, it is listed as unavailable
 * while the others work, choosing it gives a clear page, and once it comes up it is discovered
 * again without a restart. A provider that goes away in the middle of a login ends that login
 * with the same page.
 */
import { createServer, type Socket } from 'node:net';
import t from 'tap';
import { Browser } from '../../helpers/browser.js';
import { eventually } from '../../helpers/eventually.js';
import { startFedgate, tempDir, writeMetadata } from '../../helpers/fedgate.js';
import { fedgateAsClient, startOidcOpPeer, type OidcOpPeer, type OpClient } from '../../helpers/oidc-op-peer.js';
import { freePort } from '../../helpers/ports.js';
import { discoveryLoginId } from '../../helpers/saml-login.js';
import { startSpPeer } from '../../helpers/saml-sp-peer.js';

const rejections: unknown[] = [];
process.on('unhandledRejection', (reason) => rejections.push(reason));

const port = await freePort();
const fedgateUrl = `http://127.0.0.1:${port}`;
const client = (id: string): OpClient => fedgateAsClient(fedgateUrl, id);
const user = { sub: 'carol', claims: { name: 'Carol', email: 'carol@example.org', email_verified: true } };

const sp = await startSpPeer(fedgateUrl);
const up = await startOidcOpPeer({ clients: [client('up')], user });
// Nothing listens here until the test starts the provider.
const latePort = await freePort();
const lateIssuer = `http://127.0.0.1:${latePort}`;
let late: OidcOpPeer | undefined;
// This one accepts connections and never answers: discovery must give up after its timeout.
const sockets = new Set<Socket>();
const hung = createServer((socket) => void sockets.add(socket));
await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
const hungIssuer = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;

const fedgate = await startFedgate(
  {
    frontends: { saml: { sps: [{ metadata: writeMetadata(tempDir(), 'sp.xml', sp.metadataXml) }] } },
    backends: {
      oidc: {
        discoveryRetry: { minSeconds: 1, maxSeconds: 2 },
        providers: [
          { id: 'up', issuer: up.issuer, clientId: 'fedgate', clientSecret: 'op-secret', displayName: { en: 'Working SSO' } },
          { id: 'late', issuer: lateIssuer, clientId: 'fedgate', clientSecret: 'op-secret', displayName: { en: 'Late SSO' }, timeoutSeconds: 2 },
          { id: 'hung', issuer: hungIssuer, clientId: 'fedgate', clientSecret: 'op-secret', displayName: { en: 'Hung SSO' }, timeoutSeconds: 1 },
        ],
      },
    },
  },
  { port },
);
t.teardown(async () => {
  await fedgate.close();
  await Promise.all([sp.close(), up.close(), late?.close()]);
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => hung.close(resolve));
});

const lateEntry = /<button type="submit" name="idp" value="([^"]+)"( disabled)?><span>Late SSO<\/span>( <span class="muted">\(temporarily unavailable\)<\/span>)?/;

t.test('at start-up: the unreachable provider is listed as unavailable, the other works', async (t) => {
  const browser = new Browser();
  const discovery = await browser.get(await sp.loginUrl());
  t.equal(discovery.status, 200);
  const entry = lateEntry.exec(discovery.body);
  t.ok(entry, 'listed');
  t.equal(entry?.[1], lateIssuer);
  t.equal(entry?.[2], ' disabled', 'not selectable');
  t.equal(entry?.[3], ' <span class="muted">(temporarily unavailable)</span>');
  t.match(discovery.body, /value="http:\/\/127\.0\.0\.1:\d+"><span>Working SSO<\/span><\/button>/, 'the other is offered as usual');
  t.match(discovery.body, /disabled><span>Hung SSO<\/span> <span class="muted">\(temporarily unavailable\)/, 'one that never answers gave up after its timeout');

  const chosen = await browser.submit(discovery, { idp: lateIssuer }, 'choose');
  t.equal(chosen.status, 503, 'choosing it anyway: a clear page');
  t.match(chosen.body, 'cannot be reached right now');

  const done = await browser.submit(discovery, { idp: up.issuer }, 'choose');
  t.equal(done.status, 200, 'back on the discovery page, the working provider logs the user in');
  t.ok(sp.lastResult()?.profile);
});

t.test('once it comes up, it is discovered again and logs users in', async (t) => {
  late = await startOidcOpPeer({ port: latePort, clients: [client('late')], user });
  const browser = new Browser();
  const discovery = await eventually(10_000, async () => {
    const page = await new Browser().get(await sp.loginUrl());
    if (lateEntry.exec(page.body)?.[2]) throw new Error('still unavailable');
    return page;
  });
  t.same(lateEntry.exec(discovery.body)?.slice(1), [lateIssuer, undefined, undefined], 'selectable, without the note');
  const done = await browser.submit(await browser.get(await sp.loginUrl()), { idp: lateIssuer }, 'choose');
  t.equal(done.status, 200, done.body.slice(0, 300));
  t.equal(late.authorizations.length, 1);
});

t.test('a provider that goes away during a login: the same clear page', async (t) => {
  const browser = new Browser();
  const discovery = await browser.get(await sp.loginUrl());
  // Walk to the provider and back to the moment it redirects to fedgate, then stop it.
  let page = await browser.fetchRaw(`${fedgateUrl}/discovery`, {
    method: 'POST',
    body: new URLSearchParams({ login: discoveryLoginId(discovery), idp: lateIssuer }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  let url = '';
  for (let step = 0; step < 10; step++) {
    url = new URL(page.headers.get('location') ?? '', page.url).toString();
    if (url.startsWith(`${fedgateUrl}/oidc/rp/callback/`)) break;
    page = await browser.fetchRaw(url, { method: 'GET' });
  }
  t.match(url, `${fedgateUrl}/oidc/rp/callback/late?code=`);
  await late!.close();
  late = undefined;
  const failed = await browser.get(url);
  t.equal(failed.status, 503);
  t.match(failed.body, 'cannot be reached right now');
});

t.test('no unhandled rejections', async (t) => {
  await new Promise((resolve) => setImmediate(resolve));
  t.same(rejections, []);
});
