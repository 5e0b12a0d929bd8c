/**
 * Discovery as deployed: a real fedgate over loopback with a live upstream IdP (samlify), SAML
 * SPs (node-saml) asking for logins, a federation of further IdPs from metadata (names in German
 * and Japanese, DomainHints, scopes, R&S, SIRTFI, one hidden from discovery) and GitHub as a
 * social provider. The page works as plain HTML forms; the JSON API searches; per-service
 * filters hold on the page, in the API and on the choice; the SAML IdP Discovery Service Protocol
 * is answered, and spoken to an external discovery service (fedgate's own page, in the last test).
 */
import t from 'tap';
import { Browser, decodeEntities, parseForms, type Page } from '../helpers/browser.js';
import { startFedgate, tempDir, writeMetadata, type RunningFedgate } from '../helpers/fedgate.js';
import { freePort } from '../helpers/ports.js';
import { discoveryLoginId } from '../helpers/saml-login.js';
import { startHomeIdpPeer } from '../helpers/saml-idp-peer.js';
import { startSpPeer } from '../helpers/saml-sp-peer.js';
import { SP_ID, generateKeyPair, spEntity } from '../fixtures/metadata/build.js';
import { FEDERATION, HEIDELBERG, HIDDEN, KYOTO, MUNICH, SIRTFI, TOKYO, discoveryAggregate } from './fixtures.js';

const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';
/** The DiscoveryResponse of the Shibboleth-like SP (SP_ID) in the fixture metadata. */
const SHIB_RETURN = 'https://sp.example.org/Shibboleth.sso/Login';

const dir = tempDir();
const home = await startHomeIdpPeer({ [EPPN]: ['alice@example.org'] });
const federationXml = writeMetadata(dir, 'federation.xml', discoveryAggregate(FEDERATION));
const homeXml = writeMetadata(dir, 'home.xml', home.metadataXml);
const shibXml = writeMetadata(dir, 'shib-sp.xml', spEntity({ certPem: (await generateKeyPair('shib sp')).certPem, declareNs: true }));
const github = { id: 'github', preset: 'github', clientId: 'gh-client', clientSecret: 'gh-secret' };

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const sp = await startSpPeer(url);
const strictSp = await startSpPeer(url);
const fedgate = await startFedgate(
  {
    frontends: {
      saml: { sps: [sp, strictSp].map((p, i) => ({ metadata: writeMetadata(dir, `sp${i}.xml`, p.metadataXml) })).concat({ metadata: shibXml }) },
    },
    backends: { saml: { idps: [{ metadata: homeXml }, { metadata: federationXml }] }, oidc: { providers: [github] } },
    discovery: { filters: [{ services: [strictSp.entityId, SP_ID], requireAssuranceCertifications: [SIRTFI], includeSocial: false }] },
  },
  { port },
);
home.trustServiceProvider(await (await fetch(`${url}/saml/sp/metadata`)).text());
t.teardown(async () => {
  await fedgate.close();
  await Promise.all([sp.close(), strictSp.close(), home.close()]);
});

