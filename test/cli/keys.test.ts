/** The `fedgate keys` command as an operator runs it. */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../helpers/fedgate.js';

t.test('fedgate keys --out writes both key pairs and refuses to overwrite them', async (t) => {
  const out = join(tempDir('fedgate-keys-'), 'keys');
  const loader = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href;
  const keys = () =>
    spawnSync(process.execPath, ['--import', loader, '--input-type=module', '-e', `import { run } from './src/main.ts'; run(['keys', '--out', ${JSON.stringify(out)}]);`], {
      encoding: 'utf8',
      timeout: 20_000,
    });

  const first = keys();
  t.equal(first.status, 0, first.stderr);
  for (const name of ['signing', 'encryption']) {
    const key = readFileSync(join(out, `${name}.key`), 'utf8');
    t.match(key, /^-----BEGIN PRIVATE KEY-----\n/, `${name}.key is a PEM private key`);
    t.equal(statSync(join(out, `${name}.key`)).mode & 0o777, 0o600, `${name}.key is readable by its owner only`);
    t.match(readFileSync(join(out, `${name}.crt`), 'utf8'), /^-----BEGIN CERTIFICATE-----\n/, `${name}.crt is a PEM certificate`);
  }
  const signingKey = readFileSync(join(out, 'signing.key'), 'utf8');

  const second = keys();
  t.equal(second.status, 2, 'a second run fails with status 2');
  t.match(second.stderr, /signing\.key already exists; refusing to overwrite it/);
  t.equal(readFileSync(join(out, 'signing.key'), 'utf8'), signingKey, 'the existing key is untouched');
});
