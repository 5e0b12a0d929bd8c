/**
 * The SAML IdP Discovery Service Protocol: which requests fedgate answers, and where to. A return
 * URL must be a DiscoveryResponse of the requesting SP's verified metadata (spec/metadata.md §6).
 */
import t from 'tap';
import { discoveryAnswer, externalDiscoveryUrl, readDiscoveryRequest, SINGLE_POLICY } from '../../src/discovery/protocol.js';
import { parseMetadata } from '../../src/metadata/parse.js';
import { SP_ID, generateKeyPair, spEntity } from '../fixtures/metadata/build.js';

const key = await generateKeyPair('sp');
/** Its DiscoveryResponse: https://sp.example.org/Shibboleth.sso/Login (index 1). */
const [sp] = parseMetadata(spEntity({ certPem: key.certPem, declareNs: true }), 'sp').records;
const RESPONSE = 'https://sp.example.org/Shibboleth.sso/Login';
const known = (id: string) => (id === SP_ID ? sp : undefined);
const read = (params: Record<string, string>) => readDiscoveryRequest({ entityID: SP_ID, ...params }, known);

t.test('a return URL from the SP’s metadata, exactly or with a query of its own', async (t) => {
  t.equal(read({ return: RESPONSE }).returnUrl, RESPONSE);
  const shibboleth = `${RESPONSE}?SAMLDS=1&target=ss%3Amem%3Aabc`;
  t.equal(read({ return: shibboleth }).returnUrl, shibboleth);
  t.equal(read({}).returnUrl, RESPONSE, 'none given: the default DiscoveryResponse');
  t.same(read({}), { sp, returnUrl: RESPONSE, returnIdParam: 'entityID', isPassive: false });
  t.equal(read({ returnIDParam: 'idp', isPassive: 'true', policy: SINGLE_POLICY }).isPassive, true);
});

t.test('refused: a return the metadata does not list, and what the profile does not allow', async (t) => {
  const unregistered = { name: 'UnregisteredDiscoveryResponseError' };
  t.throws(() => read({ return: 'https://evil.example/Shibboleth.sso/Login' }), unregistered);
  t.throws(() => read({ return: `${RESPONSE}Other` }), unregistered, 'a longer path is another endpoint');
  t.throws(() => read({ return: 'https://sp.example.org/Shibboleth.sso/SAML2/POST' }), unregistered, 'an ACS is no DiscoveryResponse');
  t.throws(() => read({ return: `${RESPONSE}@evil.example` }), unregistered);
  t.throws(() => read({ return: `${RESPONSE}?a=1#x` }), { name: 'MalformedRequestError', message: /fragment/ });
  t.throws(() => read({ return: `${RESPONSE}?entityID=https://idp.example` }), { name: 'MalformedRequestError', message: /already carries entityID/ });
  t.throws(() => read({ return: `${RESPONSE}?idp=x`, returnIDParam: 'idp' }), { name: 'MalformedRequestError', message: /already carries idp/ });
  t.throws(() => read({ policy: 'urn:example:policy:many' }), { name: 'MalformedRequestError', message: /policy/ });
  t.throws(() => read({ isPassive: 'yes' }), { name: 'MalformedRequestError', message: /isPassive/ });
  t.throws(() => read({ returnIDParam: 'a b' }), { name: 'MalformedRequestError', message: /returnIDParam/ });
  t.throws(() => readDiscoveryRequest({ entityID: 'https://unknown.example/sp' }, known), { name: 'UnknownServiceProviderError' });
  t.throws(() => readDiscoveryRequest({}, known), { name: 'MalformedRequestError', message: /without entityID/ });

  const [bare] = parseMetadata(
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://bare.example/sp"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`,
    'bare',
  ).records;
  t.throws(() => readDiscoveryRequest({ entityID: 'https://bare.example/sp' }, () => bare), unregistered, 'no DiscoveryResponse at all');
});

t.test('the answer: the chosen IdP added to the return URL’s query, which stays as the SP wrote it', async (t) => {
  t.equal(discoveryAnswer({ returnUrl: RESPONSE, returnIdParam: 'entityID' }, 'https://idp.example.org/idp?x=1'), `${RESPONSE}?entityID=https%3A%2F%2Fidp.example.org%2Fidp%3Fx%3D1`);
  t.equal(
    discoveryAnswer({ returnUrl: `${RESPONSE}?SAMLDS=1&target=ss%3Amem%3Aabc`, returnIdParam: 'idp' }, 'urn:x'),
    `${RESPONSE}?SAMLDS=1&target=ss%3Amem%3Aabc&idp=urn%3Ax`,
  );
  t.equal(discoveryAnswer({ returnUrl: RESPONSE, returnIdParam: 'entityID' }), RESPONSE, 'no choice: back without the parameter');
});

t.test('fedgate’s request to an external discovery service', async (t) => {
  const url = new URL(
    externalDiscoveryUrl('https://service.seamlessaccess.org/ds/?lang=de', {
      entityId: 'https://proxy.example.org/saml/sp/metadata',
      returnUrl: 'https://proxy.example.org/discovery/return?login=abc',
      returnIdParam: 'idp',
    }),
  );
  t.equal(url.origin + url.pathname, 'https://service.seamlessaccess.org/ds/');
  t.same(Object.fromEntries(url.searchParams), {
    lang: 'de',
    entityID: 'https://proxy.example.org/saml/sp/metadata',
    return: 'https://proxy.example.org/discovery/return?login=abc',
    returnIDParam: 'idp',
  });
});
