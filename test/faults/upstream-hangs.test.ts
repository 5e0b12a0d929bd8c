/**
 * Upstreams that hang: they take the connection and never answer. Every request fedgate makes to
 * an upstream is bounded, so the login ends after the configured timeout with a page that says
 * what happened, the process keeps serving, other logins go through meanwhile, and once the
 * upstream answers again logins work without a restart.
 *
 * OpenID providers are called by fedgate at discovery, token and userinfo. A SAML IdP is reached by
 * the browser, so the SAML server-side call that can hang is the MDQ look-up of a hinted IdP (the
 * metadata URL at refresh is in metadata-url-down.test.ts).
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { MetadataUnavailableError, UpstreamUnavailableError } from '../../src/core/errors.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { signRoot } from '../fixtures/metadata/build.js';
import { Browser, type Page } from '../helpers/browser.js';
import { eventually } from '../helpers/eventually.js';
import { startFedgate, tempDir, writeMetadata } from '../helpers/fedgate.js';
import { fedgateAsClient, startOidcOpPeer, type OidcOpPeer, type OpClient } from '../helpers/oidc-op-peer.js';
import { freePort } from '../helpers/ports.js';
import { startHomeIdpPeer, startSamlIdpPeer } from '../helpers/saml-idp-peer.js';
import { assertErrorPage, spProfile } from '../helpers/saml-login.js';
import { startSpPeer } from '../helpers/saml-sp-peer.js';

const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';
/** The bounds configured below. */
const PROVIDER_TIMEOUT_S = 3;
const DISCOVERY_TIMEOUT_S = 1;
const MDQ_TIMEOUT_S = 1;
/** What a bounded wait may take beyond its bound on a busy machine. */
const SLACK_MS = 4000;

const rejections: unknown[] = [];
process.on('unhandledRejection', (reason) => rejections.push(reason));

const port = await freePort();
const fedgateUrl = `http://127.0.0.1:${port}`;
const client = (id: string): OpClient => fedgateAsClient(fedgateUrl, id);
const user = { sub: 'carol', claims: { name: 'Carol', email: 'carol@example.org', email_verified: true } };

const sp = await startSpPeer(fedgateUrl);
const slow = await startOidcOpPeer({ clients: [client('slow')], user });
const quick = await startOidcOpPeer({ clients: [client('quick')], user });
const late = await startOidcOpPeer({ clients: [client('late')], user });
// Its discovery document hangs from the start: fedgate's start-up gives up on it after its timeout.
late.hung.add('discovery');

// A SAML IdP known only through MDQ, and one from a metadata file.
const home = await startHomeIdpPeer({ [EPPN]: ['alice@example.org'] });
const other = await startSamlIdpPeer({ name: 'other', displayName: 'Other Institute', scope: 'other.example' });
const federation = await generateKeyPair('mdq signer');
const validUntil = new Date(Date.now() + 3 * 86400_000).toISOString();
const published = signRoot(home.metadataXml.replace(/<((?:\w+:)?EntityDescriptor) /, `<$1 ID="mdq-home" validUntil="${validUntil}" `), federation.keyPem, federation.certPem);
/** How the MDQ service behaves: answers, never answers, or sends the headers and part of the body and stops. */
let mdqMode: 'serve' | 'hang' | 'stall-body' = 'serve';
const mdqAsked: string[] = [];
const held = new Set<ServerResponse>();
const mdq = createServer((req, res) => {
  mdqAsked.push(decodeURIComponent(req.url ?? ''));
  if (mdqMode === 'hang') return void held.add(res);
  if (decodeURIComponent(req.url ?? '') !== `/entities/${home.entityId}`) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'application/samlmetadata+xml', etag: '"1"' });
  if (mdqMode === 'stall-body') {
    res.write(published.slice(0, 200));
    return void held.add(res);
  }
  res.end(published);
});
await new Promise<void>((resolve) => mdq.listen(0, '127.0.0.1', resolve));

const dir = tempDir();
const provider = (id: string, op: OidcOpPeer, displayName: string, timeoutSeconds: number) => ({
  id,
  issuer: op.issuer,
  clientId: 'fedgate',
  clientSecret: 'op-secret',
  displayName: { en: displayName },
  timeoutSeconds,
});
const fedgate = await startFedgate(
  {
    frontends: { saml: { sps: [{ metadata: writeMetadata(dir, 'sp.xml', sp.metadataXml) }] } },
    backends: {
      saml: {
        idps: [
          { metadata: writeMetadata(dir, 'other.xml', other.metadataXml) },
          {
            mdq: `http://127.0.0.1:${(mdq.address() as AddressInfo).port}/`,
            signingCert: writeMetadata(dir, 'mdq.pem', federation.certPem),
            timeoutSeconds: MDQ_TIMEOUT_S,
          },
        ],
      },
      oidc: {
        discoveryRetry: { minSeconds: 1, maxSeconds: 1 },
        providers: [
          provider('slow', slow, 'Slow SSO', PROVIDER_TIMEOUT_S),
          provider('quick', quick, 'Quick SSO', PROVIDER_TIMEOUT_S),
          provider('late', late, 'Late SSO', DISCOVERY_TIMEOUT_S),
        ],
      },
    },
  },
  { port },
);
const spMetadata = await (await fetch(`${fedgateUrl}/saml/sp/metadata`)).text();
home.trustServiceProvider(spMetadata);
other.trustServiceProvider(spMetadata);
t.teardown(async () => {
  await fedgate.close();
  for (const res of held) res.destroy();
  await Promise.all([sp.close(), slow.close(), quick.close(), late.close(), home.close(), other.close()]);
  await new Promise<void>((resolve) => {
    mdq.closeAllConnections();
    mdq.close(() => resolve());
  });
});

