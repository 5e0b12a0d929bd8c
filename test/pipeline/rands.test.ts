import t from 'tap';
import { testFilterServices } from '../helpers/pipeline.js';
import { parseConfig } from '../../src/config/load.js';
import type { PipelineInput } from '../../src/core/flow.js';
import type { Attributes, Identity } from '../../src/core/model.js';
import { splitDisplayName } from '../../src/pipeline/rands.js';
import { Pipeline } from '../../src/pipeline/runner.js';

const RANDS = 'http://refeds.org/category/research-and-scholarship';
const INCOMMON_RANDS = 'http://id.incommon.org/category/research-and-scholarship';
const SP = 'https://wiki.example.org/shibboleth';

const services = testFilterServices(t);

function inputFor(entityCategories: string[], id = SP): PipelineInput {
  return {
    request: { frontend: 'saml-idp', requester: id, forceAuthn: false, isPassive: false, idpHints: [], frontendState: {} },
    service: { id, protocol: 'saml', name: {}, entityCategories, requestedAttributes: [] },
    upstream: undefined,
  };
}

const identityWith = (attributes: Attributes): Identity => ({
  issuer: 'https://idp.example.org/idp/shibboleth',
  protocol: 'saml',
  subject: { id: 'abc' },
  attributes,
  authn: { instant: '2026-11-23T10:00:00Z', contextClassRefs: [] },
});

async function run(attributes: Attributes, entityCategories = [RANDS], options: Record<string, unknown> = {}, id = SP) {
  const pipeline = await Pipeline.create(parseConfig({ pipeline: [{ filter: 'rands', ...options }] }).pipeline, services, { explain: false });
  const { identity, trace } = await pipeline.explain(identityWith(attributes), inputFor(entityCategories, id));
  return { attributes: identity.attributes, notes: trace.steps[0]?.notes ?? [] };
}

t.test('an R&S service gets displayName computed from givenName + sn', async (t) => {
  const { attributes, notes } = await run({ givenName: ['Alice'], sn: ['Andersson'], mail: ['alice@example.org'] });
  t.same(attributes.displayName, ['Alice Andersson']);
  t.same(attributes.mail, ['alice@example.org']);
  t.ok(notes.includes('displayName: from givenName + sn'));
});

t.test('givenName and sn come from displayName only when it is exactly two words without comma', async (t) => {
  const two = await run({ displayName: ['  Alice   Andersson '] });
  t.same(two.attributes.givenName, ['Alice']);
  t.same(two.attributes.sn, ['Andersson']);
  t.ok(two.notes.some((n) => n.startsWith('givenName: first word of displayName')));

  for (const ambiguous of ['Anna Maria Svensson', 'Svensson, Anna', 'Dr. Svensson', 'Cher']) {
    const { attributes, notes } = await run({ displayName: [ambiguous] });
    t.notOk(attributes.givenName, `no givenName from "${ambiguous}"`);
    t.notOk(attributes.sn, `no sn from "${ambiguous}"`);
    t.ok(notes.some((n) => n.startsWith('givenName, sn: not derived from displayName')), `explains "${ambiguous}"`);
  }
});

t.test('a released half of the name is completed only when displayName agrees with it', async (t) => {
  const agrees = await run({ displayName: ['Alice Andersson'], givenName: ['alice'] });
  t.same(agrees.attributes.sn, ['Andersson']);
  t.same(agrees.attributes.givenName, ['alice'], 'what the IdP released is kept');
  const disagrees = await run({ displayName: ['Alice Andersson'], givenName: ['Alicia'] });
  t.notOk(disagrees.attributes.sn);
  t.ok(disagrees.notes.some((n) => n.startsWith('sn: not derived') && n.includes('does not agree with the givenName')));
  const onlySn = await run({ sn: ['Andersson'] });
  t.notOk(onlySn.attributes.displayName, 'displayName needs both halves');
  t.ok(onlySn.notes.includes('displayName: not computed: the upstream released no givenName'));
});

t.test('mail is never invented', async (t) => {
  const { attributes, notes } = await run({ givenName: ['Alice'], sn: ['Andersson'], eduPersonPrincipalName: ['alice@example.org'] });
  t.notOk(attributes.mail);
  t.ok(notes.some((n) => n.startsWith('mail: none from the upstream') && n.includes('never invents')));
});

t.test('other services are left alone; the category is compared as the exact http string', async (t) => {
  const name = { givenName: ['Alice'], sn: ['Andersson'] };
  const other = await run(name, ['https://refeds.org/category/code-of-conduct/v2']);
  t.same(other.attributes, name);
  t.match(other.notes, [/not an R&S service/]);
  t.same((await run(name, ['https://refeds.org/category/research-and-scholarship'])).attributes, name, 'https is not the R&S URI');
  t.same((await run(name, [INCOMMON_RANDS])).attributes.displayName, ['Alice Andersson'], "InCommon's legacy category counts");
  t.same((await run(name, [], { services: ['client-1'] }, 'client-1')).attributes.displayName, ['Alice Andersson'], 'configured as R&S');
});

t.test('splitDisplayName states the rule', async (t) => {
  t.same(splitDisplayName('Anne-Marie Smith'), { givenName: 'Anne-Marie', sn: 'Smith' });
  t.equal(splitDisplayName('J. Smith'), undefined);
  t.equal(splitDisplayName('van Berg, Jan'), undefined);
  t.equal(splitDisplayName('Jan van Berg'), undefined);
});
