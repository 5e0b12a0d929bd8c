/**
 * A service that requires a minimum authentication level: a user coming from a social provider
 * (mapped to LoA Low) is refused with a page that says why and what to do; the same service
 * accepts a home-organisation login (LoA Substantial) and sees the computed values.
 */
import type { Profile } from '@node-saml/node-saml';
import t from 'tap';
import { definitionOf } from '../../src/core/attributes.js';
import { Browser, type Page } from '../helpers/browser.js';
import { startFedgate, tempDir, writeMetadata } from '../helpers/fedgate.js';
import { fedgateAsClient, startOidcOpPeer } from '../helpers/oidc-op-peer.js';
import { freePort } from '../helpers/ports.js';
import { startSamlIdpPeer } from '../helpers/saml-idp-peer.js';
import { startSpPeer } from '../helpers/saml-sp-peer.js';

const LOW = 'https://aai.egi.eu/LoA#Low';
const SUBSTANTIAL = 'https://aai.egi.eu/LoA#Substantial';
const samlName = (name: string) => definitionOf(name)!.saml;

const port = await freePort();
const fedgateUrl = `http://127.0.0.1:${port}`;
const sp = await startSpPeer(fedgateUrl);
const social = await startOidcOpPeer({
  clients: [fedgateAsClient(fedgateUrl, 'social')],
  user: { sub: 'social-user-1', claims: { name: 'Sam Social', email: 'sam@mail.example', email_verified: true } },
});
const home = await startSamlIdpPeer({
  name: 'home',
  displayName: 'Home University',
  scope: 'home.example',
  users: [
    {
      nameId: 'h-1',
      nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      attributes: {
        [samlName('subject-id')]: ['hannah@home.example'],
        [samlName('eduPersonPrincipalName')]: ['hannah@home.example'],
        [samlName('mail')]: ['hannah@home.example'],
      },
    },
  ],
});
const dir = tempDir();
const fedgate = await startFedgate(
  {
    frontends: { saml: { sps: [{ metadata: writeMetadata(dir, 'sp.xml', sp.metadataXml) }] } },
    backends: {
      saml: { idps: [{ metadata: writeMetadata(dir, 'home.xml', home.metadataXml) }] },
      oidc: {
        providers: [{ id: 'social', issuer: social.issuer, clientId: 'fedgate', clientSecret: 'op-secret', displayName: { en: 'Social Login' }, social: true }],
      },
    },
    pipeline: [
      { filter: 'scope-check' },
      { filter: 'community-id', scope: 'community.example' },
      { filter: 'assurance', minimum: { [sp.entityId]: { level: SUBSTANTIAL } } },
      { filter: 'release-policy', services: { [sp.entityId]: { allow: ['voPersonID', 'mail', 'eduPersonAssurance'] } } },
    ],
  },
  { port },
);
home.trustServiceProvider(await (await fetch(`${fedgateUrl}/saml/sp/metadata`)).text());
t.teardown(async () => {
  await fedgate.close();
  await Promise.all([sp.close(), social.close(), home.close()]);
});

async function loginVia(upstream: string): Promise<Page> {
  const browser = new Browser();
  const discovery = await browser.get(await sp.loginUrl());
  t.equal(discovery.status, 200, 'discovery lists the social provider and the home IdP');
  return browser.submit(discovery, { idp: upstream }, 'choose');
}

t.test('a social login is refused with a page that says why and what to do', async (t) => {
  const before = sp.lastResult();
  const page = await loginVia(social.issuer);
  t.equal(page.status, 403);
  t.match(page.body, /requires a login at level/, 'why: the level the service needs');
  t.match(page.body, /home organisation/, 'what to do: use the home organisation’s account');
  t.match(page.body, /reference: <code>[A-Z0-9]{10}<\/code>/i, 'a reference id to quote');
  t.equal(sp.lastResult(), before, 'nothing was sent to the service');
});

t.test('a home-organisation login passes, with the computed values', async (t) => {
  const page = await loginVia(home.entityId);
  t.equal(page.status, 200, page.body.slice(0, 300));
  const profile = (sp.lastResult()?.profile ?? {}) as Record<string, unknown>;
  t.match(profile[samlName('voPersonID')], /^[0-9a-f]{64}@community\.example$/, 'the community ID');
  t.equal(profile[samlName('mail')], 'hannah@home.example');
  t.notOk(profile[samlName('eduPersonPrincipalName')], 'what no rule allows does not leave');
  t.match(profile[samlName('eduPersonAssurance')], ['https://refeds.org/assurance', 'https://refeds.org/assurance/ID/unique', 'https://refeds.org/assurance/IAP/low']);
  const assertion = (sp.lastResult()?.profile as Profile | undefined)?.getAssertionXml?.() ?? '';
  t.match(assertion, `<saml:AuthnContextClassRef>${SUBSTANTIAL}</saml:AuthnContextClassRef>`, 'the AuthnContextClassRef from the assurance mapping');
  t.notMatch(assertion, LOW);
});
