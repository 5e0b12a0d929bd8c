/**
 * An upstream IdP that fedgate knows only through an MDQ service: a service names it with an
 * idphint, fedgate fetches and verifies its metadata on demand, and the login completes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { definitionOf } from '../../src/core/attributes.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { signRoot } from '../fixtures/metadata/build.js';
import { Browser } from '../helpers/browser.js';
import { startFedgate, tempDir, writeMetadata } from '../helpers/fedgate.js';
import { freePort } from '../helpers/ports.js';
import { startHomeIdpPeer, startSamlIdpPeer } from '../helpers/saml-idp-peer.js';
import { startSpPeer } from '../helpers/saml-sp-peer.js';

const eppn = definitionOf('eduPersonPrincipalName')!.saml;
const federation = await generateKeyPair('mdq signer');
const port = await freePort();
const fedgateUrl = `http://127.0.0.1:${port}`;
const sp = await startSpPeer(fedgateUrl);
const home = await startHomeIdpPeer({ [eppn]: ['alice@example.org'] });
const other = await startSamlIdpPeer({ name: 'other', displayName: 'Other Institute', scope: 'other.example' });

/** The entity as an MDQ service publishes it: with a validUntil, signed by the federation. */
const validUntil = new Date(Date.now() + 3 * 86400_000).toISOString();
const published = signRoot(home.metadataXml.replace(/<((?:\w+:)?EntityDescriptor) /, `<$1 ID="mdq-home" validUntil="${validUntil}" `), federation.keyPem, federation.certPem);
const asked: string[] = [];
const mdq = createServer((req, res) => {
  asked.push(decodeURIComponent(req.url ?? ''));
  if (decodeURIComponent(req.url ?? '') !== `/entities/${home.entityId}`) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'application/samlmetadata+xml', etag: '"1"' }).end(published);
});
await new Promise<void>((resolve) => mdq.listen(0, '127.0.0.1', resolve));

const dir = tempDir();
const fedgate = await startFedgate(
  {
    frontends: { saml: { sps: [{ metadata: writeMetadata(dir, 'sp.xml', sp.metadataXml) }] } },
    backends: {
      saml: {
        idps: [
          { metadata: writeMetadata(dir, 'other.xml', other.metadataXml) },
          { mdq: `http://127.0.0.1:${(mdq.address() as AddressInfo).port}/`, signingCert: writeMetadata(dir, 'mdq.pem', federation.certPem) },
        ],
      },
    },
  },
  { port },
);
const spMetadata = await (await fetch(`${fedgateUrl}/saml/sp/metadata`)).text();
home.trustServiceProvider(spMetadata);
other.trustServiceProvider(spMetadata);
t.teardown(async () => {
  await fedgate.close();
  await Promise.all([sp.close(), home.close(), other.close(), new Promise<void>((resolve) => mdq.close(() => resolve()))]);
});

t.test('an IdP named by idphint is looked up over MDQ, verified, and logged in at', async (t) => {
  const page = await new Browser().get(await sp.loginUrl({ idphint: home.entityId }));
  t.equal(page.status, 200, page.body.slice(0, 300));
  t.equal((sp.lastResult()?.profile as Record<string, unknown> | undefined)?.[eppn], 'alice@example.org');
  t.ok(asked.includes(`/entities/${home.entityId}`), 'fedgate asked the MDQ service for it');
  t.equal(home.requests.length, 1, 'and sent the user there');
});

t.test('a hint that neither the metadata nor the MDQ service knows is not honoured', async (t) => {
  const page = await new Browser().get(await sp.loginUrl({ idphint: 'https://unknown.example.org/idp' }));
  t.equal(page.status, 200, page.body.slice(0, 300));
  t.ok(asked.includes('/entities/https://unknown.example.org/idp'), 'the MDQ service was asked');
  t.equal(home.requests.length, 1, 'nobody was sent to the MDQ IdP again');
  t.equal(other.requests.length, 1, 'the user went to the only listed IdP, as without a hint');
});
