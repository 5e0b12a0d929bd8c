/**
 * The newcomer's path through the shipped default configuration (config/fedgate.yaml, as
 * `npm start` runs it): the demo service, fedgate's discovery page, a demo IdP's login form, and
 * back to the demo service with the attributes — plus the `fedgate keys` command from the README.
 */
import t, { type Test } from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { Browser, decodeEntities, parseForms, type Page } from '../helpers/browser.js';
import { startParsedFedgate, tempDir } from '../helpers/fedgate.js';
import { freePort } from '../helpers/ports.js';

/** What the shipped assurance mapping makes of a password login at a home IdP. */
const HOME_IDP_CONTEXT = 'https://aai.egi.eu/LoA#Substantial';

/** The href of the link whose text is `text`, resolved against the page. */
function linkTo(page: Page, text: string): string | undefined {
  const re = /<a\b[^>]*\shref="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi;
  for (let m = re.exec(page.body); m; m = re.exec(page.body)) {
    if (decodeEntities((m[2] ?? '').replace(/<[^>]*>/g, '').trim()) === text) return new URL(decodeEntities(m[1] ?? ''), page.url).toString();
  }
  return undefined;
}

/** The value cells of the demo service's attribute table row for `friendlyName`. */
function attributeValues(page: Page, friendlyName: string): string[] | undefined {
  const m = new RegExp(`<tr><td>${friendlyName}</td><td><code>[^<]*</code></td><td>([\\s\\S]*?)</td></tr>`).exec(page.body);
  return m ? (m[1] ?? '').split('<br>').map(decodeEntities) : undefined;
}

const pathsOf = (pages: Page[]) => pages.map((p) => new URL(p.url).pathname);

/** fedgate with the shipped configuration, on a free port and a fresh data folder. */
async function startShipped(t: Test) {
  const shipped = loadConfig('config/fedgate.yaml');
  const port = await freePort();
  const fedgate = await startParsedFedgate({
    ...shipped,
    server: { ...shipped.server, port, baseUrl: `http://127.0.0.1:${port}` },
    dataDir: tempDir('fedgate-demo-data-'),
    logging: { ...shipped.logging, level: 'silent' },
  });
  t.teardown(() => fedgate.close());
  return fedgate;
}

t.test('the shipped default configuration: demo service → discovery → demo IdP → demo service', async (t) => {
  const fedgate = await startShipped(t);
  const browser = new Browser();

  const landing = await browser.get(`${fedgate.url}/demo`);
  t.equal(landing.status, 200, 'the demo service answers at /demo');
  t.match(landing.body, /<h1>fedgate demo service<\/h1>/);
  const loginLink = linkTo(landing, 'Log in with SAML');
  t.ok(loginLink, 'the landing page has a "Log in with SAML" link');

  const discovery = await browser.get(loginLink!);
  t.equal(discovery.status, 200);
  t.equal(new URL(discovery.url).pathname, '/saml/idp/sso', 'the link leads to fedgate, which answers the AuthnRequest with its discovery page');
  t.match(discovery.body, /<form id="choose" method="post" action="\/discovery">/);
  t.match(discovery.body, /<h1>Log in to fedgate demo service<\/h1>/, 'the page names the service from its metadata');
  t.match(discovery.body, /<span>Demo University<\/span>/);
  t.match(discovery.body, /<span>Demo Research Institute<\/span>/);
  const universityId = 'urn:fedgate:demo:idp:university';
  t.match(discovery.body, `name="idp" value="${universityId}"`, 'Demo University is offered by its entityID');

  const loginForm = await browser.submit(discovery, { idp: universityId }, 'choose');
  t.equal(loginForm.status, 200);
  t.equal(new URL(loginForm.url).pathname, '/demo/idp/university/sso', 'the choice leads to the demo IdP');
  t.match(loginForm.body, /<h1>Log in to Demo University<\/h1>/);
  t.ok(parseForms(loginForm).some((f) => f.action === `${fedgate.url}/demo/idp/university/login`), 'with its login form');

  const refused = await browser.submit(loginForm, { username: 'alice', password: 'wrong' }, 'login');
  t.equal(refused.status, 401, 'a wrong password is refused');
  t.match(refused.body, /Wrong username or password\./);
  t.match(refused.body, /<form id="login"/, 'and the form is shown again');
  t.match(refused.body, /id="username"[^>]*value="alice"/, 'with the username kept');
  t.match(refused.body, /id="password"[^>]*autofocus/, 'and the cursor in the password field');

  const done = await browser.submit(refused, { username: 'alice', password: 'alice' }, 'login');
  t.equal(done.status, 200, done.status === 200 ? 'the right password completes the login' : done.body.slice(0, 500));
  t.equal(new URL(done.url).pathname, '/demo/acs', 'the login ends at the demo service');
  t.match(done.body, /<h1>You are logged in<\/h1>/);
  t.same(attributeValues(done, 'eduPersonPrincipalName'), ['alice@university.example']);
  t.same(attributeValues(done, 'eduPersonEntitlement'), [
    'urn:geant:fedgate.example:group:vo.fedgate.example',
    'urn:geant:fedgate.example:group:vo.fedgate.example:analysis',
    'urn:geant:fedgate.example:group:vo.fedgate.example:role=admin',
    'urn:geant:university.example:group:physics#university.example',
    'urn:geant:university.example:group:physics:detector#university.example',
  ], 'the community groups from config/demo-groups.yaml (with their parent), and both entitlements of the trusted demo IdP');
  t.same(attributeValues(done, 'displayName'), ['Alice Andersson']);
  const [communityId] = attributeValues(done, 'voPersonID') ?? [];
  t.match(communityId, /^[0-9a-f]{64}@127\.0\.0\.1$/, 'an opaque scoped community ID');
  t.same(attributeValues(done, 'subject-id'), [communityId], 'also as subject-id');
  t.match(attributeValues(done, 'eduPersonAssurance'), [
    'https://refeds.org/assurance',
    'https://refeds.org/assurance/ID/unique',
    'https://refeds.org/assurance/IAP/low',
    'https://refeds.org/assurance/IAP/medium',
    'https://refeds.org/assurance/ATP/ePA-1m',
    'https://refeds.org/assurance/ATP/ePA-1d',
    'https://refeds.org/assurance/profile/cappuccino',
  ], 'RAF values of the trusted IdP, those fedgate qualifies itself, and the cappuccino profile');
  t.match(done.body, `<th>AuthnContextClassRef</th><td><code>${HOME_IDP_CONTEXT}</code>`, 'the context class from the assurance mapping');
  t.match(done.body, `<th>Issuer</th><td><code>${fedgate.url}/saml/idp/metadata</code>`);
  const firstLogin = pathsOf(browser.history);
  t.ok(firstLogin.includes('/saml/sp/acs'), 'the demo IdP answered fedgate’s SP');

  await t.test('a second visit is answered from the SSO session, without the login form', async (t) => {
    const before = browser.history.length;
    const landing = await browser.get(`${fedgate.url}/demo`);
    const again = await browser.get(linkTo(landing, 'Log in with SAML')!);
    t.equal(again.status, 200);
    t.equal(new URL(again.url).pathname, '/demo/acs');
    t.same(attributeValues(again, 'eduPersonPrincipalName'), ['alice@university.example']);
    const paths = pathsOf(browser.history.slice(before));
    t.notOk(paths.some((p) => p === '/discovery' || p.startsWith('/demo/idp/')), `neither discovery nor the IdP was visited: ${paths.join(' → ')}`);
  });
});

