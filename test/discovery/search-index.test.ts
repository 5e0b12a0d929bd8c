/**
 * Discovery's search: by name in any language and script, case- and accent-insensitive; by
 * domain (DomainHint, scope, entityID host) or e-mail address; ranked; per-service filters;
 * upstreams hidden from discovery never found.
 */
import t from 'tap';
import { discoveryConfig } from '../../src/discovery/config.js';
import { DiscoveryIndex } from '../../src/discovery/search-index.js';
import { fold, foldedForms } from '../../src/discovery/fold.js';
import type { UpstreamRegistration } from '../../src/core/registration.js';
import { DFN, FEDERATION, HEIDELBERG, HIDDEN, KYOTO, MUNICH, RS, SIRTFI, TOKYO, upstreamsOf, type DiscoveryIdp } from './fixtures.js';

const GITHUB: UpstreamRegistration = {
  id: 'https://github.com',
  backend: 'oidc',
  displayName: { en: 'GitHub' },
  hidden: false,
  protocol: 'oauth2',
  social: true,
  scopes: [],
  entityAttributes: {},
};

const index = DiscoveryIndex.of([...upstreamsOf(FEDERATION), GITHUB]);
const ids = (query: string, limit = 20) => index.search(query, { limit }).hits.map((h) => h.upstream.id);
const filter = (f: Record<string, unknown>) => discoveryConfig.parse({ filters: [{ services: ['https://sp.example.org'], ...f }] }).filters[0]!;

t.test('folding: case, accents, letters without a decomposition, full-width forms', async (t) => {
  t.equal(fold('  Universität   WIEN '), 'universitat wien');
  t.equal(fold('Łódź Straße Ærø'), 'lodz strasse aero');
  t.equal(fold('ＴＯＫＹＯ'), 'tokyo', 'NFKD turns full-width into plain letters');
  t.same(foldedForms('München'), ['munchen', 'muenchen'], 'umlauts also as German writes them without');
  t.same(foldedForms('Kraków'), ['krakow']);
});

t.test('an upstream hidden from discovery is never found, by name, domain or id', async (t) => {
  for (const query of ['Hidden College', 'verborgene', 'hidden-college.example.org', 'bob@hidden-college.example.org', HIDDEN.entityId]) {
    t.same(index.search(query, { limit: 20 }), { total: 0, hits: [] }, query);
  }
  t.notOk(index.get(HIDDEN.entityId), 'not even by id');
  t.notOk(ids('').includes(HIDDEN.entityId), 'nor listed without a query');
  t.equal(index.size, FEDERATION.length, 'the others and GitHub are there');
});

t.test('by a non-English display name, without accents and in any case', async (t) => {
  t.same(ids('東京大学'), [TOKYO.entityId], 'Japanese, exactly');
  t.same(ids('東京'), [TOKYO.entityId], 'Japanese, the beginning');
  t.same(ids('京都'), [KYOTO.entityId], 'an IdP with only a Japanese name');
  t.same(ids('TECHNISCHE UNIVERSITAT MUNCHEN'), [MUNICH.entityId], 'German name without umlauts, upper case');
  t.same(ids('universitaet muenchen'), [MUNICH.entityId], 'umlauts written out');
  t.same(ids('münchen'), [MUNICH.entityId], 'with the umlaut');
  t.same(ids('munich'), [MUNICH.entityId], 'its English name');
  t.same(ids('medizinische fakultat'), [HEIDELBERG.entityId], 'a keyword of two words');
  t.same(ids('ruprecht'), [HEIDELBERG.entityId], 'the beginning of a keyword');
});

t.test('by domain: DomainHint, scope, entityID host, e-mail address', async (t) => {
  const first = (query: string) => index.search(query, { limit: 5 }).hits[0];
  t.equal(first('uni-heidelberg.de')?.upstream.id, HEIDELBERG.entityId, 'DomainHint');
  t.equal(first('uni-heidelberg.de')?.domain, 'uni-heidelberg.de');
  t.equal(first('alice@uni-heidelberg.de')?.upstream.id, HEIDELBERG.entityId, 'e-mail address: its domain');
  t.equal(first('Alice.Smith@Physik.Uni-Heidelberg.DE')?.upstream.id, HEIDELBERG.entityId, 'e-mail address at a subdomain');
  t.equal(first('tum.de')?.upstream.id, MUNICH.entityId, 'shibmd:Scope');
  t.equal(first('bob@u-tokyo.ac.jp')?.upstream.id, TOKYO.entityId, 'scope, by e-mail address');
  t.equal(first('login.tum.de')?.upstream.id, MUNICH.entityId, 'entityID host');
  t.equal(first('github.com')?.upstream.id, GITHUB.id, 'an OAuth provider by its host');
  t.notOk(first('github.com')?.domain, 'no domain shown for a social provider');
  t.equal(first('uni-heid')?.upstream.id, HEIDELBERG.entityId, 'a domain half typed');
  t.same(ids('carol@example.com'), [], 'an unknown domain finds nothing, not everything');
  t.same(ids('alice@uni-heidelberg.de.evil.example'), [], 'a longer domain is not the IdP’s');
});