/** The search API, asked as the page's script in `browser` would (with its cookies), else by a client without any. */
async function api(query: string, headers: Record<string, string> = {}, browser = new Browser()) {
  const res = await browser.fetchRaw(`${url}/discovery/search?${query}`, { headers });
  return { status: res.status, type: res.headers.get('content-type'), body: JSON.parse(res.body) as { total: number; results: Record<string, unknown>[]; error?: string } };
}
const resultIds = (page: Page) => [...page.body.matchAll(/<ul class="choices" id="idps"[^>]*>([\s\S]*?)<\/ul>/g)].flatMap((m) => [...(m[1] ?? '').matchAll(/name="idp" value="([^"]*)"/g)].map((v) => decodeEntities(v[1]!)));
/** A request whose redirect is looked at, not followed (it may lead off loopback). */
const noFollow = (path: string, init: RequestInit = {}) => fetch(`${url}${path}`, { ...init, redirect: 'manual' });
const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  body: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

t.test('the JSON search API', async (t) => {
  const tokyo = await api(`q=${encodeURIComponent('東京')}`);
  t.equal(tokyo.status, 200);
  t.match(tokyo.type, /^application\/json/);
  t.same(tokyo.body, { total: 1, results: [{ id: TOKYO.entityId, name: 'The University of Tokyo', domain: 'u-tokyo.ac.jp', social: false }] }, 'by a Japanese name; named in English by default');
  t.equal((await api(`q=${encodeURIComponent('東京')}`, { 'accept-language': 'ja,en;q=0.5' })).body.results[0]?.name, '東京大学', 'names follow Accept-Language');

  const munich = await api('q=UNIVERSITAT%20MUNCHEN', { 'accept-language': 'de-DE' });
  t.same(munich.body.results.map((r) => r.name), ['Technische Universität München'], 'German name, searched without umlauts and in upper case');

  const byMail = await api(`q=${encodeURIComponent('alice@uni-heidelberg.de')}`);
  t.same(byMail.body.results[0], { id: HEIDELBERG.entityId, name: 'Heidelberg University', logo: HEIDELBERG.logo, domain: 'uni-heidelberg.de', social: false }, 'by e-mail address');
  t.equal((await api('q=tum.de')).body.results[0]?.id, MUNICH.entityId, 'by scope');
  t.equal((await api('q=sso.kyoto-u.ac.jp')).body.results[0]?.id, KYOTO.entityId, 'by entityID host');

  const social = await api('q=git');
  t.same(social.body.results, [{ id: 'https://github.com', name: 'GitHub', social: true }], 'a social provider, without a domain');

  for (const q of ['Hidden College', 'hidden-college.example.org', 'bob@hidden-college.example.org', HIDDEN.entityId]) {
    const found = (await api(`q=${encodeURIComponent(q)}`)).body.results.map((r) => r.id);
    // The live IdP's scope example.org is a parent of the hidden IdP's domain: it may come up.
    t.notOk(found.includes(HIDDEN.entityId), `hide-from-discovery: not found by ${q}`);
  }
  t.same((await api('q=verborgene')).body, { total: 0, results: [] });

  const all = await api('limit=2');
  t.equal(all.body.total, FEDERATION.length + 1, 'no query: every listed upstream (the hidden one not, GitHub and the live IdP too)');
  t.equal(all.body.results.length, 2, 'at most `limit`');
  t.equal((await api('')).body.results.length, FEDERATION.length + 1, '20 by default');
});

t.test('the JSON search API refuses bad parameters with a JSON error', async (t) => {
  for (const query of ['limit=0', 'limit=101', 'limit=ten', 'q=a&q=b', `q=${'x'.repeat(201)}`, 'login=abc&entityID=https%3A%2F%2Fsp.example.org']) {
    const res = await api(query);
    t.equal(res.status, 400, query);
    t.equal(res.body.error, 'invalid_request', query);
    t.match(res.type, /^application\/json/);
  }
  const unknown = await api('login=no-such-login');
  t.equal(unknown.status, 400);
  t.same(unknown.body, { error: 'unknown_login', error_description: 'unknown or expired login' });
});

t.test('without JavaScript: search by a GET form, choose by POST, the login completes', async (t) => {
  const browser = new Browser();
  const page = await browser.get(await sp.loginUrl());
  t.equal(new URL(page.url).pathname, '/saml/idp/sso', 'the page answers the service’s request itself, without a redirect');
  t.match(page.body, /<form id="choose" method="post" action="\/discovery">/);
  t.same(resultIds(page).sort(), [home.entityId, HEIDELBERG.entityId, MUNICH.entityId, TOKYO.entityId, KYOTO.entityId, 'https://github.com'].sort(), 'every upstream but the hidden one');
  t.notMatch(page.body, /Hidden College/);
  t.match(page.body, /<h2 id="results-heading">All identity providers<\/h2>/);
  t.match(page.body, /<label for="q">Search by name, domain or e-mail address<\/label>/, 'the search field has a label');
  t.match(page.body, /<p id="status" role="status">6 identity providers to choose from\.<\/p>/, 'a status line screen readers announce');
  t.match(page.body, /<button type="submit">Search<\/button>/, 'a search button that works without the script');
  t.match(page.body, new RegExp(`<img src="${HEIDELBERG.logo}" alt="" loading="lazy" width="32" height="32"`), 'logos load lazily, with their size');
  t.match(page.body, /<script src="\/static\/discovery\.js" defer><\/script>/);

  const search = parseForms(page).find((f) => (f as { id?: string }).id === 'search');
  t.equal(search?.method, 'get');
  const found = await browser.submit(page, { q: 'Home Univ' }, 'search');
  t.same(resultIds(found), [home.entityId], 'the search came back as a page');
  t.match(found.body, /<h2 id="results-heading">Search results<\/h2>/);
  t.match(found.body, /1 identity provider found\./);
  const none = await browser.submit(page, { q: 'Atlantis' }, 'search');
  t.same(resultIds(none), []);
  t.match(none.body, /No identity provider matches “Atlantis”\./);

  const done = await browser.submit(found, { idp: home.entityId }, 'choose');
  t.equal(done.status, 200, 'the service accepted the answer');
  t.equal((sp.lastResult()?.profile as Record<string, unknown> | undefined)?.[EPPN], 'alice@example.org');
});

t.test('the last choices: most recent first, only upstreams still listed', async (t) => {
  const browser = new Browser();
  const first = await browser.get(await sp.loginUrl());
  t.notMatch(first.body, /Last used/, 'nothing remembered yet');
  // Heidelberg's IdP is not reachable: the choice is only followed to the redirect towards it.
  const towards = await browser.fetchRaw(`${url}/discovery`, form({ login: discoveryLoginId(first), idp: HEIDELBERG.entityId }));
  t.equal(towards.status, 302);
  t.ok(towards.headers.get('location')?.startsWith('https://idp.uni-heidelberg.de/sso?SAMLRequest='), 'sent to the chosen IdP');

  const second = await browser.get(await sp.loginUrl());
  await browser.submit(second, { idp: home.entityId }, 'choose');
  const third = await browser.get(await sp.loginUrl({ forceAuthn: true }));
  const lastUsed = /<h2 id="last-used">Last used<\/h2>\s*<ul[^>]*>([\s\S]*?)<\/ul>/.exec(third.body)?.[1] ?? '';
  t.same([...lastUsed.matchAll(/value="([^"]*)"/g)].map((m) => decodeEntities(m[1]!)), [home.entityId, HEIDELBERG.entityId], 'most recent first');

  const jar = browser.cookies.get(`127.0.0.1:${port}`)!;
  jar.set('fedgate_idp', encodeURIComponent(JSON.stringify([HIDDEN.entityId, 'https://gone.example.org/idp', TOKYO.entityId])));
  const fourth = await browser.get(await sp.loginUrl({ forceAuthn: true }));
  const shown = /<h2 id="last-used">Last used<\/h2>\s*<ul[^>]*>([\s\S]*?)<\/ul>/.exec(fourth.body)?.[1] ?? '';
  t.same([...shown.matchAll(/value="([^"]*)"/g)].map((m) => decodeEntities(m[1]!)), [TOKYO.entityId], 'neither a hidden nor an unknown IdP is offered');
  jar.set('fedgate_idp', 'not json');
  t.notMatch((await browser.get(await sp.loginUrl({ forceAuthn: true }))).body, /Last used/, 'an unreadable cookie counts as nothing');
});

t.test('a per-service filter: only SIRTFI IdPs, no social providers, on the page, in the API and on the choice', async (t) => {
  const browser = new Browser();
  const page = await browser.get(await strictSp.loginUrl());
  t.same(resultIds(page).sort(), [HEIDELBERG.entityId, KYOTO.entityId].sort());
  const login = discoveryLoginId(page);
  t.same((await api(`login=${login}`, {}, browser)).body.results.map((r) => r.id).sort(), [HEIDELBERG.entityId, KYOTO.entityId].sort(), 'the API applies the login’s filter');
  t.equal((await api(`login=${login}&q=home`, {}, browser)).body.total, 0);
  t.equal((await api('q=home')).body.total, 1, 'without a login only the global rules apply');

  const refused = await browser.submit(page, { idp: home.entityId }, 'choose');
  t.equal(refused.status, 403, 'a choice outside the filter is refused');
  t.match(refused.body, /does not accept logins from that identity provider/);
  t.notOk(strictSp.lastResult(), 'and the service is not answered');

  const hintedOutside = await new Browser().get(await strictSp.loginUrl({ idphint: home.entityId }));
  t.equal(hintedOutside.status, 200, 'a hint outside the filter is passed over…');
  t.same(resultIds(hintedOutside).sort(), [HEIDELBERG.entityId, KYOTO.entityId].sort(), '…for the filtered choice');
  const hintedInside = await new Browser().fetchRaw(await strictSp.loginUrl({ idphint: HEIDELBERG.entityId }), { method: 'GET' });
  t.equal(hintedInside.status, 302);
  t.ok(hintedInside.headers.get('location')?.startsWith('https://idp.uni-heidelberg.de/sso?SAMLRequest='), 'a hint inside the filter goes straight to its IdP');
});

t.test('the discovery protocol, inbound: fedgate’s page as an SP’s discovery service', async (t) => {
  const params = (p: Record<string, string>) => new URLSearchParams({ entityID: SP_ID, ...p }).toString();
  const returnUrl = `${SHIB_RETURN}?SAMLDS=1&target=cookie%3A123`;
  const browser = new Browser();
  const page = await browser.get(`${url}/discovery?${params({ return: returnUrl })}`);
  t.equal(page.status, 200);
  t.match(page.body, /<h1>Log in to Example Wiki<\/h1>/, 'named from its metadata');
  t.same(resultIds(page).sort(), [HEIDELBERG.entityId, KYOTO.entityId].sort(), 'its filter applies');
  t.match(page.body, /data-api="\/discovery\/search\?entityID=https%3A%2F%2Fsp\.example\.org%2Fshibboleth"/, 'and the type-ahead asks for it too');
  const choose = parseForms(page).find((f) => (f as { id?: string }).id === 'choose')!;
  t.same(choose.fields, { entityID: SP_ID, return: returnUrl, returnIDParam: 'entityID' });

  const answer = await noFollow('/discovery', form({ ...choose.fields, idp: KYOTO.entityId }));
  t.equal(answer.status, 302);
  t.equal(answer.headers.get('location'), `${returnUrl}&entityID=${encodeURIComponent(KYOTO.entityId)}`, 'back to the return URL with the choice');
  const cookie = answer.headers.getSetCookie().find((c) => c.startsWith('fedgate_idp='))?.split(';')[0] ?? '';
  t.ok(cookie, 'the choice is remembered');

  const outside = await noFollow('/discovery', form({ ...choose.fields, idp: TOKYO.entityId }));
  t.equal(outside.status, 403, 'outside the SP’s filter: no answer');
  t.notOk(outside.headers.get('location'));
  const forged = await noFollow('/discovery', form({ ...choose.fields, return: 'https://evil.example/', idp: KYOTO.entityId }));
  t.equal(forged.status, 403, 'the posted return URL is checked again');
  t.notOk(forged.headers.get('location'));

  const custom = await noFollow('/discovery', form({ entityID: SP_ID, returnIDParam: 'idp', idp: HEIDELBERG.entityId }));
  t.equal(custom.headers.get('location'), `${SHIB_RETURN}?idp=${encodeURIComponent(HEIDELBERG.entityId)}`, 'no return: the default DiscoveryResponse; the SP’s returnIDParam');

  const passive = await noFollow(`/discovery?${params({ isPassive: 'true' })}`);
  t.equal(passive.headers.get('location'), SHIB_RETURN, 'isPassive and nothing remembered: back at once, without a choice');
  const remembered = await noFollow(`/discovery?${params({ isPassive: 'true' })}`, { headers: { cookie } });
  t.equal(remembered.headers.get('location'), `${SHIB_RETURN}?entityID=${encodeURIComponent(KYOTO.entityId)}`, 'isPassive: the remembered choice');
});

t.test('the discovery protocol, inbound: refused requests are shown a page, never redirected', async (t) => {
  const cases: [Record<string, string>, number, RegExp][] = [
    [{ entityID: SP_ID, return: 'https://evil.example/Shibboleth.sso/Login' }, 403, /address its registered metadata does not list/],
    [{ entityID: SP_ID, return: `${SHIB_RETURN}?entityID=x` }, 400, /cannot read/],
    [{ entityID: SP_ID, policy: 'urn:example:other' }, 400, /cannot read/],
    [{ entityID: 'https://unknown.example/sp' }, 403, /not registered/],
    [{ entityID: home.entityId }, 403, /not registered/],
    [{}, 400, /cannot read/],
  ];
  for (const [query, status, message] of cases) {
    const res = await noFollow(`/discovery?${new URLSearchParams(query)}`);
    t.equal(res.status, status, JSON.stringify(query));
    t.notOk(res.headers.get('location'));
    t.match(await res.text(), message);
  }
});

t.test('the page’s script and its search API answer', async (t) => {
  const res = await fetch(`${url}/static/discovery.js`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/javascript/);
  const script = await res.text();
  t.doesNotThrow(() => new Function(script), 'the script parses');
  t.match(script, /role|status/);
  t.match(script, /ArrowDown/, 'keyboard navigation');
  t.notMatch(script, /innerHTML/, 'API text never becomes markup');
});

t.test('the discovery protocol, outbound: an external discovery service (fedgate’s own page) and back', async (t) => {
  const externalPort = await freePort();
  const externalUrl = `http://127.0.0.1:${externalPort}`;
  const otherSp = await startSpPeer(externalUrl);
  const viaExternal: RunningFedgate = await startFedgate(
    {
      frontends: { saml: { sps: [{ metadata: writeMetadata(dir, 'other-sp.xml', otherSp.metadataXml) }] } },
      backends: { saml: { idps: [{ metadata: homeXml }, { metadata: federationXml }] } },
      discovery: { externalService: `${externalUrl}/discovery` },
    },
    { port: externalPort },
  );
  t.teardown(async () => {
    await viaExternal.close();
    await otherSp.close();
  });
  const spMetadata = await (await fetch(`${externalUrl}/saml/sp/metadata`)).text();
  t.match(spMetadata, `<idpdisc:DiscoveryResponse Binding="urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol" Location="${externalUrl}/discovery/return" index="0" isDefault="true"/>`, 'fedgate’s SP publishes where the answer comes');
  home.trustServiceProvider(spMetadata);

  const browser = new Browser();
  const page = await browser.get(await otherSp.loginUrl());
  const asked = new URL(page.url);
  t.equal(asked.searchParams.get('entityID'), `${externalUrl}/saml/sp/metadata`, 'the discovery service is asked for fedgate’s SP');
  t.equal(asked.searchParams.get('returnIDParam'), 'idp');
  const returnUrl = new URL(asked.searchParams.get('return') ?? '');
  t.equal(returnUrl.origin + returnUrl.pathname, `${externalUrl}/discovery/return`);
  t.match(page.body, /<h1>Log in to fedgate<\/h1>/, 'which shows its page');

  const done = await browser.submit(page, { idp: home.entityId }, 'choose');
  t.equal(done.status, 200, 'the choice came back, the login went on upstream and to the service');
  t.equal((otherSp.lastResult()?.profile as Record<string, unknown> | undefined)?.[EPPN], 'alice@example.org');
  t.ok(browser.history.some((p) => p.url.startsWith(`${externalUrl}/discovery/return?login=`) && new URL(p.url).searchParams.get('idp') === home.entityId));

  const stranger = new Browser();
  const again = await stranger.get(await otherSp.loginUrl());
  const login = new URL(new URL(again.url).searchParams.get('return')!).searchParams.get('login')!;
  const back = await stranger.get(`${externalUrl}/discovery/return?login=${encodeURIComponent(login)}`);
  t.equal(back.status, 200, 'an answer without a choice: the own page takes over');
  t.equal(new URL(back.url).searchParams.get('local'), '1');
  t.ok(resultIds(back).includes(home.entityId));
  const unknownLogin = await stranger.get(`${externalUrl}/discovery/return?login=nope&idp=${encodeURIComponent(home.entityId)}`);
  t.equal(unknownLogin.status, 400, 'an answer for an unknown login');
});
