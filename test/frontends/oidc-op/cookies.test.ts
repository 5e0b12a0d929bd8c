/**
 * The provider's signed cookies: CookieKeys signs exactly as keygrip does (cookies from before,
 * or from an instance not yet upgraded, keep working) and accepts a signature only from one of its
 * keys; end to end, a browser whose session or interaction cookie was altered gets nothing.
 */
import t from 'tap';
import { Browser } from '../../helpers/browser.js';
import { authorize } from '../../helpers/oidc-rp.js';
import { CookieKeys } from '../../../src/frontends/oidc-op/cookie-keys.js';
import { setup } from './harness.js';

interface KeygripLike {
  sign(data: string): string;
  index(data: string, digest: string): number;
}

const SECRETS = ['9f2c1e7a5b3d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'an older secret', 'ünïcödé secret'];
const DATA = ['fedgate_op_session=7kVb2m0Q1x3Zl9Yq8wE4rT6uI5oP2aS1dF3gH5jK7lL', 'fedgate_op_interaction=', 'n=ä€😀', 'x='.repeat(500)];

/** A character that is not a signature character, in place of the first one. */
const alter = (signature: string) => `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;

t.test('CookieKeys signs as keygrip does and verifies only its own keys', async (t) => {
  // keygrip is what Koa's cookies module would use; it has no type declarations of its own.
  const { default: Keygrip } = (await import('keygrip' as string)) as { default: new (keys: string[]) => KeygripLike };
  for (const secrets of [SECRETS, SECRETS.slice(1)]) {
    const grip = new Keygrip(secrets);
    const keys = new CookieKeys(secrets);
    for (const data of DATA) {
      t.equal(keys.sign(data), grip.sign(data), `same signature for ${data.slice(0, 30)}`);
      t.equal(keys.index(data, grip.sign(data)), 0);
    }
  }
  const current = new CookieKeys(SECRETS);
  const data = DATA[0]!;
  const byOlder = new Keygrip(SECRETS.slice(1)).sign(data);
  t.equal(current.index(data, byOlder), 1, 'a cookie signed before a rotation still verifies, with the older key');
  t.ok(current.verify(data, byOlder));
  t.equal(new CookieKeys(SECRETS.slice(0, 1)).index(data, byOlder), -1, 'once that key is dropped it does not');
  const good = current.sign(data);
  for (const [what, digest] of [
    ['an altered signature', alter(good)],
    ['a truncated one', good.slice(0, -1)],
    ['one too long', `${good}A`],
    ['an empty one', ''],
    ['the padded base64 form', `${good}=`],
    ['one of the same length with a non-ASCII character', `é${good.slice(1)}`],
    ['the signature of other data', current.sign(DATA[1]!)],
  ] as const) {
    t.equal(current.index(data, digest), -1, what);
    t.notOk(current.verify(data, digest), what);
  }
  t.equal(current.index(data, undefined as unknown as string), -1, 'no signature at all');
  t.throws(() => new CookieKeys([]), TypeError);
});

t.test('a browser with an altered provider cookie gets nothing from it', async (t) => {
  const { fedgate, rp, client } = await setup(t, { type: 'memory' });
  const browser = new Browser();
  const first = await authorize(browser, client, rp.redirectUri);
  t.ok(first.callback.searchParams.get('code'), 'logged in');
  const jar = browser.cookies.get(new URL(fedgate.url).host)!;
  const session = jar.get('fedgate_op_session');
  const signature = jar.get('fedgate_op_session.sig');
  t.ok(session && signature, 'the provider keeps a signed session cookie');

  const silent = await authorize(browser, client, rp.redirectUri, { prompt: 'none' });
  t.ok(silent.callback.searchParams.get('code'), 'with its cookies intact the session answers prompt=none');

  jar.set('fedgate_op_session.sig', alter(signature!));
  const forged = await authorize(browser, client, rp.redirectUri, { prompt: 'none' });
  t.equal(forged.callback.searchParams.get('error'), 'login_required', 'an altered signature: no session');
  t.equal(jar.get('fedgate_op_session.sig'), undefined, 'and the bad signature is cleared');

  jar.set('fedgate_op_session', session!);
  jar.set('fedgate_op_session.sig', signature!);
  t.ok((await authorize(browser, client, rp.redirectUri, { prompt: 'none' })).callback.searchParams.get('code'), 'restored, the session answers again');
  jar.set('fedgate_op_session', alter(session!));
  const swapped = await authorize(browser, client, rp.redirectUri, { prompt: 'none' });
  t.equal(swapped.callback.searchParams.get('error'), 'login_required', 'another session id under the old signature: no session');

  await t.test('an interaction cookie with an altered signature does not reach the interaction', async (t) => {
    const stranger = new Browser();
    const url = new URL(`${fedgate.url}/oidc/auth`);
    url.search = new URLSearchParams({
      client_id: 'rp',
      redirect_uri: rp.redirectUri,
      response_type: 'code',
      scope: 'openid',
      state: 'st',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGgSw9ZjhM',
      code_challenge_method: 'S256',
    }).toString();
    const started = await stranger.fetchRaw(url.href, { method: 'GET' });
    t.equal(started.status, 303);
    const interaction = new URL(started.headers.get('location')!, url).href;
    const strangerJar = stranger.cookies.get(url.host)!;
    const interactionSignature = strangerJar.get('fedgate_op_interaction.sig')!;
    t.ok(interactionSignature, 'the interaction cookie is signed');
    strangerJar.set('fedgate_op_interaction.sig', alter(interactionSignature));
    const refused = await stranger.fetchRaw(interaction, { method: 'GET', headers: { accept: 'text/html' } });
    t.equal(refused.status, 400);
    t.match(refused.body, 'This login is unknown or has expired');
    strangerJar.set('fedgate_op_interaction.sig', interactionSignature);
    const accepted = await stranger.fetchRaw(interaction, { method: 'GET', headers: { accept: 'text/html' } });
    t.not(accepted.status, 400, 'with the signature intact the login goes on');
  });
});
