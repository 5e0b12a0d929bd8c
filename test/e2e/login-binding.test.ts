/**
 * A login belongs to the browser that started it (login CSRF defence, src/core/browser-binding.ts):
 * a valid upstream answer posted from another browser, or the login's discovery page and choice
 * opened in another browser, are refused with LoginFromAnotherBrowserError, while the login stays
 * open for its own browser; one browser may have several logins going (two tabs); the cookie is
 * SameSite=None; Secure over https and Lax on plain http.
 */
import t, { type Test } from 'tap';
import { LoginFromAnotherBrowserError } from '../../src/core/errors.js';
import { escapeHtml } from '../../src/http/html.js';
import { Browser, parseForms, type Page } from '../helpers/browser.js';
import { startFedgate, tempDir, writeMetadata, type RunningFedgate } from '../helpers/fedgate.js';
import { capturingLogger, type LogLine } from '../helpers/log-lines.js';
import { freePort } from '../helpers/ports.js';
import { discoveryLoginId } from '../helpers/saml-login.js';
import { startHomeIdpPeer, startSamlIdpPeer, type SamlIdpPeer } from '../helpers/saml-idp-peer.js';
import { startSpPeer, type SpPeer } from '../helpers/saml-sp-peer.js';

const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';
const REFUSED = new LoginFromAnotherBrowserError('');

interface World {
  fedgate: RunningFedgate;
  sp: SpPeer;
  home: SamlIdpPeer;
  lines: LogLine[];
}

/** One SP and two upstream IdPs (so logins stop at the discovery page), on http. */
async function setup(t: Test): Promise<World> {
  const dir = tempDir();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const [sp, home, other] = await Promise.all([
    startSpPeer(url),
    startHomeIdpPeer({ [EPPN]: ['alice@example.org'] }),
    startSamlIdpPeer({ name: 'other', displayName: 'Other Institute', scope: 'other.example' }),
  ]);
  const lines: LogLine[] = [];
  const fedgate = await startFedgate(
    {
      store: { type: 'memory' },
      frontends: { saml: { sps: [{ metadata: writeMetadata(dir, 'sp.xml', sp.metadataXml) }] } },
      backends: { saml: { idps: [home, other].map((idp, i) => ({ metadata: writeMetadata(dir, `idp${i}.xml`, idp.metadataXml) })) } },
      server: { baseUrl: url, port },
    },
    { logger: capturingLogger(lines) },
  );
  const spMetadata = await (await fetch(`${url}/saml/sp/metadata`)).text();
  home.trustServiceProvider(spMetadata);
  other.trustServiceProvider(spMetadata);
  t.teardown(async () => {
    await Promise.all([fedgate.close(), sp.close(), home.close(), other.close()]);
  });
  return { fedgate, sp, home, lines };
}

/** A new login of `browser` at the SP, up to fedgate's discovery page: the page and the login id. */
async function startLogin(world: World, browser: Browser): Promise<{ page: Page; loginId: string }> {
  const page = await browser.get(await world.sp.loginUrl());
  if (page.status !== 200) throw new Error(`no discovery page: ${page.status} ${page.url}`);
  return { page, loginId: discoveryLoginId(page) };
}