t.test('an internationalised domain matches in Unicode and in ASCII form', async (t) => {
  const idn = DiscoveryIndex.of(upstreamsOf([{ entityId: 'https://idp.example.org/idp', names: { de: 'Stadtwerke' }, domainHints: ['münchen.de'] }]));
  t.equal(idn.search('post@münchen.de', { limit: 5 }).total, 1);
  t.equal(idn.search('post@xn--mnchen-3ya.de', { limit: 5 }).total, 1);
});

t.test('ranking: exact name, words, substring, keyword, then domain, host, identifier; ties by name', async (t) => {
  const idp = (host: string, name: string, extra: Partial<DiscoveryIdp> = {}): DiscoveryIdp => ({ entityId: `https://${host}/idp`, names: { de: name }, ...extra });
  const ranked = DiscoveryIndex.of(
    upstreamsOf([
      idp('f.example', 'Forschungsnetz', { scopes: ['heidelberg-net.example'] }),
      idp('d.example', 'Campus Verbund', { keywords: { de: 'Heidelberg Mannheim' } }),
      idp('c.example', 'Altheidelberger Verein'),
      idp('b2.example', 'Universität Heidelberg'),
      idp('b1.example', 'Hochschule Heidelberg'),
      idp('a.example', 'Heidelberg'),
      idp('other.example', 'Unrelated'),
    ]),
  );
  t.same(
    ranked.search('heidelberg', { limit: 20 }).hits.map((h) => h.upstream.id),
    ['https://a.example/idp', 'https://b1.example/idp', 'https://b2.example/idp', 'https://c.example/idp', 'https://d.example/idp', 'https://f.example/idp'],
  );
  t.same(
    ranked.search('Uni Heid', { limit: 20 }).hits.map((h) => h.upstream.id),
    ['https://b2.example/idp'],
    'every word of the query begins a word of the name',
  );

  const domains = DiscoveryIndex.of(
    upstreamsOf([
      idp('z.example', 'Z', { scopes: ['physik.uni-x.de'] }),
      idp('idp.uni-x.de', 'Y'),
      idp('x.example', 'X', { domainHints: ['uni-x.de'] }),
    ]),
  );
  t.same(
    domains.search('uni-x.de', { limit: 20 }).hits.map((h) => [h.upstream.id, h.domain]),
    [
      ['https://x.example/idp', 'uni-x.de'],
      ['https://idp.uni-x.de/idp', 'idp.uni-x.de'],
      ['https://z.example/idp', 'physik.uni-x.de'],
    ],
    'DomainHint, then entityID host below the domain, then the domain inside a scope',
  );
  t.same(
    domains.search('alice@physik.uni-x.de', { limit: 20 }).hits.map((h) => [h.upstream.id, h.domain]),
    [
      ['https://x.example/idp', 'uni-x.de'],
      ['https://z.example/idp', 'physik.uni-x.de'],
    ],
    'an address at a subdomain: the scope and the parent DomainHint alike, by name',
  );
});

t.test('without a query: every listed upstream by name, at most `limit`, with the total', async (t) => {
  const all = index.search('', { limit: 3 });
  t.equal(all.total, FEDERATION.length);
  t.same(all.hits.map((h) => h.upstream.id), [GITHUB.id, HEIDELBERG.entityId, MUNICH.entityId], 'by English name first (GitHub, Heidelberg…, Technical…)');
  t.equal(index.search('uni', { limit: 1 }).total, 3, 'the total counts beyond the limit');
  t.equal(index.search('   ', { limit: 20 }).total, FEDERATION.length, 'white space is no query');
});

t.test('per-service filters', async (t) => {
  const found = (f: Record<string, unknown>, query = '') => index.search(query, { filter: filter(f), limit: 20 }).hits.map((h) => h.upstream.id).sort();
  t.same(found({ requireAssuranceCertifications: [SIRTFI] }), [GITHUB.id, HEIDELBERG.entityId, KYOTO.entityId].sort(), 'SIRTFI (social providers stay unless excluded)');
  t.same(found({ requireEntityCategorySupport: [RS], includeSocial: false }), [HEIDELBERG.entityId, TOKYO.entityId].sort(), 'R&S support, no social providers');
  t.same(found({ requireEntityCategorySupport: [RS], requireAssuranceCertifications: [SIRTFI], includeSocial: false }), [HEIDELBERG.entityId], 'both');
  t.same(found({ registrationAuthorities: [DFN], includeSocial: false }), [HEIDELBERG.entityId, MUNICH.entityId].sort(), 'one federation');
  t.same(found({ requireAssuranceCertifications: [SIRTFI] }, 'tum.de'), [], 'a search finds nothing outside the filter');
  t.same(found({ requireEntityCategories: ['https://refeds.org/category/code-of-conduct/v2'], includeSocial: false }), [], 'a category nobody has');
});
