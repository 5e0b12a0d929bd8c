/**
 * The social and OIDC upstreams as deployed: a SAML SP (node-saml) asks fedgate for a login, the
 * user picks a provider on the discovery page — an OpenID Provider (oidc-provider 9) or GitHub (a
 * stand-in speaking its OAuth2 and REST shapes) — and the SP validates fedgate's signed assertion
 * carrying the mapped attributes. When the provider refuses or answers wrongly, the SP is told
 * (AuthnFailed) or the user sees fedgate's error page, and fedgate keeps running.
 */
import t from 'tap';
import { definitionOf } from '../../../src/core/attributes.js';
import { Browser, type Page } from '../../helpers/browser.js';
import { startFedgate, tempDir, writeMetadata } from '../../helpers/fedgate.js';
import { startGithubPeer, type GithubUser } from '../../helpers/github-peer.js';
import { fedgateAsClient, startOidcOpPeer } from '../../helpers/oidc-op-peer.js';
import { freePort } from '../../helpers/ports.js';
import { startSpPeer } from '../../helpers/saml-sp-peer.js';

const rejections: unknown[] = [];
process.on('unhandledRejection', (reason) => rejections.push(reason));

const samlName = (name: string) => definitionOf(name)!.saml;
const GITHUB = 'https://github.com';

const port = await freePort();
const fedgateUrl = `http://127.0.0.1:${port}`;
const sp = await startSpPeer(fedgateUrl);
const op = await startOidcOpPeer({
  clients: [fedgateAsClient(fedgateUrl, 'research')],
  user: {
    sub: 'b1e5a0c2',
    claims: { name: 'Bob Researcher', given_name: 'Bob', family_name: 'Researcher', email: 'bob@lab.example', email_verified: true },
  },
});
const githubUser: GithubUser = {
  id: 583231,
  login: 'octocat',
  name: 'The Octocat',
  emails: [
    { email: '583231+octocat@users.noreply.github.com', primary: false, verified: true, visibility: null },
    { email: 'octocat@github.com', primary: true, verified: true, visibility: 'public' },
  ],
};
const github = await startGithubPeer({ clientId: 'Iv1.fedgate', clientSecret: 'gh-secret', user: githubUser });
const fedgate = await startFedgate(
  {
    frontends: { saml: { sps: [{ metadata: writeMetadata(tempDir(), 'sp.xml', sp.metadataXml) }] } },
    backends: {
      oidc: {
        providers: [
          { id: 'research', issuer: op.issuer, clientId: 'fedgate', clientSecret: 'op-secret', displayName: { en: 'Research SSO' }, social: true },
          { id: 'github', preset: 'github', clientId: 'Iv1.fedgate', clientSecret: 'gh-secret', endpoints: github.endpoints },
        ],
      },
    },
  },
  { port },
);
t.teardown(async () => {
  await fedgate.close();
  await Promise.all([sp.close(), op.close(), github.close()]);
});

/** From the SP through discovery, choosing `upstream`, to wherever the browser ends. */
async function loginVia(upstream: string, browser = new Browser()): Promise<Page> {
  const discovery = await browser.get(await sp.loginUrl());
  if (discovery.status !== 200) throw new Error(`no discovery page: ${discovery.status} ${discovery.body.slice(0, 300)}`);
  return browser.submit(discovery, { idp: upstream }, 'choose');
}

function profile(): Record<string, unknown> {
  return (sp.lastResult()?.profile ?? {}) as Record<string, unknown>;
}

t.test('the discovery page lists the providers by their configured names', async (t) => {
  const page = await new Browser().get(await sp.loginUrl());
  t.equal(page.status, 200);
  t.match(page.body, 'Research SSO');
  t.match(page.body, 'GitHub');
  t.notMatch(page.body, 'temporarily unavailable');
});

t.test('an OpenID Provider: the SP sees the mapped attributes', async (t) => {
  const done = await loginVia(op.issuer);
  t.equal(done.status, 200, `the SP accepted fedgate's answer: ${done.body.slice(0, 300)}`);
  const p = profile();
  t.equal(p[samlName('mail')], 'bob@lab.example');
  t.equal(p[samlName('voPersonVerifiedEmail')], 'bob@lab.example');
  t.equal(p[samlName('displayName')], 'Bob Researcher');
  t.equal(p[samlName('givenName')], 'Bob');
  t.equal(p[samlName('sn')], 'Researcher');
  t.equal(p[samlName('voPersonExternalID')], `b1e5a0c2@${new URL(op.issuer).host}`);
  t.equal(op.authorizations.at(-1)?.get('code_challenge_method'), 'S256');
});

