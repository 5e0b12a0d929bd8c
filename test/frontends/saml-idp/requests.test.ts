/**
 * Hostile and broken AuthnRequests: each gets an error page with the right status, nothing is
 * posted anywhere, and the server keeps answering.
 */
import { deflateRawSync } from 'node:zlib';
import t from 'tap';
import { Browser } from '../../helpers/browser.js';
import { craftRequest, postedForm, redirectUrl, startHarness } from './harness.js';

t.test('broken and hostile requests are refused without harm', async (t) => {
  const h = await startHarness([{}]);
  t.teardown(h.close);
  const sp = h.sps[0]!;
  const get = (url: string) => new Browser().fetchRaw(url, { method: 'GET' });
  const post = (fields: Record<string, string>) => new Browser().post(h.frontend.ssoUrl, fields);
  const issuer = `<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${sp.entityId}</saml:Issuer>`;
  const request = (inner: string, attrs = '') =>
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x1" Version="2.0" IssueInstant="${new Date().toISOString()}"${attrs}>${inner}</samlp:AuthnRequest>`;

  const cases: [string, () => Promise<{ status: number; body: string }>, number][] = [
    ['no SAMLRequest', () => get(h.frontend.ssoUrl), 400],
    ['not base64', () => get(`${h.frontend.ssoUrl}?SAMLRequest=%%%`), 400],
    ['not DEFLATE', () => get(redirectUrl(h, Buffer.from('plain text, not deflated'))), 400],
    ['malformed XML', () => get(craftRequest(h, sp, { xml: `${request(issuer).slice(0, -5)}<oops` })), 400],
    ['not UTF-8', () => get(redirectUrl(h, deflateRawSync(Buffer.from([0x3c, 0xff, 0xfe, 0x3e])))), 400],
    [
      'DOCTYPE with entity expansion',
      () =>
        get(
          craftRequest(h, sp, {
            xml: `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>${request(`${issuer}<x>&b;</x>`)}`,
          }),
        ),
      400,
    ],
    [
      'external entity',
      () => get(craftRequest(h, sp, { xml: `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${request(issuer.replace(sp.entityId, '&x;'))}` })),
      400,
    ],
    ['undeclared entity', () => get(craftRequest(h, sp, { xml: request(issuer.replace(sp.entityId, '&x;')) })), 400],
    // 8 MB of zeros deflate to about 8 kB: within the URL limit, far beyond the inflate cap.
    ['deflate bomb', () => get(redirectUrl(h, deflateRawSync(Buffer.alloc(8 * 1024 * 1024)))), 413],
    ['POST: oversized base64', () => post({ SAMLRequest: Buffer.alloc(300 * 1024, 'a').toString('base64').slice(0, 350_000) }), 413],
    ['wrong root element', () => get(craftRequest(h, sp, { xml: request(issuer).replace(/AuthnRequest/g, 'LogoutRequest') })), 400],
    ['wrong version', () => get(craftRequest(h, sp, { xml: request(issuer).replace('Version="2.0"', 'Version="1.1"') })), 400],
    ['no Issuer', () => get(craftRequest(h, sp, { xml: request('') })), 400],
    ['two Issuers', () => get(craftRequest(h, sp, { xml: request(issuer + issuer) })), 400],
    ['bad IssueInstant', () => get(craftRequest(h, sp, { issueInstant: 'yesterday' })), 400],
    ['issued an hour ago', () => get(craftRequest(h, sp, { issueInstant: new Date(Date.now() - 3_600_000).toISOString() })), 400],
    ['issued an hour ahead', () => get(craftRequest(h, sp, { issueInstant: new Date(Date.now() + 3_600_000).toISOString() })), 400],
    ['Destination elsewhere', () => get(craftRequest(h, sp, { destination: 'https://other.example.org/sso' })), 400],
    ['ACS URL and index both', () => get(craftRequest(h, sp, { acsUrl: sp.acsUrl, acsIndex: 1 })), 400],
    ['unsupported ProtocolBinding', () => get(craftRequest(h, sp, { xml: request(issuer, ' ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"') })), 400],
    ['SAMLRequest twice', () => get(`${craftRequest(h, sp)}&SAMLRequest=x`), 400],
    ['SigAlg without Signature', () => get(`${craftRequest(h, sp)}&SigAlg=${encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')}`), 400],
    [
      'signature by a key not in metadata',
      () =>
        get(
          `${craftRequest(h, sp)}&SigAlg=${encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')}&Signature=${encodeURIComponent(Buffer.alloc(256, 7).toString('base64'))}`,
        ),
      403,
    ],
  ];
  for (const [name, send, status] of cases) {
    const page = await send();
    t.equal(page.status, status, name);
    t.notOk(page.body.includes('auto-post'), `${name}: nothing posted`);
    t.match(page.body, /Sorry, the login did not work/, `${name}: error page`);
  }

  t.equal(postedForm(await get(craftRequest(h, sp, { destination: null })))?.action, sp.acsUrl, 'still serving; Destination is optional');
  t.equal((await fetch(`${h.url}/saml/idp/metadata`)).status, 200, 'still serving');
});

t.test('RelayState over 1024 characters is refused', async (t) => {
  const h = await startHarness([{}]);
  t.teardown(h.close);
  const page = await new Browser().fetchRaw(`${craftRequest(h, h.sps[0]!)}&RelayState=${'r'.repeat(1025)}`, { method: 'GET' });
  t.equal(page.status, 400);
});
