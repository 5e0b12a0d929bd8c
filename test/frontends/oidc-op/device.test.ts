/**
 * Device authorization (RFC 8628) at fedgate's OpenID Provider: a public command-line client asks
 * for a user code, the test browser enters it on fedgate's page, confirms and logs in upstream
 * (SAML), while the device polls the token endpoint; slow_down, expired_token and access_denied.
 */
import * as oidc from 'openid-client';
import t from 'tap';
import { Browser, type Page } from '../../helpers/browser.js';
import { REDIS_URL } from '../../helpers/fedgate.js';
import { authorize, rpClient } from '../../helpers/oidc-rp.js';
import { ENTITLEMENTS, defaultClients, redisSkip, setup } from './harness.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const INTERVAL = 1;
const CLI = { clientId: 'cli', name: 'Analysis CLI', grantTypes: [GRANT, 'refresh_token'], scopes: ['openid', 'email', 'eduperson_entitlement', 'offline_access'] };

/** One raw poll of the token endpoint: the OAuth error, or undefined when tokens came. */
async function poll(config: oidc.Configuration, deviceCode: string): Promise<string | undefined> {
  const res = await fetch(config.serverMetadata().token_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: GRANT, device_code: deviceCode, client_id: 'cli' }),
  });
  const body = (await res.json()) as { error?: string; access_token?: string };
  return body.error;
}

/** The browser on the verification page: enter the code, get to the confirm page. */
async function enterCode(browser: Browser, device: oidc.DeviceAuthorizationResponse): Promise<Page> {
  const input = await browser.get(device.verification_uri);
  return browser.submit(input, { user_code: device.user_code });
}

function run(name: string, store: () => Record<string, unknown>, skip: string | false) {
  t.test(`device authorization (${name} store)`, { skip }, async (t) => {
    const { issuer, idp } = await setup(t, store(), (rp) => ({
      clients: [...defaultClients(rp), CLI],
      deviceFlow: { interval: INTERVAL },
      ttl: { DeviceCode: 3 },
    }));
    const cli = await rpClient(issuer, 'cli', undefined, 'none');
    t.ok(cli.serverMetadata().device_authorization_endpoint, 'discovery names the device endpoint');

    await t.test('the user enters the code, confirms, logs in upstream; the device polls until tokens arrive', async (t) => {
      const device = await oidc.initiateDeviceAuthorization(cli, { scope: 'openid email eduperson_entitlement offline_access' });
      t.match(device.user_code, /^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$/, 'a user code of consonants');
      t.equal(device.interval, INTERVAL, 'the polling interval is announced');
      t.equal(await poll(cli, device.device_code), 'authorization_pending');
      t.equal(await poll(cli, device.device_code), 'slow_down', 'polling faster than the interval');

      const browser = new Browser();
      const input = await browser.get(device.verification_uri);
      t.match(input.body, /<label for="user_code">Code<\/label>/, 'a labelled input in fedgate’s page');
      const confirm = await browser.submit(input, { user_code: device.user_code.toLowerCase() });
      t.match(confirm.body, 'Analysis CLI');
      t.match(confirm.body, device.user_code, 'the confirm page shows the code to compare');
      const before = idp.requests.length;
      const done = await browser.submit(confirm, { confirm: 'yes' });
      t.equal(idp.requests.length, before + 1, 'the user logged in upstream');
      t.match(done.body, 'Your device is logged in');

      const tokens = await oidc.pollDeviceAuthorizationGrant(cli, device);
      t.ok(tokens.id_token && tokens.refresh_token, 'ID token and refresh token');
      const sub = tokens.claims()!.sub;
      const userinfo = await oidc.fetchUserInfo(cli, tokens.access_token, sub);
      t.equal(userinfo.email, 'alice@example.org');
      t.same(userinfo.eduperson_entitlement, ENTITLEMENTS);
      t.equal(await poll(cli, device.device_code), 'invalid_grant', 'the device code works once');
    });

    await t.test('cancel on the confirm page: access_denied', async (t) => {
      const device = await oidc.initiateDeviceAuthorization(cli, { scope: 'openid' });
      const browser = new Browser();
      const confirm = await enterCode(browser, device);
      const cancelled = await browser.submit(confirm, { abort: 'yes' });
      t.match(cancelled.body, 'You cancelled the login');
      t.equal(await poll(cli, device.device_code), 'access_denied');
    });

    await t.test('a login refused upstream: access_denied', async (t) => {
      const device = await oidc.initiateDeviceAuthorization(cli, { scope: 'openid' });
      const browser = new Browser();
      const confirm = await enterCode(browser, device);
      idp.next = { status: { top: 'urn:oasis:names:tc:SAML:2.0:status:Responder', second: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed' } };
      await browser.submit(confirm, { confirm: 'yes' });
      t.equal(await poll(cli, device.device_code), 'access_denied');
    });

    await t.test('a wrong code is shown again with a message', async (t) => {
      const browser = new Browser();
      const input = await browser.get(`${issuer}/device`);
      const wrong = await browser.submit(input, { user_code: 'BBBB-BBBB' });
      t.match(wrong.body, /role="alert">This code is not known/);
    });

    await t.test('expired_token once the device code has expired', async (t) => {
      const device = await oidc.initiateDeviceAuthorization(cli, { scope: 'openid' });
      t.equal(device.expires_in, 3);
      await new Promise((resolve) => setTimeout(resolve, 3500));
      t.equal(await poll(cli, device.device_code), 'expired_token');
    });
  });
}

run('memory', () => ({ type: 'memory' }), false);
run('Redis', () => ({ type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-oidc-device-${process.pid}-${Date.now()}:` }), redisSkip);

t.test('a login the pipeline refuses with advice only fedgate can give (a page-only error)', async (t) => {
  const { issuer, rp, client } = await setup(t, { type: 'memory' }, (rp) => ({ clients: [...defaultClients(rp), CLI], deviceFlow: { interval: INTERVAL } }), {
    pipeline: [
      { filter: 'community-id' },
      // The upstream's password login is LoA Substantial at most: both clients' logins fall short.
      { filter: 'assurance', minimum: { cli: { level: 'https://aai.egi.eu/LoA#High' }, rp: { level: 'https://aai.egi.eu/LoA#High' } } },
      { filter: 'release-policy' },
    ],
  });

  await t.test('device flow: the next poll gets access_denied, the user sees the advice page', async (t) => {
    const cli = await rpClient(issuer, 'cli', undefined, 'none');
    const device = await oidc.initiateDeviceAuthorization(cli, { scope: 'openid' });
    const browser = new Browser();
    const page = await browser.submit(await enterCode(browser, device), { confirm: 'yes' });
    t.equal(page.status, 403, 'fedgate’s error page');
    t.match(page.body, 'requires a login at level', 'with the advice');
    t.equal(await poll(cli, device.device_code), 'access_denied', 'the device stops waiting at once');
    t.equal(await poll(cli, device.device_code), 'invalid_grant', 'and the device code is spent');
  });

  await t.test('code flow: the user sees the advice page; nothing goes to the redirect_uri', async (t) => {
    const login = await authorize(new Browser(), client, rp.redirectUri);
    t.equal(login.page.status, 403);
    t.match(login.page.body, 'requires a login at level');
    t.equal(rp.hits.length, 0);
  });
});