/** A whole login in a new browser, the upstream named by an idphint. */
async function login(upstream: string): Promise<Page> {
  return new Browser().get(await sp.loginUrl({ idphint: upstream }));
}

interface Timed {
  page: Page;
  ms: number;
}

function timed(page: Promise<Page>): Promise<Timed> {
  const started = Date.now();
  return page.then((p) => ({ page: p, ms: Date.now() - started }));
}

/** The login ended by the bound (not before it, not long after it) with the page of `userMessage`. */
function assertBounded(t: Test, { page, ms }: Timed, boundSeconds: number, userMessage: string, what: string): void {
  assertErrorPage(t, page, 503, userMessage, what);
  t.ok(ms >= boundSeconds * 1000 - 100 && ms < boundSeconds * 1000 + SLACK_MS, `${what}: ended by the ${boundSeconds} s bound (${ms} ms)`);
}

async function assertStillServing(t: Test): Promise<void> {
  t.equal((await fetch(`${fedgateUrl}/healthz`)).status, 200, 'the process still serves');
}

const UPSTREAM_DOWN = new UpstreamUnavailableError('').userMessage;
const METADATA_DOWN = new MetadataUnavailableError('').userMessage;

t.test('an OpenID provider whose token endpoint hangs: a bounded 503, and other logins go on meanwhile', async (t) => {
  slow.hung.add('token');
  const asked = slow.authorizations.length;
  let hangingEnded = false;
  const hanging = timed(login(slow.issuer)).finally(() => (hangingEnded = true));
  // Once the provider saw the authorization request, the browser is on its way to the callback and the token request.
  await eventually(10_000, async () => {
    if (slow.authorizations.length === asked) throw new Error('not at the provider yet');
  }, 20);
  const meanwhile = await timed(login(quick.issuer));
  t.ok(spProfile(meanwhile.page), 'another login at another provider completed: the SP validated its Response');
  t.notOk(hangingEnded, `and did so while the first still waited for its token (${meanwhile.ms} ms)`);

  assertBounded(t, await hanging, PROVIDER_TIMEOUT_S, UPSTREAM_DOWN, 'the login waiting for the token');
  await assertStillServing(t);

  slow.hung.delete('token');
  t.equal((await login(slow.issuer)).status, 200, 'once the provider answers again, a login there works');
});

t.test('an OpenID provider whose userinfo endpoint hangs: a bounded 503', async (t) => {
  slow.hung.add('userinfo');
  assertBounded(t, await timed(login(slow.issuer)), PROVIDER_TIMEOUT_S, UPSTREAM_DOWN, 'the login waiting for userinfo');
  await assertStillServing(t);
  slow.hung.delete('userinfo');
  t.equal((await login(slow.issuer)).status, 200, 'once the provider answers again, a login there works');
});

t.test('an OpenID provider whose discovery document hangs: unavailable, a bounded 503, then discovered again', async (t) => {
  const discovery = await new Browser().get(await sp.loginUrl());
  t.match(discovery.body, /disabled><span>Late SSO<\/span>(?:(?!<\/button>).)*temporarily unavailable/, 'listed as unavailable after the start-up attempt gave up');

  // Named by a hint anyway: fedgate tries to discover it for this login, within the same bound.
  const hinted = await timed(login(late.issuer));
  assertErrorPage(t, hinted.page, 503, UPSTREAM_DOWN, 'the hinted login');
  t.ok(hinted.ms < DISCOVERY_TIMEOUT_S * 1000 + SLACK_MS, `ended within the ${DISCOVERY_TIMEOUT_S} s bound (${hinted.ms} ms)`);
  await assertStillServing(t);

  late.hung.delete('discovery');
  const done = await eventually(10_000, async () => {
    const page = await login(late.issuer);
    if (page.status !== 200) throw new Error(`still ${page.status}`);
    return page;
  }, 250);
  t.equal(done.status, 200, 'retried in the background and discovered once it answers: a login there works');
});

t.test('an MDQ service that hangs: the hinted login fails within the bound with a clear page', async (t) => {
  mdqMode = 'hang';
  const hanging = timed(login(home.entityId));
  await eventually(10_000, async () => {
    if (!mdqAsked.includes(`/entities/${home.entityId}`)) throw new Error('not asked yet');
  }, 20);
  const meanwhile = await timed(login(other.entityId));
  t.equal(spProfile(meanwhile.page)[EPPN], 'alice@example.org', 'a login at an IdP from a metadata file completed meanwhile');
  assertBounded(t, await hanging, MDQ_TIMEOUT_S, METADATA_DOWN, 'the login waiting for MDQ');

  mdqMode = 'stall-body';
  assertBounded(t, await timed(login(home.entityId)), MDQ_TIMEOUT_S, METADATA_DOWN, 'the login whose MDQ answer stops halfway');
  await assertStillServing(t);

  mdqMode = 'serve';
  const done = await login(home.entityId);
  t.equal(spProfile(done)[EPPN], 'alice@example.org', 'once MDQ answers, the hinted login works (the failures were not cached)');
});

t.test('no unhandled rejections', async (t) => {
  await new Promise((resolve) => setImmediate(resolve));
  t.same(rejections, []);
});
