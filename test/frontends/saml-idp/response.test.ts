/** The Responses fedgate builds: exact XML shape, escaping exactly once, signatures. */
import { SAML } from '@node-saml/node-saml';
import t from 'tap';
import { ResponseBuildError } from '../../../src/core/errors.js';
import { generateKeyPair } from '../../../src/crypto/keys.js';
import { idpMetadataXml } from '../../../src/frontends/saml-idp/metadata.js';
import { ResponseBuilder, type LoginResponseInput } from '../../../src/frontends/saml-idp/response.js';
import { BINDINGS } from '../../../src/metadata/types.js';

const IDP = 'https://proxy.example.org/idp';
const SP = 'https://sp.example.org/sp?a=1&b=2';
const ACS = 'https://sp.example.org/acs?x=<y>&z="1"';
const NASTY = `<v a="1">&amp; 'q' </v>`;

t.test('values are escaped exactly once, wherever they appear', async (t) => {
  const keys = await generateKeyPair('idp');
  const metadataXml = idpMetadataXml({
    entityId: IDP,
    certPem: keys.certPem,
    ssoServices: [{ binding: BINDINGS.redirect, location: `${IDP}/sso` }],
    nameIdFormats: [],
    displayName: { en: 'Proxy & <Co>' },
  });
  t.match(metadataXml, /Proxy &#38; &#60;Co&#62;/);
  const builder = new ResponseBuilder({ entityId: IDP, ...keys });
  const input: LoginResponseInput = {
    sp: { entityId: SP, acsUrl: ACS },
    inResponseTo: '_req1',
    signResponse: true,
    lifetimeSeconds: 120,
    nameId: { value: 'n1', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient', spNameQualifier: SP },
    authn: { instant: '2026-01-01T00:00:00.000Z', contextClassRef: 'urn:ctx&1', sessionIndex: '_s', authenticatingAuthority: 'https://idp.example.org/?a&b' },
    attributes: {
      eduPersonEntitlement: [NASTY, '{ID}', '{AttributeStatement}', 'plain', 'bad\u0000control'],
      displayName: ['first', 'second'],
      notAnAttribute: ['x'],
    },
    now: new Date('2026-01-01T00:00:05.000Z'),
  };
  const xml = builder.render(input);
  t.ok(xml.includes('<saml:AttributeValue xsi:type="xs:string">&lt;v a=&quot;1&quot;&gt;&amp;amp; &apos;q&apos; &lt;/v&gt;</saml:AttributeValue>'), 'value escaped once');
  t.ok(xml.includes('>{ID}</saml:AttributeValue>') && xml.includes('>{AttributeStatement}</saml:AttributeValue>'), 'placeholders in values stay text');
  t.notOk(xml.includes('bad'), 'a value XML cannot carry is left out');
  t.equal((xml.match(/FriendlyName="displayName"/g) ?? []).length, 1);
  t.ok(xml.includes('<saml:AttributeValue xsi:type="xs:string">first</saml:AttributeValue></saml:Attribute>'), 'single-valued: first value only');
  t.notOk(xml.includes('notAnAttribute'));
  t.ok(xml.includes(`Audience>https://sp.example.org/sp?a=1&amp;b=2</saml:Audience>`));
  t.ok(xml.includes('Destination="https://sp.example.org/acs?x=&lt;y&gt;&amp;z=&quot;1&quot;"'));
  t.ok(xml.includes('<saml:AuthnContextClassRef>urn:ctx&amp;1</saml:AuthnContextClassRef><saml:AuthenticatingAuthority>https://idp.example.org/?a&amp;b</saml:AuthenticatingAuthority>'));
  t.ok(xml.includes('NotBefore="2026-01-01T00:00:05.000Z" NotOnOrAfter="2026-01-01T00:02:05.000Z"'));
  t.ok(xml.includes('AuthnInstant="2026-01-01T00:00:00.000Z"'));
  t.notMatch(xml, / NameQualifier="/, 'absent qualifiers leave no attribute');

  // The signed, posted form is read back by a real SP with the same values.
  const spKeys = await generateKeyPair('sp');
  const sp = new SAML({
    issuer: SP,
    callbackUrl: ACS,
    idpCert: keys.certPem,
    idpIssuer: IDP,
    audience: SP,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    acceptedClockSkewMs: 5000,
    decryptionPvk: spKeys.keyPem,
  });
  const now = { ...input, now: undefined };
  for (const encryptionCertPem of [undefined, spKeys.certPem]) {
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: await builder.login({ ...now, sp: { ...now.sp, encryptionCertPem } }) });
    t.same((profile?.attributes as Record<string, unknown>)['urn:oid:1.3.6.1.4.1.5923.1.1.1.7'], [NASTY, '{ID}', '{AttributeStatement}', 'plain']);
  }

  const status = Buffer.from(
    builder.status({ sp: { entityId: SP, acsUrl: ACS }, inResponseTo: '_req1', status: { top: 'urn:oasis:names:tc:SAML:2.0:status:Requester' }, message: 'a < b & "c"' }),
    'base64',
  ).toString();
  t.match(status, /<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"\/><samlp:StatusMessage>/, 'no second-level code when none given');
  t.ok(status.includes('<samlp:StatusMessage>a &lt; b &amp; &quot;c&quot;</samlp:StatusMessage>'), 'message escaped once');
  t.match(status, /<ds:Signature[\s\S]*<samlp:Status>/, 'signed');
  await t.rejects(sp.validatePostResponseAsync({ SAMLResponse: Buffer.from(status).toString('base64') }), /Requester error: a < b & "c"/);

  const broken = '-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n';
  await t.rejects(builder.login({ ...now, sp: { ...now.sp, encryptionCertPem: broken } }), ResponseBuildError, 'an unusable SP key is a typed error');
});