/** The value cells of the demo service's claim table `tableId` (id-token or userinfo) for `claim`. */
function claimValues(page: Page, tableId: string, claim: string): string[] | undefined {
  const table = new RegExp(`<table id="${tableId}">([\\s\\S]*?)</table>`).exec(page.body)?.[1] ?? '';
  const m = new RegExp(`<tr><td><code>${claim}</code></td><td>([\\s\\S]*?)</td></tr>`).exec(table);
  return m ? (m[1] ?? '').split('<br>').map(decodeEntities) : undefined;
}

t.test('the shipped default configuration over OpenID Connect: demo service → discovery → demo IdP → claims', async (t) => {
  t.equal(loadConfig('config/fedgate.yaml').frontends.oidc.enabled, true, 'the OpenID Provider is on by default');
  const fedgate = await startShipped(t);
  const browser = new Browser();

  const landing = await browser.get(`${fedgate.url}/demo`);
  const loginLink = linkTo(landing, 'Log in with OpenID Connect');
  t.ok(loginLink, 'the landing page has a "Log in with OpenID Connect" link');
  const discovery = await browser.get(loginLink!);
  t.match(new URL(discovery.url).pathname, /^\/oidc\/interaction\/[^/]+$/, 'the OIDC login leads to fedgate’s interaction, answered with its discovery page');
  t.match(discovery.body, /<form id="choose" method="post" action="\/discovery">/);
  t.match(discovery.body, /<h1>Log in to fedgate demo service<\/h1>/, 'naming the client');
  const loginForm = await browser.submit(discovery, { idp: 'urn:fedgate:demo:idp:university' }, 'choose');
  const done = await browser.submit(loginForm, { username: 'alice', password: 'alice' }, 'login');
  t.equal(done.status, 200, done.status === 200 ? 'the login completes' : done.body.slice(0, 800));
  t.equal(new URL(done.url).pathname, '/demo/oidc/callback', 'at the demo’s redirect_uri');
  t.match(done.body, /<h1>You are logged in with OpenID Connect<\/h1>/);

  const [sub] = claimValues(done, 'id-token', 'sub') ?? [];
  t.match(sub, /^[0-9a-f]{64}@127\.0\.0\.1$/, 'sub is the community ID');
  t.same(claimValues(done, 'id-token', 'iss'), [`${fedgate.url}/oidc`]);
  t.same(claimValues(done, 'id-token', 'aud'), ['fedgate-demo']);
  t.same(claimValues(done, 'id-token', 'acr'), [HOME_IDP_CONTEXT], 'acr from the assurance mapping');
  t.same(claimValues(done, 'userinfo', 'sub'), [sub]);
  t.same(claimValues(done, 'userinfo', 'email'), ['alice@university.example']);
  t.same(claimValues(done, 'userinfo', 'name'), ['Alice Andersson']);
  t.same(claimValues(done, 'userinfo', 'voperson_id'), [sub]);
  t.same(
    claimValues(done, 'userinfo', 'eduperson_entitlement'),
    [
      'urn:geant:fedgate.example:group:vo.fedgate.example',
      'urn:geant:fedgate.example:group:vo.fedgate.example:analysis',
      'urn:geant:fedgate.example:group:vo.fedgate.example:role=admin',
      'urn:geant:university.example:group:physics#university.example',
      'urn:geant:university.example:group:physics:detector#university.example',
    ],
    'eduperson_entitlement is an array (one value a line)',
  );
  t.ok(claimValues(done, 'userinfo', 'eduperson_assurance')?.includes('https://refeds.org/assurance/profile/cappuccino'));
});