t.test('GitHub: user from the API, the numeric id as identifier, the verified primary email', async (t) => {
  const done = await loginVia(GITHUB);
  t.equal(done.status, 200, `the SP accepted fedgate's answer: ${done.body.slice(0, 300)}`);
  const p = profile();
  t.equal(p[samlName('mail')], 'octocat@github.com');
  t.equal(p[samlName('voPersonVerifiedEmail')], 'octocat@github.com');
  t.equal(p[samlName('displayName')], 'The Octocat');
  t.equal(p[samlName('voPersonExternalID')], '583231@github.com', 'keyed on the id, never the login');
  t.notOk(Object.values(p).some((v) => v === 'octocat'), 'the login name is no attribute');
  const auth = github.authorizations.at(-1)!;
  t.equal(auth.get('scope'), 'read:user user:email');
  t.equal(auth.get('code_challenge_method'), 'S256');
  t.equal(auth.get('redirect_uri'), `${fedgateUrl}/oidc/rp/callback/github`);
});

t.test('GitHub: an unverified primary email is not released', async (t) => {
  githubUser.emails[1]!.verified = false;
  t.teardown(() => void (githubUser.emails[1]!.verified = true));
  const done = await loginVia(GITHUB);
  t.equal(done.status, 200);
  t.equal(profile()[samlName('mail')], undefined);
  t.equal(profile()[samlName('voPersonExternalID')], '583231@github.com');
});

t.test('an IdP hint naming a provider by its issuer skips discovery', async (t) => {
  const before = github.authorizations.length;
  const done = await new Browser().get(await sp.loginUrl({ idphint: GITHUB }));
  t.equal(done.status, 200);
  t.equal(github.authorizations.length, before + 1);
});

t.test('a refusal upstream is answered to the SP with AuthnFailed', async (t) => {
  const refusals: [string, () => void, () => void][] = [
    ['access_denied at the OpenID Provider', () => void (op.deny = true), () => void (op.deny = false)],
    ['access_denied at GitHub', () => void (github.deny = true), () => void (github.deny = false)],
    ['GitHub token error sent with HTTP 200', () => void (github.tokenError = 'bad_verification_code'), () => void (github.tokenError = undefined)],
  ];
  for (const [name, on, off] of refusals) {
    on();
    const done = await loginVia(name.includes('GitHub') ? GITHUB : op.issuer).finally(off);
    t.equal(done.status, 403, `${name}: the SP saw an error status`);
    t.match((sp.lastResult()?.error as { xmlStatus?: string } | undefined)?.xmlStatus, /status:AuthnFailed/, name);
  }
});

t.test('a replayed callback gets the error page', async (t) => {
  const browser = new Browser();
  const done = await loginVia(op.issuer, browser);
  t.equal(done.status, 200);
  const callback = browser.history.find((p) => p.url.startsWith(`${fedgateUrl}/oidc/rp/callback/`));
  t.ok(callback, 'the browser passed the callback');
  const again = await browser.get(callback!.url);
  t.equal(again.status, 400);
  t.match(again.body, 'This login is unknown or has expired');
  t.match(again.body, /reference: <code>[A-Z2-9]{10}<\/code>/);
});

t.test('what the provider gets wrong: an error page, and fedgate carries on', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const cases = [
    { name: 'nonce mismatch', tamper: { kind: 'idToken', claims: (c: Record<string, unknown>) => ({ ...c, nonce: 'replayed-elsewhere' }) }, status: 403, text: 'did not ask for' },
    { name: 'expired ID token', tamper: { kind: 'idToken', claims: (c: Record<string, unknown>) => ({ ...c, iat: now - 7200, exp: now - 3600 }) }, status: 403, text: 'has expired' },
    { name: 'ID token signed by a wrong key', tamper: { kind: 'idToken', key: 'wrong-same-kid' }, status: 403, text: 'not signed with a key it has registered' },
    { name: 'token endpoint garbage', tamper: { kind: 'garbage', body: 'Service Unavailable', contentType: 'text/plain' }, status: 400, text: 'cannot read' },
  ] as const;
  for (const c of cases) {
    op.tamper = c.tamper as never;
    const page = await loginVia(op.issuer).finally(() => void (op.tamper = undefined));
    t.equal(page.status, c.status, c.name);
    t.match(page.body, c.text, c.name);
    t.match(page.headers.get('content-type'), /text\/html/);
  }
  t.equal((await fetch(`${fedgateUrl}/healthz`)).status, 200, 'still serving');
  const done = await loginVia(op.issuer);
  t.equal(done.status, 200, 'and logging users in');
});

t.test('no unhandled rejections', async (t) => {
  await new Promise((resolve) => setImmediate(resolve));
  t.same(rejections, []);
});
