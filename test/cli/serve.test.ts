/**
 * `fedgate serve` as an operator runs it: a SIGHUP fetches every metadata URL at once instead of
 * at its next refresh, and the process serves on.
 */
import t from 'tap';
import { aggregate, generateKeyPair, idpEntity, signRoot } from '../fixtures/metadata/build.js';
import { startMetadataServer } from '../fixtures/metadata/server.js';
import { eventually } from '../helpers/eventually.js';
import { spawnFedgate, writeConfig } from '../helpers/fedgate-process.js';
import { tempDir, writeMetadata } from '../helpers/fedgate.js';
import { freePort } from '../helpers/ports.js';

// The child compiles the TypeScript sources on start.
t.setTimeout(120_000);

const [federation, entity] = await Promise.all([generateKeyPair('federation'), generateKeyPair('entity')]);
const published = (name: string) =>
  signRoot(aggregate([idpEntity({ entityId: `https://idp.${name}.example/idp`, certPem: entity.certPem })], { id: name }), federation.keyPem, federation.certPem);

t.test('SIGHUP refreshes the metadata URLs now', async (t) => {
  const server = await startMetadataServer();
  t.teardown(() => server.close());
  server.publish(published('first'), { etag: '"1"' });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const files = tempDir();
  const config = {
    server: { port },
    dataDir: tempDir(),
    backends: { saml: { idps: [{ metadata: server.url, signingCert: writeMetadata(files, 'federation.pem', federation.certPem), refreshSeconds: 3600 }] } },
  };
  const fedgate = spawnFedgate(['serve', '--config', writeConfig(files, config)]);
  t.teardown(() => fedgate.kill('SIGKILL'));
  await fedgate.ready(url);
  const idps = async () => ((await (await fetch(`${url}/discovery/search?q=idp`)).json()) as { results: { id: string }[] }).results.map((r) => r.id);
  t.same(await idps(), ['https://idp.first.example/idp']);

  server.publish(published('second'), { etag: '"2"' });
  fedgate.child.kill('SIGHUP');
  await eventually(20_000, async () => {
    const now = await idps();
    if (now[0] !== 'https://idp.second.example/idp') throw new Error(`still ${now.join(', ')}`);
  });
  t.same(await idps(), ['https://idp.second.example/idp']);
  t.equal(server.requests.length, 2, 'one fetch at start, one on SIGHUP');
  t.equal(fedgate.child.exitCode, null, 'still serving');
});