/** `browser` chooses the home IdP for `loginId`, which logs the user in: the IdP's page posting the Response to fedgate. */
async function answeredUpstream(world: World, browser: Browser, loginId: string): Promise<{ action: string; fields: Record<string, string> }> {
  const chosen = await browser.fetchRaw(`${world.fedgate.url}/discovery`, {
    method: 'POST',
    body: new URLSearchParams({ login: loginId, idp: world.home.entityId }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const location = chosen.headers.get('location');
  if (chosen.status !== 302 || !location?.startsWith(world.home.ssoUrl)) throw new Error(`not sent to the IdP: ${chosen.status}`);
  const idpPage = await browser.fetchRaw(location, { method: 'GET' });
  const form = parseForms(idpPage).find((f) => f.action.endsWith('/saml/sp/acs'));
  if (!form) throw new Error(`the IdP did not answer: ${idpPage.body.slice(0, 300)}`);
  return form;
}

function postForm(browser: Browser, url: string, fields: Record<string, string>): Promise<Page> {
  return browser.fetchRaw(url, {
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

/** The page refuses with LoginFromAnotherBrowserError, and the log line under its reference says why. */
function assertRefused(t: Test, world: World, page: Page, what: string): void {
  t.equal(page.status, 403, `${what}: HTTP 403`);
  t.ok(page.body.includes(escapeHtml(REFUSED.userMessage)), `${what}: the page tells the user to start again`);
  t.notOk(page.body.includes('auto-post'), `${what}: nothing is posted onwards`);
  t.notOk(page.headers.getSetCookie().some((c) => c.startsWith('fedgate_session=')), `${what}: no SSO session is given`);
  const ref = /<code>([A-Z0-9]+)<\/code>/.exec(page.body)?.[1];
  const logged = world.lines.find((l) => l.ref === ref && l.code === REFUSED.code);
  t.match(logged?.reason, /was started in another browser: the (request carries no fedgate_login cookie|fedgate_login cookie is another browser's)/, `${what}: logged with its reason`);
}

/** `browser` finishes `loginId` from its discovery page through the home IdP to the SP. */
async function completes(t: Test, world: World, browser: Browser, loginId: string, what: string): Promise<void> {
  const page = await browser.get(`${world.fedgate.url}/discovery?login=${encodeURIComponent(loginId)}`);
  t.equal(page.status, 200, `${what}: its discovery page is still open to it`);
  const done = await browser.submit(page, { idp: world.home.entityId }, 'choose');
  t.equal(done.status, 200, `${what}: the SP accepts fedgate's answer`);
  t.equal((world.sp.lastResult()?.profile as Record<string, unknown> | undefined)?.[EPPN], 'alice@example.org', `${what}: as alice`);
}

t.test('a valid upstream answer posted from another browser is refused; the login stays its browser’s', async (t) => {
  const world = await setup(t);
  const a = new Browser();
  const { loginId } = await startLogin(world, a);
  const answer = await answeredUpstream(world, a, loginId);

  // The attacker's own valid Response, made to land in the victim's browser: fresh, or with a login of its own.
  const fresh = new Browser();
  assertRefused(t, world, await postForm(fresh, answer.action, answer.fields), 'a browser without fedgate’s cookie');
  const withOwnLogin = new Browser();
  await startLogin(world, withOwnLogin);
  const second = await answeredUpstream(world, a, loginId);
  assertRefused(t, world, await postForm(withOwnLogin, second.action, second.fields), 'a browser with its own login');

  const stranger = await fresh.get(await world.sp.loginUrl());
  t.match(stranger.body, /<form id="choose" method="post" action="\/discovery">/, 'the refused browser has no SSO session: it is asked to log in');
  t.notOk(world.lines.some((l) => l.msg === 'login failed' && l.code === REFUSED.code), 'the refusal did not end login A');

  await completes(t, world, a, loginId, 'browser A');
});

t.test('the discovery page and choice of a login are refused to another browser', async (t) => {
  const world = await setup(t);
  const a = new Browser();
  const { loginId } = await startLogin(world, a);
  const b = new Browser();
  const requestsBefore = world.home.requests.length;

  assertRefused(t, world, await b.get(`${world.fedgate.url}/discovery?login=${encodeURIComponent(loginId)}`), 'the discovery page');
  assertRefused(t, world, await postForm(b, `${world.fedgate.url}/discovery`, { login: loginId, idp: world.home.entityId }), 'the choice');
  const returned = `${world.fedgate.url}/discovery/return?${new URLSearchParams({ login: loginId, idp: world.home.entityId })}`;
  assertRefused(t, world, await b.get(returned), 'the discovery service’s answer');
  const search = await b.get(`${world.fedgate.url}/discovery/search?${new URLSearchParams({ login: loginId, q: 'home' })}`);
  t.equal(search.status, 403, 'the search API');
  t.equal((JSON.parse(search.body) as { error?: string }).error, REFUSED.code, 'answers in JSON');
  t.equal(world.home.requests.length, requestsBefore, 'nobody was sent upstream');

  await completes(t, world, a, loginId, 'browser A');
});

t.test('two logins going in one browser (two tabs) both complete', async (t) => {
  const world = await setup(t);
  const browser = new Browser();
  const first = await startLogin(world, browser);
  const cookie = browser.cookies.get(new URL(world.fedgate.url).host)?.get('fedgate_login');
  const second = await startLogin(world, browser);
  t.not(first.loginId, second.loginId);
  t.equal(browser.cookies.get(new URL(world.fedgate.url).host)?.get('fedgate_login'), cookie, 'one browser id for both');
  // Both answered by the IdP before either reaches fedgate, then finished in the other order.
  const answers = [await answeredUpstream(world, browser, first.loginId), await answeredUpstream(world, browser, second.loginId)];
  for (const [i, answer] of [...answers.entries()].reverse()) {
    const page = await postForm(browser, answer.action, answer.fields);
    t.equal(page.status, 200, `tab ${i + 1}: fedgate accepts the IdP's answer`);
    const atSp = await browser.submit(page, {}, 'auto-post');
    t.equal(atSp.status, 200, `tab ${i + 1}: the SP accepts fedgate's answer`);
  }
});

t.test('the cookie: Lax on plain http, __Host- with Secure and SameSite=None over https', async (t) => {
  const world = await setup(t);
  const plain = await new Browser().fetchRaw(await world.sp.loginUrl(), { method: 'GET' });
  t.match(plain.headers.getSetCookie(), [/^fedgate_login=[A-Za-z0-9_-]{22}; Max-Age=900; Path=\/; HttpOnly; SameSite=Lax$/]);

  // fedgate behind a TLS-terminating proxy: https baseUrl, plain http on loopback.
  const dir = tempDir();
  const port = await freePort();
  const publicUrl = `https://127.0.0.1:${port}`;
  const sp = await startSpPeer(publicUrl);
  const fedgate = await startFedgate({
    store: { type: 'memory' },
    session: { flowTtlSeconds: 600 },
    frontends: { saml: { sps: [{ metadata: writeMetadata(dir, 'sp.xml', sp.metadataXml) }] } },
    backends: { saml: { idps: [{ metadata: writeMetadata(dir, 'idp.xml', world.home.metadataXml) }] } },
    server: { baseUrl: publicUrl, port },
  });
  t.teardown(async () => {
    await Promise.all([fedgate.close(), sp.close()]);
  });
  const viaProxy = async (cookie?: string) =>
    fetch((await sp.loginUrl()).replace('https:', 'http:'), { redirect: 'manual', headers: cookie ? { cookie } : {} });
  const started = await viaProxy();
  t.equal(started.status, 302, 'sent upstream');
  const [set] = started.headers.getSetCookie();
  t.match(set, /^__Host-fedgate_login=[A-Za-z0-9_-]{22}; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=None$/, 'the IdP’s cross-site POST carries it back');
  const again = await viaProxy(set?.split(';')[0]);
  t.equal(again.headers.getSetCookie()[0]?.split(';')[0], set?.split(';')[0], 'a second login reuses the browser’s id');
});
