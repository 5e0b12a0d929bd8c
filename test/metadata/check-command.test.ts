import { execFile } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { sha256Fingerprint } from '../../src/crypto/keys.js';
import { runMetadataCommand } from '../../src/metadata/check-command.js';
import { aggregate, generateKeyPair, idpEntity, signRoot, spEntity } from '../fixtures/metadata/build.js';
import { signWithXmlsec, syntheticAggregate } from '../fixtures/metadata/generate.js';
import { startMetadataServer } from '../fixtures/metadata/server.js';

// Each child process compiles the TypeScript sources afresh: several seconds per run.
t.setTimeout(180_000);

const [federation, other, entity] = await Promise.all([generateKeyPair('federation'), generateKeyPair('other'), generateKeyPair('entity')]);
const small = signRoot(
  aggregate([
    idpEntity({ certPem: entity.certPem }),
    spEntity({ certPem: entity.certPem, acsLocation: 'http://plain.example.org/acs' }),
  ]),
  federation.keyPem,
  federation.certPem,
);
const dir = t.testdir({
  'small.xml': small,
  'tampered.xml': small.replace('https://idp.example.org/sso/redirect', 'https://evil.example/sso'),
  'federation.crt': federation.certPem,
  'other.crt': other.certPem,
});

const loader = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href;
/** The CLI as an operator runs it, in a child process; stderr is a pipe, so no progress line. */
const cli = (...args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    const code = `import { run } from './src/main.ts'; run(${JSON.stringify(['metadata', ...args])});`;
    execFile(process.execPath, ['--import', loader, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

t.test('a valid signed file is summarised, problems included', async (t) => {
  const res = await cli('check', join(dir, 'small.xml'), '--cert', join(dir, 'federation.crt'));
  t.equal(res.status, 0, res.stderr);
  t.match(res.stdout, /signature valid/);
  t.match(res.stdout, /entities: 2 \(IdPs 1, SPs 1\)/);
  t.match(res.stdout, /IdPs with mdui:DisplayName: 1, without: 0/);
  t.match(res.stdout, /registration authorities \(top 10 of 2\):\n\s+1 {2}\(none\)\n\s+1 {2}http:\/\/www\.swamid\.se\//);
  t.match(res.stdout, /problems: 1\n\s+https:\/\/sp\.example\.org\/shibboleth: HTTP-only endpoint http:\/\/plain\.example\.org\/acs/);
});

t.test('an invalid document exits 1', async (t) => {
  const tampered = await cli('check', join(dir, 'tampered.xml'), '--cert', join(dir, 'federation.crt'));
  t.equal(tampered.status, 1);
  t.match(tampered.stderr, /INVALID: metadata signature: .*digest/);
  // In-process from here: spawning a TypeScript child per case is slow.
  const io = capture();
  t.equal(await runMetadataCommand(['check', join(dir, 'small.xml'), '--cert', join(dir, 'other.crt')], io), 1);
  t.match(io.err.join(''), /INVALID: metadata signature: /);
});

t.test('usage errors exit 2', async (t) => {
  const cases = [
    [],
    ['verify', join(dir, 'small.xml')],
    ['check'],
    ['check', join(dir, 'small.xml'), '--cert', join(dir, 'federation.crt'), '--fingerprint', 'ab'],
    ['check', 'https://fed.example.org/md.xml'],
    ['check', join(dir, 'small.xml'), '--fingerprint', 'nothex'],
    ['check', join(dir, 'small.xml'), '--cert', join(dir, 'missing.crt')],
    ['check', join(dir, 'small.xml'), '--bogus'],
  ];
  for (const args of cases) {
    const io = capture();
    t.equal(await runMetadataCommand(args, io), 2, args.join(' '));
    t.match(io.err.join(''), /Usage: fedgate metadata check/);
  }
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), progress: false };
}

t.test('a large aggregate over HTTP, pinned by fingerprint, goes through xmlsec1', async (t) => {
  const id = 'agg1';
  const large = await signWithXmlsec(syntheticAggregate(400, entity.certPem, { id }), id, federation.keyPem, federation.certPem);
  t.ok(large.length > 1024 * 1024);
  const server = await startMetadataServer();
  t.teardown(() => server.close());
  server.publish(large, { etag: '"1"' });
  const good = await cli('check', server.url, '--fingerprint', sha256Fingerprint(federation.certPem));
  t.equal(good.status, 0, good.stderr);
  t.match(good.stdout, /entities: 400 \(IdPs 200, SPs 200\)/);
  const io = capture();
  t.equal(await runMetadataCommand(['check', server.url, '--fingerprint', sha256Fingerprint(other.certPem)], io), 1);
  t.match(io.err.join(''), /fingerprint/);
});
