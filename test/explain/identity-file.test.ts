import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { UsageError } from '../../src/core/errors.js';
import { PLACEHOLDER_SUBJECT, readIdentityFile, toIdentity } from '../../src/explain/identity-file.js';

const dir = mkdtempSync(join(tmpdir(), 'fedgate-identity-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

t.test('the short form is filled in; SAML names become internal names', async (t) => {
  const file = readIdentityFile(write('short.json', JSON.stringify({ issuer: 'https://idp.example.org', attributes: { 'urn:oid:0.9.2342.19200300.100.1.3': 'a@example.org', mail: ['b@example.org'], uid: 'alice' } })));
  const identity = toIdentity(file, 'https://idp.example.org', undefined);
  t.same(identity.attributes, { mail: ['a@example.org', 'b@example.org'], uid: ['alice'] });
  t.equal(identity.protocol, 'saml');
  t.same(identity.subject, { id: PLACEHOLDER_SUBJECT });
  t.same(identity.authn.contextClassRefs, []);
  t.ok(Date.parse(identity.authn.instant) > 0);
});

t.test('a full Identity is taken as it is', async (t) => {
  const full = {
    issuer: 'https://accounts.google.com',
    protocol: 'oidc',
    subject: { id: '1234' },
    attributes: { mail: ['a@gmail.com'] },
    authn: { instant: '2026-11-23T10:00:00Z', contextClassRefs: ['https://refeds.org/profile/mfa'] },
  };
  t.same(toIdentity(readIdentityFile(write('full.json', JSON.stringify(full))), full.issuer, undefined), full);
});

t.test('an unusable file is a one-line usage error', async (t) => {
  t.throws(() => readIdentityFile(join(dir, 'absent.json')), new UsageError(`${join(dir, 'absent.json')}: identity file not found`));
  t.throws(() => readIdentityFile(write('bad.json', '{ "issuer": ')), { name: 'UsageError', message: /bad\.json: not JSON: / });
  t.throws(() => readIdentityFile(write('wrong.json', JSON.stringify({ attributes: { mail: 3 }, colour: 'blue' }))), {
    name: 'UsageError',
    message: /wrong\.json: not an identity: .*attributes\.mail: .*/,
  });
});
