/**
 * The attack corpus against fedgate's upstream ACS (POST /saml/sp/acs): every case file of
 * cases/acs/ is played against two fedgate instances sharing Redis, with a Response built and
 * signed by a real upstream IdP for a real pending login, then mutated as the case says.
 */
import t, { type Test } from 'tap';
import { Browser, type Page } from '../../helpers/browser.js';
import { REDIS_URL } from '../../helpers/fedgate.js';
import { redisUnavailable } from '../../helpers/stores.js';
import type { SamlIdpPeer } from '../../helpers/saml-idp-peer.js';
import { applyMutations, loadCases, type AttackCase } from './corpus.js';
import { assertRefused, assertStillServes, postForm, startWorld, via } from './setup.js';

/** Deleting or adding a case file must be a visible change here too. */
const EXPECTED_CASES = 48;

const cases = loadCases('acs');
t.equal(cases.length, EXPECTED_CASES, `${EXPECTED_CASES} case files in cases/acs`);

const redisSkip = await redisUnavailable();
const world = await startWorld(t, {
  instances: redisSkip ? 1 : 2,
  store: redisSkip ? { type: 'memory' } : { type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-attacks-${process.pid}-${Date.now()}:` },
});
const [home, other] = world.idps;
const acsUrl = `${world.url}/saml/sp/acs`;

const LAYOUTS = {
  'signed-response': {},
  'signed-assertion': { signResponse: false },
  'signed-response-only': { signAssertion: false },
  'encrypted-assertion': { encrypt: true },
} as const;

/** Starts a login at `idp` in a new browser, stopping where the IdP would answer: its AuthnRequest ID. */
async function startLogin(idp: SamlIdpPeer): Promise<{ browser: Browser; requestId: string }> {
  const browser = new Browser();
  const toFedgate = await browser.fetchRaw(await world.sps.open.loginUrl({ idphint: idp.entityId }), { method: 'GET' });
  const location = toFedgate.headers.get('location');
  if (toFedgate.status !== 302 || !location?.startsWith(idp.ssoUrl)) throw new Error(`fedgate did not send the login to ${idp.entityId}: ${toFedgate.status}`);
  const before = idp.requests.length;
  await browser.fetchRaw(location, { method: 'GET' });
  const request = idp.requests[before];
  if (!request) throw new Error(`${idp.entityId} received no AuthnRequest`);
  return { browser, requestId: request.id };
}

function post(browser: Browser, samlResponse: string, instance = world.fedgates[0]!): Promise<Page> {
  return postForm(browser, via(world, acsUrl, instance), { SAMLResponse: samlResponse });
}

/**
 * The login a case answers, and what its scenario needs done first; `poster` is the browser that
 * posts the case's message when it is not the one that started the login.
 */
async function prepare(c: AttackCase): Promise<{ browser: Browser; requestId: string; vars: Record<string, string>; poster?: Browser }> {
  switch (c.scenario) {
    case 'answer-other-login': {
      const login = await startLogin(home);
      const otherLogin = await startLogin(home);
      return { ...login, vars: { otherRequestId: otherLogin.requestId } };
    }
    case 'answer-finished-login': {
      const login = await startLogin(home);
      const { samlResponse } = await home.buildResponse(login.requestId);
      const finished = await post(login.browser, samlResponse);
      if (finished.status !== 200) throw new Error(`the login to finish first was refused: ${finished.status}`);
      return { ...login, vars: {} };
    }
    case 'login-sent-to-other-idp':
      return { ...(await startLogin(other)), vars: {} };
    case 'posted-from-other-browser':
      return { ...(await startLogin(home)), vars: {}, poster: new Browser() };
    case 'posted-from-browser-with-own-login': {
      const login = await startLogin(home);
      return { ...login, vars: {}, poster: (await startLogin(home)).browser };
    }
    default:
      return { ...(await startLogin(home)), vars: {} };
  }
}

async function play(t: Test, c: AttackCase): Promise<void> {
  const { browser, requestId, vars, poster } = await prepare(c);
  const built = await home.buildResponse(requestId, LAYOUTS[c.base as keyof typeof LAYOUTS]);
  const ids = /<samlp:Response\b[^>]*\sID="([^"]+)"[\s\S]*?<saml:Assertion\b[^>]*\sID="([^"]+)"/.exec(built.xml);
  const message = applyMutations(built.xml, undefined, c.mutations, {
    target: 'acs',
    keys: { sender: home.signing, other: other.signing },
    vars: { ...vars, requestId, responseId: ids?.[1] ?? '', assertionId: ids?.[2] ?? '', acsUrl, idpEntityId: home.entityId, otherIdpEntityId: other.entityId },
  });
  const samlResponse = Buffer.from(message.xml, 'utf8').toString('base64');

  let page: Page;
  if (c.scenario === 'replay-on-second-instance') {
    const [first, second] = world.fedgates;
    if (!second) throw new Error('two instances are needed');
    const used = await post(browser, samlResponse, first);
    t.equal(used.status, 200, 'the first instance accepts the Response');
    page = await post(new Browser(), samlResponse, second);
  } else {
    page = await post(poster ?? browser, samlResponse);
  }

  if ('error' in c.expect) {
    assertRefused(t, world, page, c.expect);
  } else {
    t.equal(page.status, 200, `accepted: ${page.body.slice(0, 300)}`);
    const atService = await browser.submit(page, {}, 'auto-post');
    t.equal(atService.status, 200, 'the service accepts fedgate’s answer');
    const profile = world.sps.open.lastResult()?.profile as Record<string, unknown> | undefined;
    const released = c.expect.released;
    if (released?.subject !== undefined) {
      const audit = world.lines.filter((l) => l.audit === 'login').at(-1);
      t.equal(audit?.subject, released.subject, 'the upstream subject is read whole');
    }
    for (const [name, values] of Object.entries(released?.attributes ?? {})) {
      const got = profile?.[name];
      t.same(got === undefined ? [] : Array.isArray(got) ? got : [got], values, values.length ? `${name} reaches the service whole` : `no ${name} reaches the service`);
    }
  }
  await assertStillServes(t, world);
}

for (const c of cases) {
  const skip = c.scenario === 'replay-on-second-instance' && redisSkip ? `needs two instances on Redis: ${redisSkip}` : false;
  t.test(`${c.name}: ${c.description}`, { skip }, (t) => play(t, c));
}
