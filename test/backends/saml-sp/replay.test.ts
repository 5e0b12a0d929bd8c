/**
 * One upstream Response, one login: a second post of it is refused as a replay, and of two posts
 * racing each other exactly one continues — with the in-process store and with Redis, where the
 * race may span fedgate instances.
 */
import t from 'tap';
import { ReplayedMessageError } from '../../../src/core/errors.js';
import { startHarness } from './harness.js';
import { testStores } from '../../helpers/stores.js';

const stores = await testStores('saml-sp');

for (const [name, makeStore, skip] of stores) {
  t.test(name, { skip }, async (t) => {
    const h = await startHarness({ store: makeStore() });
    t.teardown(() => h.close());

    t.test('the request binding lives in the store until its answer is used', async (t) => {
      const { browser, requestId } = await h.startLogin();
      const stored = await h.store.get(`saml-sp:req:${requestId}`);
      t.ok(stored, 'bound when the AuthnRequest was sent');
      t.same(Object.keys(JSON.parse(stored!)).sort(), ['idp', 'loginId']);
      t.equal(JSON.parse(stored!).idp, h.peer.entityId);
      const { samlResponse, xml } = await h.peer.buildResponse(requestId);
      t.equal((await h.postToAcs(browser, samlResponse)).status, 200);
      t.equal(await h.store.get(`saml-sp:req:${requestId}`), null, 'taken by the answer');
      const assertionId = /<saml:Assertion\b[^>]*\sID="([^"]+)"/.exec(xml)?.[1];
      t.equal(await h.store.get(`saml-sp:assertion:${h.peer.entityId}!${assertionId}`), '1', 'assertion ID remembered');
    });

    t.test('a second POST of the same Response is a replay', async (t) => {
      const { browser, requestId } = await h.startLogin();
      const { samlResponse } = await h.peer.buildResponse(requestId);
      const answered = h.frontend.responses.length;
      t.equal((await h.postToAcs(browser, samlResponse)).status, 200);
      const second = await h.postToAcs(browser, samlResponse);
      t.equal(second.status, 403);
      t.type(h.errors.at(-1), ReplayedMessageError);
      t.equal(h.frontend.responses.length, answered + 1, 'answered downstream once');
    });

    t.test('of two concurrent POSTs of one Response exactly one continues', async (t) => {
      for (let round = 0; round < 5; round++) {
        const { browser, requestId } = await h.startLogin();
        const { samlResponse } = await h.peer.buildResponse(requestId);
        const answered = h.frontend.responses.length;
        const errors = h.errors.length;
        const pages = await Promise.all([h.postToAcs(browser, samlResponse), h.postToAcs(browser, samlResponse)]);
        t.same(pages.map((p) => p.status).sort(), [200, 403], `round ${round}: one 200, one 403`);
        t.equal(h.frontend.responses.length, answered + 1, `round ${round}: answered downstream once`);
        t.same(h.errors.slice(errors).map((e) => e.constructor), [ReplayedMessageError], `round ${round}: the loser is a replay`);
      }
    });
  });
}
