import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'fedgate-config-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('an empty file gives a complete configuration of defaults', async (t) => {
  const config = parseConfig({});
  t.equal(config.server.baseUrl, 'http://127.0.0.1:8080');
  t.equal(config.server.port, 8080);
  t.same(config.store, { type: 'memory' });
  t.equal(config.saml.clockSkewSeconds, 180);
  t.equal(config.session.flowTtlSeconds, 900);
  t.same(config.pipeline, []);
  t.equal(config.demo.enabled, false);
});

t.test('the shipped default configuration is valid and runs the demo', async (t) => {
  const config = loadConfig('config/fedgate.yaml');
  t.equal(config.demo.enabled, true);
  t.ok(config.demo.idps.length >= 2, 'two demo IdPs, so the discovery page shows');
  t.equal(config.store.type, 'memory');
});

t.test('every problem is one line naming its key path', async (t) => {
  const problems = problemsOf(() =>
    parseConfig({
      server: { port: 'eighty', colour: 'blue' },
      store: { type: 'redis', url: 'http://127.0.0.1:6379' },
      backends: { saml: { idps: [{ metadata: join(dir, 'absent.xml') }, { metadata: 'https://md.example.org/agg.xml' }] } },
      frontends: { saml: { sps: [{ metadata: join(dir, 'absent-sp.xml'), nameIdFormats: ['email'] }] } },
      pipeline: [{ filter: 'no-such-filter' }, { filter: 'map-attributes', drop: 'mail' }],
    }),
  );
  for (const expected of [
    /^server\.port: /,
    /^server: unknown key: colour$/,
    /^store\.url: must be a redis:\/\/ or rediss:\/\/ URL$/,
    /^backends\.saml\.idps\[0\]\.metadata: file not found: .*absent\.xml$/,
    /^backends\.saml\.idps\[1\]\.signingCert: metadata fetched from a URL must be signed/,
    /^frontends\.saml\.sps\[0\]\.metadata: file not found/,
    /^frontends\.saml\.sps\[0\]\.nameIdFormats\[0\]: /,
    /^pipeline\[0\]\.filter: unknown filter "no-such-filter"/,
    /^pipeline\[1\]\.drop: /,
  ]) {
    t.ok(problems.some((p) => expected.test(p)), `reports ${expected}`);
  }
});

t.test('the login cookie: fedgate_login by default, a plain name other than the session cookie’s', async (t) => {
  t.equal(parseConfig({}).session.loginCookieName, 'fedgate_login');
  t.same(problemsOf(() => parseConfig({ session: { loginCookieName: 'fedgate_session' } })), ['session.loginCookieName: must differ from session.cookieName']);
  // fedgate adds __Host- itself when cookies are Secure.
  t.match(problemsOf(() => parseConfig({ session: { loginCookieName: '__Host-login' } })), [/^session\.loginCookieName: must be a letter followed by/]);
});

t.test('secrets come from environment variables or files', async (t) => {
  const secretFile = write('salt.txt', 'from-a-file\n');
  process.env.FEDGATE_TEST_SALT = 'from-env';
  t.equal(parseConfig({ secrets: { identifierSalt: { env: 'FEDGATE_TEST_SALT' } } }).secrets.identifierSalt, 'from-env');
  t.equal(parseConfig({ secrets: { identifierSalt: { file: secretFile } } }).secrets.identifierSalt, 'from-a-file');
  delete process.env.FEDGATE_TEST_SALT;
  t.match(problemsOf(() => parseConfig({ secrets: { identifierSalt: { env: 'FEDGATE_TEST_SALT' } } })), [
    'secrets.identifierSalt: environment variable FEDGATE_TEST_SALT is not set',
  ]);
});

t.test('YAML syntax errors and missing files are reported, not thrown raw', async (t) => {
  t.match(problemsOf(() => loadConfig(join(dir, 'nope.yaml'))), [/nope\.yaml: configuration file not found/]);
  t.match(problemsOf(() => loadConfig(write('bad.yaml', 'server: [unclosed\n'))), [/bad\.yaml: YAML syntax: /]);
});

t.test('fedgate check-config prints one line per problem and exits non-zero', async (t) => {
  const broken = write('broken.yaml', `server:\n  port: -1\nbackends:\n  saml:\n    idps:\n      - metadata: metadata/x.xml\n`);
  const loader = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href;
  const run = (file: string) =>
    spawnSync(process.execPath, ['--import', loader, '--input-type=module', '-e', `import { run } from './src/main.ts'; run(['check-config', '--config', ${JSON.stringify(file)}]);`], {
      encoding: 'utf8',
      timeout: 20_000,
    });
  const bad = run(broken);
  t.equal(bad.status, 2, 'exit status 2');
  t.match(bad.stderr, /server\.port: /);
  t.match(bad.stderr, /backends\.saml\.idps\[0\]\.metadata: file not found: metadata\/x\.xml/);
  const good = run('config/fedgate.yaml');
  t.equal(good.status, 0, good.stderr);
  t.match(good.stdout, /configuration is valid/);
});
