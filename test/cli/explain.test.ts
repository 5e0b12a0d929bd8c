import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { generateKeyPair, SP_ID, spEntity } from '../fixtures/metadata/build.js';

// Each run loads the whole server through the TypeScript loader: seconds each on a busy machine.
t.setTimeout(180_000);

const dir = mkdtempSync(join(tmpdir(), 'fedgate-explain-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const IDP = 'https://idp.example.org/idp/shibboleth';
const loader = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href;

/** `fedgate <args>` as a separate process, the way an operator runs it. */
function fedgate(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const script = `import { run } from './src/main.ts'; run(${JSON.stringify(args)});`;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', loader, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 }, (_err, stdout, stderr) =>
      resolve({ status: child.exitCode, stdout, stderr }),
    );
  });
}

t.test('fedgate explain shows what each filter did and why, and what leaves', async (t) => {
  // The SP is tagged R&S and requests mail (required) and displayName (fixtures/metadata/build.ts).
  const sp = write('sp.xml', `<?xml version="1.0"?>\n${spEntity({ certPem: (await generateKeyPair('sp')).certPem, declareNs: true })}`);
  const config = write(
    'fedgate.yaml',
    [
      `dataDir: ${JSON.stringify(join(dir, 'data'))}`,
      'logging: { level: silent }',
      'frontends:',
      '  saml:',
      `    sps: [{ metadata: ${JSON.stringify(sp)} }]`,
      'pipeline:',
      '  - filter: map-attributes',
      '    drop: [sshPublicKey]',
      '  - filter: rands',
      '  - filter: release-policy',
      '    default:',
      '      allow: [uid]',
      '',
    ].join('\n'),
  );
  const identity = write(
    'alice.json',
    JSON.stringify({
      issuer: IDP,
      attributes: {
        eduPersonPrincipalName: 'alice@example.org',
        givenName: 'Alice',
        sn: 'Andersson',
        'urn:oid:0.9.2342.19200300.100.1.3': 'alice@example.org',
        sshPublicKey: 'ssh-ed25519 AAAA',
        eduPersonEntitlement: ['urn:geant:example.org:group:vo1#proxy.example.org'],
      },
    }),
  );

  // The first run generates the keys into dataDir; the others then only read them.
  const text = await fedgate(['explain', '--config', config, '--service', SP_ID, identity]);
  const [json, unknown] = await Promise.all([
    fedgate(['explain', '--config', config, '--service', SP_ID, '--json', identity]),
    fedgate(['explain', '--config', config, '--service', 'https://unknown.example.org/sp', identity]),
  ]);

  t.equal(text.status, 0, text.stderr);
  const lines = text.stdout.split('\n');
  const line = (pattern: RegExp) => lines.find((l) => pattern.test(l)) ?? `(no line matches ${pattern})`;
  t.match(line(/^  service /), `${SP_ID}  "Example Wiki"  (saml)`);
  t.match(line(/^  requests /), 'mail*, displayName');
  t.match(line(/^  upstream /), 'not a configured upstream');
  t.match(line(/^    - sshPublicKey/), /- sshPublicKey = ssh-ed25519 AAAA$/, 'dropped by map-attributes, which gives no reason');
  t.match(line(/^    \+ displayName/), /\+ displayName = Alice Andersson\s{3,}\(rands: from givenName \+ sn\)$/);
  t.match(
    line(/^    - eduPersonPrincipalName/),
    /= alice@example\.org\s{3,}\(release-policy: allowed by R&S bundle, but not among the RequestedAttributes in the service's metadata\)$/,
  );
  t.match(line(/^    - eduPersonEntitlement/), /\(release-policy: not requested by the service and no rule allows it\)$/);
  t.match(line(/^    · policy: /), 'rule default; R&S bundle; requested: mail, displayName');
  const released = text.stdout.slice(text.stdout.indexOf(`Released to ${SP_ID}: 2 attributes`));
  t.match(released, /\n {4}mail {8}= alice@example\.org {3}\(release-policy: released by R&S bundle\)\n/, 'the SAML name was read as mail; columns aligned');
  t.match(released, /\n {4}displayName = Alice Andersson {5}\(release-policy: released by R&S bundle\)\n/);
  t.notMatch(released, /givenName|eduPersonPrincipalName/);

  t.equal(json.status, 0, json.stderr);
  const trace = JSON.parse(json.stdout) as { service: string; steps: { filter: string; removed: Record<string, string[]> }[]; released: Record<string, string[]> };
  t.equal(trace.service, SP_ID);
  t.same(trace.steps.map((s) => s.filter), ['map-attributes', 'rands', 'release-policy']);
  t.same(trace.steps[2]?.removed.eduPersonPrincipalName, ['alice@example.org']);
  t.same(trace.released, { mail: ['alice@example.org'], displayName: ['Alice Andersson'] });

  t.equal(unknown.status, 2);
  t.equal(unknown.stdout, '');
  // Libraries may warn on stderr too (oidc-provider about the Node version): look at fedgate's own lines.
  const errors = unknown.stderr.split('\n').filter((l) => l.startsWith('fedgate:'));
  t.equal(errors.length, 1, 'one line');
  t.match(errors[0], /^fedgate: unknown service "https:\/\/unknown\.example\.org\/sp": --service takes an SP entityID from the metadata in frontends\.saml\.sps/);
  t.match(errors[0], `known: ${SP_ID}`);
  t.notMatch(unknown.stderr, /\n\s+at /, 'no stack trace');
});
