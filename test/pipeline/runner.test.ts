import t from 'tap';
import { testFilterServices } from '../helpers/pipeline.js';
import { parseConfig } from '../../src/config/load.js';
import type { PipelineInput } from '../../src/core/flow.js';
import type { Identity } from '../../src/core/model.js';
import { LoginDeniedError } from '../../src/core/errors.js';
import { FILTERS } from '../../src/pipeline/registry.js';
import { Pipeline } from '../../src/pipeline/runner.js';

const services = testFilterServices(t);

const input: PipelineInput = {
  request: { frontend: 'saml-idp', requester: 'https://sp.example.org', forceAuthn: false, isPassive: false, idpHints: [], frontendState: {} },
  service: { id: 'https://sp.example.org', protocol: 'saml', name: {}, entityCategories: [], requestedAttributes: [] },
  upstream: undefined,
};
const identity: Identity = {
  issuer: 'https://idp.example.org',
  protocol: 'saml',
  subject: { id: 'abc' },
  attributes: { mail: ['a@example.org'], uid: ['alice'], sshPublicKey: ['ssh-ed25519 AAAA'], cn: ['Alice'] },
  authn: { instant: '2026-11-23T10:00:00Z', contextClassRefs: [] },
};

const pipelineOf = (raw: unknown[], explain = false) => Pipeline.create(parseConfig({ pipeline: raw }).pipeline, services, { explain });

t.test('an empty pipeline passes the identity through unchanged', async (t) => {
  t.same(await (await pipelineOf([])).run(identity, input), identity);
});

t.test('map-attributes renames, merges, drops and keeps, in the configured order', async (t) => {
  const pipeline = await pipelineOf([
    { filter: 'map-attributes', rename: { cn: 'displayName', uid: 'mail' } },
    { filter: 'map-attributes', drop: ['sshPublicKey'] },
  ]);
  const out = await pipeline.run(identity, input);
  t.same(out.attributes, { mail: ['a@example.org', 'alice'], displayName: ['Alice'] });
  t.same(identity.attributes.uid, ['alice'], 'the input identity is not modified');
  const keepOnly = await pipelineOf([{ filter: 'map-attributes', keep: ['mail'] }]);
  t.same((await keepOnly.run(identity, input)).attributes, { mail: ['a@example.org'] });
});

t.test('explain records what each filter added and removed', async (t) => {
  const pipeline = await pipelineOf([
    { filter: 'map-attributes', rename: { cn: 'displayName' } },
    { filter: 'map-attributes', drop: ['sshPublicKey'] },
  ]);
  const { trace } = await pipeline.explain(identity, input);
  t.equal(trace.service, 'https://sp.example.org');
  t.same(trace.steps[0], { filter: 'map-attributes', added: { displayName: ['Alice'] }, removed: { cn: ['Alice'] }, notes: [] });
  t.same(trace.steps[1]?.removed, { sshPublicKey: ['ssh-ed25519 AAAA'] });
  t.same(trace.released, { mail: ['a@example.org'], uid: ['alice'], displayName: ['Alice'] });
});

t.test('a filter that denies stops the pipeline with its typed error, and explain says so', async (t) => {
  (FILTERS as Map<string, unknown>).set('deny-all-for-test', {
    name: 'deny-all-for-test',
    description: 'test only',
    options: {},
    create: () => (_: Identity, context: { explain(note: string): void }) => {
      context.explain('nobody may pass');
      throw new LoginDeniedError('test denial', 'You may not use this service.');
    },
  });
  t.teardown(() => (FILTERS as Map<string, unknown>).delete('deny-all-for-test'));
  const steps = [{ filter: 'deny-all-for-test', options: {} }];
  await t.rejects(Pipeline.create(steps, services, { explain: false }).then((p) => p.run(identity, input)), LoginDeniedError);
  await t.rejects(Pipeline.create(steps, services, { explain: true }).then((p) => p.run(identity, input)), LoginDeniedError);
  const { trace, error } = await (await Pipeline.create(steps, services, { explain: false })).explain(identity, input);
  t.type(error, LoginDeniedError);
  t.same(trace.steps[0]?.notes, ['nobody may pass', 'denied: test denial']);
});
