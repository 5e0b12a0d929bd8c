import t from 'tap';
import { parseDuration, parseMetadata } from '../../src/metadata/parse.js';
import { IDP_ID, SP_ID, aggregate, generateKeyPair, idpEntity, spEntity } from '../fixtures/metadata/build.js';

const entityKey = await generateKeyPair('entity');
const invalid = { name: 'InvalidMetadataError' };

t.test('extracts every field fedgate uses from an aggregate', async (t) => {
  const validUntil = new Date(Date.now() + 3 * 86400_000);
  const xml = aggregate([idpEntity({ certPem: entityKey.certPem }), spEntity({ certPem: entityKey.certPem })], {
    validUntil,
    cacheDuration: 'PT6H',
  });
  const parsed = parseMetadata(xml, 'test-aggregate');
  t.equal(parsed.rootName, 'EntitiesDescriptor');
  t.equal(parsed.validUntil?.toISOString(), validUntil.toISOString());
  t.equal(parsed.cacheDurationMs, 6 * 3600_000);
  t.equal(parsed.records.length, 2);

  const idp = parsed.records.find((r) => r.entityId === IDP_ID)!;
  t.equal(idp.source, 'test-aggregate');
  t.equal(idp.validUntil?.toISOString(), validUntil.toISOString(), 'inherits the aggregate validUntil');
  t.equal(idp.registrationAuthority, 'http://www.swamid.se/');
  t.same(idp.organizationDisplayName, { en: 'Example University', '': 'Example Univ.' });
  t.same(idp.entityAttributes, {
    'http://macedir.org/entity-category-support': ['http://refeds.org/category/research-and-scholarship'],
    'urn:oasis:names:tc:SAML:attribute:assurance-certification': ['https://refeds.org/sirtfi', 'https://refeds.org/sirtfi2'],
  });
  t.notOk(idp.sp);
  t.same(idp.idp!.singleSignOnServices, [
    { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', location: 'https://idp.example.org/sso/redirect' },
    { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', location: 'https://idp.example.org/sso/post' },
  ]);
  t.equal(idp.idp!.wantAuthnRequestsSigned, true);
  t.same(idp.idp!.nameIdFormats, ['urn:oasis:names:tc:SAML:2.0:nameid-format:transient']);
  t.same(
    idp.idp!.keys.map((k) => k.use),
    ['signing', 'both'],
    'a KeyDescriptor without use serves both',
  );
  t.equal(idp.idp!.keys[0]!.certPem, entityKey.certPem, 'ds:X509Certificate becomes the same PEM');
  t.same(idp.idp!.scopes, [
    { value: '^[a-z]+\\.example\\.org$', regexp: true },
    { value: 'example.org', regexp: false },
  ]);
  t.equal(idp.idp!.errorUrl, 'https://idp.example.org/error');
  t.same(idp.idp!.ui, {
    displayName: { en: 'Example University', sv: 'Exempeluniversitetet' },
    description: { en: 'Login for Example University' },
    logos: [
      { url: 'https://idp.example.org/logo.png', width: 80, height: 60, lang: 'en' },
      { url: 'https://idp.example.org/favicon.ico', width: 16, height: 16 },
    ],
    informationUrl: { en: 'https://www.example.org/about' },
    privacyStatementUrl: { en: 'https://www.example.org/privacy' },
  });

  const sp = parsed.records.find((r) => r.entityId === SP_ID)!;
  t.notOk(sp.idp);
  t.notOk(sp.registrationAuthority);
  t.same(sp.organizationDisplayName, {});
  t.same(sp.entityAttributes, {
    'http://macedir.org/entity-category': [
      'http://refeds.org/category/research-and-scholarship',
      'https://refeds.org/category/code-of-conduct/v2',
    ],
  }, 'values of repeated attributes are joined and trimmed');
  t.same(sp.sp, {
    assertionConsumerServices: [
      { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', location: 'https://sp.example.org/Shibboleth.sso/SAML2/POST', index: 1, isDefault: true },
      { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact', location: 'https://sp.example.org/Shibboleth.sso/SAML2/Artifact', index: 2 },
    ],
    authnRequestsSigned: true,
    wantAssertionsSigned: true,
    nameIdFormats: ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
    keys: [{ use: 'encryption', certPem: entityKey.certPem }],
    requestedAttributes: [
      { name: 'urn:oid:0.9.2342.19200300.100.1.3', nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri', isRequired: true },
      { name: 'urn:oid:2.16.840.1.113730.3.1.241', nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri', isRequired: false },
    ],
    discoveryResponses: [
      { binding: 'urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol', location: 'https://sp.example.org/Shibboleth.sso/Login', index: 1 },
    ],
    ui: {
      displayName: { en: 'Example Wiki' },
      description: {},
      logos: [],
      informationUrl: {},
      privacyStatementUrl: { en: 'https://sp.example.org/privacy' },
    },
  });
});

t.test('a single EntityDescriptor root', async (t) => {
  const xml = `<?xml version="1.0"?>\n${idpEntity({ certPem: entityKey.certPem, declareNs: true, validUntil: '2999-01-01T00:00:00Z' })}`;
  const parsed = parseMetadata(xml, 'one');
  t.equal(parsed.rootName, 'EntityDescriptor');
  t.equal(parsed.validUntil?.toISOString(), '2999-01-01T00:00:00.000Z');
  t.equal(parsed.cacheDurationMs, undefined);
  t.same(parsed.records.map((r) => r.entityId), [IDP_ID]);
});

t.test('validUntil is the earliest on the path; expired entities and groups are left out', async (t) => {
  const md = 'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"';
  const role = '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>';
  const soon = new Date(Date.now() + 86400_000).toISOString();
  const later = new Date(Date.now() + 2 * 86400_000).toISOString();
  const past = new Date(Date.now() - 3600_000).toISOString();
  const xml = `<md:EntitiesDescriptor ${md} validUntil="${later}">
    <md:EntitiesDescriptor Name="inner" validUntil="${soon}">
      <md:EntityDescriptor entityID="https://a.example/" validUntil="${later}">${role}</md:EntityDescriptor>
    </md:EntitiesDescriptor>
    <md:EntitiesDescriptor Name="old" validUntil="${past}">
      <md:EntityDescriptor entityID="https://b.example/">${role}</md:EntityDescriptor>
    </md:EntitiesDescriptor>
    <md:EntityDescriptor entityID="https://c.example/" validUntil="${past}">${role}</md:EntityDescriptor>
    <md:EntityDescriptor entityID="https://d.example/">${role}</md:EntityDescriptor>
    <md:EntityDescriptor entityID="https://a.example/">${role}</md:EntityDescriptor>
    <md:EntityDescriptor>${role}</md:EntityDescriptor>
  </md:EntitiesDescriptor>`;
  const skipped: string[] = [];
  const parsed = parseMetadata(xml, 'nested', { onSkip: (reason, id) => skipped.push(`${id ?? '-'}: ${reason}`) });
  t.same(parsed.records.map((r) => r.entityId), ['https://a.example/', 'https://d.example/']);
  t.equal(parsed.records[0]!.validUntil?.toISOString(), new Date(soon).toISOString(), 'the inner group is earlier');
  t.equal(parsed.records[1]!.validUntil?.toISOString(), new Date(later).toISOString());
  t.equal(skipped.length, 4);
  t.match(skipped[0], /EntitiesDescriptor old expired/);
  t.match(skipped[1], /^https:\/\/c\.example\/: expired/);
  t.match(skipped[2], /^https:\/\/a\.example\/: a duplicate/, 'the first of two equal entityIDs wins');
  t.match(skipped[3], /without entityID/);
});

t.test('roles need the SAML 2.0 protocol', async (t) => {
  const xml = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://old.example/">
    <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol">
      <md:SingleSignOnService Binding="urn:mace:shibboleth:1.0:profiles:AuthnRequest" Location="https://old.example/sso"/>
    </md:IDPSSODescriptor>
    <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" validUntil="2000-01-01T00:00:00Z"/>
  </md:EntityDescriptor>`;
  const [record] = parseMetadata(xml, 'roles').records;
  t.equal(record?.entityId, 'https://old.example/');
  t.notOk(record?.idp, 'SAML 1.1 only');
  t.notOk(record?.sp, 'expired role');
});

t.test('mdui:DiscoHints and mdui:Keywords, for discovery', async (t) => {
  const xml = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" entityID="https://idp.uni-heidelberg.de/idp">
    <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:Extensions>
        <mdui:UIInfo>
          <mdui:DisplayName xml:lang="de">Universität Heidelberg</mdui:DisplayName>
          <mdui:Keywords xml:lang="de">Ruprecht-Karls-Universität  Physik Medizinische+Fakultät</mdui:Keywords>
          <mdui:Keywords xml:lang="en">Heidelberg university</mdui:Keywords>
          <mdui:Keywords xml:lang="fr"> </mdui:Keywords>
        </mdui:UIInfo>
        <mdui:DiscoHints>
          <mdui:IPHint>129.206.0.0/16</mdui:IPHint>
          <mdui:IPHint>2001:7c0:2000::/40</mdui:IPHint>
          <mdui:IPHint>129.206.0.0/33</mdui:IPHint>
          <mdui:IPHint>not an address</mdui:IPHint>
          <mdui:DomainHint> Uni-Heidelberg.DE. </mdui:DomainHint>
          <mdui:DomainHint>urz.uni-heidelberg.de</mdui:DomainHint>
          <mdui:DomainHint>uni-heidelberg.de</mdui:DomainHint>
          <mdui:DomainHint>münchen.de</mdui:DomainHint>
          <mdui:DomainHint>localhost</mdui:DomainHint>
          <mdui:DomainHint>not a domain</mdui:DomainHint>
          <mdui:GeolocationHint>geo:49.41,8.71</mdui:GeolocationHint>
          <mdui:GeolocationHint>Heidelberg</mdui:GeolocationHint>
        </mdui:DiscoHints>
      </md:Extensions>
    </md:IDPSSODescriptor>
  </md:EntityDescriptor>`;
  const [record] = parseMetadata(xml, 'hints').records;
  t.same(record?.idp?.discoHints, {
    domainHints: ['uni-heidelberg.de', 'urz.uni-heidelberg.de', 'münchen.de'],
    ipHints: ['129.206.0.0/16', '2001:7c0:2000::/40'],
    geolocationHints: ['geo:49.41,8.71'],
  }, 'lower case, without trailing dot or duplicates; what is no DNS name, CIDR block or geo: URI is left out');
  t.same(record?.idp?.ui.keywords, {
    de: ['Ruprecht-Karls-Universität', 'Physik', 'Medizinische Fakultät'],
    en: ['Heidelberg', 'university'],
  }, 'space-separated, "+" standing for a space; an empty element adds nothing');

  const [plain] = parseMetadata(idpEntity({ certPem: entityKey.certPem, declareNs: true }), 'plain').records;
  t.notOk(plain?.idp && 'discoHints' in plain.idp, 'no DiscoHints: no field');
  t.notOk(plain?.idp && 'keywords' in plain.idp.ui, 'no Keywords: no field');
});

t.test('refuses DTDs: external entities and entity expansion', async (t) => {
  const xxe = `<?xml version="1.0"?>
<!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;"/>`;
  t.throws(() => parseMetadata(xxe, 'xxe'), { ...invalid, message: /DOCTYPE/ });
  const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol3;"/>`;
  t.throws(() => parseMetadata(laughs, 'laughs'), { ...invalid, message: /DOCTYPE/ });
});

t.test('refuses what is not metadata', async (t) => {
  t.throws(() => parseMetadata('<html><body/></html>', 'html'), { ...invalid, message: /root element/ });
  t.throws(() => parseMetadata('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">', 'cut'), {
    ...invalid,
    message: /not well-formed/,
  });
  t.throws(() => parseMetadata('', 'empty'), invalid);
  t.throws(() => parseMetadata('<md:EntityDescriptor entityID="x"/>', 'unbound prefix'), invalid);
  t.throws(
    () => parseMetadata('<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" validUntil="tomorrow"/>', 'bad date'),
    { ...invalid, message: /xs:dateTime/ },
  );
});

t.test('xs:duration', async (t) => {
  t.equal(parseDuration('PT6H'), 6 * 3600_000);
  t.equal(parseDuration('P1DT30M'), (24 * 60 + 30) * 60_000);
  t.equal(parseDuration('PT1.5S'), 1500);
  t.equal(parseDuration('P'), undefined);
  t.equal(parseDuration('PT'), undefined);
  t.equal(parseDuration('6 hours'), undefined);
  t.equal(parseDuration(undefined), undefined);
});
