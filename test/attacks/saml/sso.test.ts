/**
 * The attack corpus against fedgate's downstream SSO endpoint (/saml/idp/sso): every case file of
 * cases/sso-redirect/ and cases/sso-post/ is played against one fedgate, with an AuthnRequest
 * from a service registered in its metadata (signed with that service's key when the base says
 * so), mutated as the case says, and sent with the HTTP-Redirect or HTTP-POST binding.
 */
import t, { type Test } from 'tap';
import { Browser, type Page } from '../../helpers/browser.js';
import { applyMutations, loadCases, RSA_SHA256, SHA256, signElements, type AttackCase } from './corpus.js';
import { assertRefused, assertStillServes, authnRequestXml, postForm, redirectUrl, startWorld } from './setup.js';

/** Deleting or adding a case file must be a visible change here too. */
const EXPECTED_CASES = { 'sso-redirect': 19, 'sso-post': 20 };

const cases = [...loadCases('sso-redirect'), ...loadCases('sso-post')];
for (const [target, count] of Object.entries(EXPECTED_CASES)) {
  t.equal(cases.filter((c) => c.target === target).length, count, `${count} case files in cases/${target}`);
}

const world = await startWorld(t);
const ssoUrl = `${world.url}/saml/idp/sso`;
const RELAY_STATE = 'corpus-relay-state';

async function play(t: Test, c: AttackCase): Promise<void> {
  const signed = c.base === 'signed-authn-request';
  const [sp, otherSp] = signed ? [world.sps.signed, world.sps.open] : [world.sps.open, world.sps.signed];
  const unsigned = authnRequestXml(sp, ssoUrl);
  const requestId = /\sID="([^"]+)"/.exec(unsigned)![1]!;
  const xml = signed && c.target === 'sso-post' ? signElements(unsigned, ['AuthnRequest'], sp.keys, { signatureAlgorithm: RSA_SHA256, digestAlgorithm: SHA256 }) : unsigned;
  const message = applyMutations(xml, signed && c.target === 'sso-redirect' ? { algorithm: RSA_SHA256, key: sp.keys } : undefined, c.mutations, {
    target: c.target,
    keys: { sender: sp.keys, other: otherSp.keys },
    vars: {
      requestId,
      ssoUrl,
      spEntityId: sp.entityId,
      acsUrl: sp.acsUrl,
      openSpEntityId: world.sps.open.entityId,
      signedSpEntityId: world.sps.signed.entityId,
    },
  });

  const browser = new Browser();
  const page: Page =
    c.target === 'sso-redirect'
      ? await browser.fetchRaw(redirectUrl(ssoUrl, message, RELAY_STATE), { method: 'GET' })
      : await postForm(browser, ssoUrl, { SAMLRequest: Buffer.from(message.xml, 'utf8').toString('base64'), RelayState: RELAY_STATE });

  if ('error' in c.expect) {
    assertRefused(t, world, page, c.expect);
  } else {
    t.equal(page.status, 200, `accepted: ${page.body.slice(0, 300)}`);
    t.match(page.body, /<form id="choose" method="post" action="\/discovery">/, 'the login goes on to the choice of upstream');
    const started = world.lines.filter((l) => l.msg === 'login started').at(-1);
    t.equal(started?.requester, sp.entityId, `a login for ${sp.entityId} started`);
  }
  await assertStillServes(t, world);
}

for (const c of cases) t.test(`${c.target}/${c.name}: ${c.description}`, (t) => play(t, c));
