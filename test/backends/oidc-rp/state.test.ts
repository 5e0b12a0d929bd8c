/**
 * One authorization request, one login: the state binding lives in the store until its callback
 * takes it, and of two callbacks racing with one state exactly one continues — with the
 * in-process store and with Redis, where the race may span fedgate instances.
 */
import t from 'tap';
import { Browser } from '../../helpers/browser.js';
import { startOidcHarness } from './harness.js';
import { testStores } from '../../helpers/stores.js';

const stores = await testStores('oidc-rp');

for (const [name, makeStore, skip] of stores) {
  t.test(name, { skip }, async (t) => {
    const h = await startOidcHarness({ store: makeStore() });
    t.teardown(() => h.close());

    t.test('the binding lives in the store until the callback takes it', async (t) => {
      const browser = new Browser();
      const callback = new URL(await h.toCallback(browser));
      const key = `oidc-rp:state:${callback.searchParams.get('state')}`;
      const stored = await h.store.get(key);
      t.ok(stored, 'bound when the authorization request was sent');
      const binding = JSON.parse(stored!) as Record<string, string>;
      t.same(Object.keys(binding).sort(), ['browser', 'codeVerifier', 'loginId', 'nonce', 'provider']);
      t.equal(binding.provider, 'research');
      t.equal(binding.nonce, h.op.authorizations.at(-1)?.get('nonce'));
      t.equal((await browser.fetchRaw(callback.toString(), { method: 'GET' })).status, 200);
      t.equal(await h.store.get(key), null, 'taken by the callback');
    });

    t.test('of two concurrent callbacks with one state exactly one continues', async (t) => {
      const browser = new Browser();
      const callback = await h.toCallback(browser);
      const before = h.frontend.responses.length;
      const answers = await Promise.all([browser.fetchRaw(callback, { method: 'GET' }), browser.fetchRaw(callback, { method: 'GET' })]);
      t.same(answers.map((a) => a.status).sort(), [200, 400]);
      t.equal(h.frontend.responses.length, before + 1, 'one answer to the service');
    });
  });
}
