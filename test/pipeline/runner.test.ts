import t from 'tap';
import pino from 'pino';
import { parseConfig } from '../../src/config/load.js';
import type { AuthnRequest, Identity } from '../../src/core/model.js';
import { Pipeline } from '../../src/pipeline/runner.js';
import { LoginDeniedError } from '../../src/core/errors.js';
import { FILTERS } from '../../src/pipeline/registry.js';

const log = pino({ level: 'silent' });
const request: AuthnRequest = { frontend: 'saml-idp', requester: 'https://sp.example.org', forceAuthn: false, isPassive: false, idpHints: [], frontendState: {} };
const identity: Identity = {
  issuer: 'https://idp.example.org',
  protocol: 'saml',
  subject: { id: 'abc' },
  attributes: { mail: ['a@example.org'], uid: ['alice'], sshPublicKey: ['ssh-ed25519 AAAA'], cn: ['Alice'] },
  authn: { instant: '2026-11-23T10:00:00Z', contextClassRefs: [] },
};

t.test('an empty pipeline passes the identity through unchanged', async (t) => {
  t.same(await new Pipeline([], log).run(identity, request), identity);
});

t.test('map-attributes renames, merges, drops and keeps, in the configured order', async (t) => {
  const config = parseConfig({
    pipeline: [
      { filter: 'map-attributes', rename: { cn: 'displayName', uid: 'mail' } },
      { filter: 'map-attributes', drop: ['sshPublicKey'] },
    ],
  });
  const out = await new Pipeline(config.pipeline, log).run(identity, request);
  t.same(out.attributes, { mail: ['a@example.org', 'alice'], displayName: ['Alice'] });
  t.same(identity.attributes.uid, ['alice'], 'the input identity is not modified');

  const keepOnly = parseConfig({ pipeline: [{ filter: 'map-attributes', keep: ['mail'] }] });
  t.same((await new Pipeline(keepOnly.pipeline, log).run(identity, request)).attributes, { mail: ['a@example.org'] });
});

t.test('a filter that denies stops the pipeline with its typed error', async (t) => {
  const deny = { filter: 'deny-all-for-test', options: {} };
  (FILTERS as Map<string, unknown>).set('deny-all-for-test', {
    name: 'deny-all-for-test',
    description: 'test only',
    options: {},
    create: () => () => {
      throw new LoginDeniedError('test denial', 'You may not use this service.');
    },
  });
  t.teardown(() => (FILTERS as Map<string, unknown>).delete('deny-all-for-test'));
  await t.rejects(new Pipeline([deny], log).run(identity, request), LoginDeniedError);
});
