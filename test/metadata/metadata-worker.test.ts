/**
 * The metadata worker reads a large document a window at a time from the main thread, in pieces
 * that keep ASCII text apart from the rest, and hands the records back in batches: what it finds
 * must be exactly what one in-process pass over the whole text finds, whatever falls on a window's
 * edge.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { parseInWorker, WINDOW_BYTES } from '../../src/metadata/metadata-worker.js';
import { parseMetadata } from '../../src/metadata/parse.js';
import { BACKGROUND_NICENESS } from '../../src/metadata/xmlsec.js';
import { edugainLikeAggregate } from '../fixtures/metadata/generate.js';

// The worker compiles its TypeScript sources on first start under the test loader.
t.setTimeout(120_000);

const now = new Date();
const keys = await Promise.all([generateKeyPair('entity a'), generateKeyPair('entity b')]);
const { xml } = edugainLikeAggregate({ idps: 300, sps: 60, seed: 11 }, keys.map((k) => k.certPem), { id: 'w1', validUntil: new Date(Date.now() + 86400_000) });
const bytes = Buffer.from(xml);

/** `xml` with padding after the root's start tag, so that a character of `size` UTF-8 bytes starts `before` bytes ahead of the first window's end. */
function straddling(size: 2 | 3, before: number): Buffer {
  const lead = size === 2 ? 0xc0 : 0xe0;
  const mask = size === 2 ? 0xe0 : 0xf0;
  let offset = -1;
  for (let i = WINDOW_BYTES - 200; i > 0; i--) {
    if ((bytes[i]! & mask) === lead) {
      offset = i;
      break;
    }
  }
  const rootEnd = bytes.indexOf('>', bytes.indexOf('<md:EntitiesDescriptor')) + 1;
  const padding = WINDOW_BYTES - before - offset - '<!---->'.length;
  if (offset < 0 || padding < 0) throw new Error('no such character to move onto the window edge');
  return Buffer.concat([bytes.subarray(0, rootEnd), Buffer.from(`<!--${' '.repeat(padding)}-->`), bytes.subarray(rootEnd)]);
}

t.test('the records are those of one pass over the whole text, characters split by a window edge included', async (t) => {
  t.ok(bytes.length > 2 * WINDOW_BYTES, 'several windows');
  t.ok(/[\u0370-\u03ff\u0400-\u04ff\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af\u0600-\u06ff\u0590-\u05ff]/.test(xml), 'names beyond Latin-1');
  const expected = parseMetadata(xml, 'test').records;
  t.equal(expected.length, 360);
  for (const [size, before] of [[2, 1], [3, 1], [3, 2]] as const) {
    const document = straddling(size, before);
    t.ok(document[WINDOW_BYTES - before]! >= 0xc0 && document[WINDOW_BYTES]! >= 0x80 && document[WINDOW_BYTES]! < 0xc0, `a ${size}-byte character starts ${before} byte(s) before the edge`);
    const { parsed } = await parseInWorker(document, 'test', now, { inspect: false }).parsed;
    t.same(parsed.records, expected);
  }
});

t.test('text that is not UTF-8 is refused, in a window or across an edge', async (t) => {
  const broken = Buffer.from(bytes);
  broken[Math.floor(1.5 * WINDOW_BYTES)] = 0xff;
  await t.rejects(parseInWorker(broken, 'test', now, { inspect: false }).parsed, { name: 'InvalidMetadataError', message: /not UTF-8/ });

  const cut = straddling(3, 1);
  cut[WINDOW_BYTES] = 0x41; // the character's second byte replaced by an ASCII letter
  await t.rejects(parseInWorker(cut, 'test', now, { inspect: false }).parsed, { name: 'InvalidMetadataError', message: /not UTF-8/ });
});

t.test('an unsigned document is refused when the worker inspects the signature', async (t) => {
  const job = parseInWorker(bytes, 'test', now, { inspect: true });
  await t.rejects(job.shape, { name: 'InvalidMetadataError', message: /not signed/ });
  await t.rejects(job.parsed, { name: 'InvalidMetadataError', message: /not signed/ });
});

t.test('a cancelled job ends and the next one runs', async (t) => {
  const first = parseInWorker(bytes, 'test', now, { inspect: false });
  first.cancel();
  await t.rejects(first.parsed, { name: 'MetadataUnavailableError', message: /cancelled/ });
  const { parsed } = await parseInWorker(bytes, 'test', now, { inspect: false }).parsed;
  t.equal(parsed.records.length, 360);
});

/** Nice values of this process's threads, from /proc/self/task/<id>/stat (field 19). */
function threadNiceness(): number[] {
  return readdirSync('/proc/self/task').map((id) => {
    const stat = readFileSync(`/proc/self/task/${id}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
  });
}

t.test('a low-priority job (a refresh) runs in its own worker thread at a lower CPU priority', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const usual = getPriority();
  t.ok(usual < BACKGROUND_NICENESS, 'this test runs at a higher priority than background work');
  t.notOk(threadNiceness().includes(BACKGROUND_NICENESS), 'no thread at low priority yet');
  const { parsed } = await parseInWorker(bytes, 'test', now, { inspect: false, lowPriority: true }).parsed;
  t.equal(parsed.records.length, 360);
  const after = threadNiceness();
  t.equal(after.filter((n) => n === BACKGROUND_NICENESS).length, 1, 'one thread lowered');
  t.equal(after[0], usual, 'the main thread keeps its priority');
  const again = await parseInWorker(bytes, 'test', now, { inspect: false }).parsed;
  t.equal(again.parsed.records.length, 360, 'a start-up job still runs');
  t.equal(threadNiceness().filter((n) => n === BACKGROUND_NICENESS).length, 1);
});

t.test('the worker starts when node was given options a worker thread refuses', async (t) => {
  const dir = t.testdir({ 'doc.xml': xml });
  const loader = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href;
  const module = new URL('../../src/metadata/metadata-worker.ts', import.meta.url).href;
  // A file, not -e code: --input-type would be filtered out of the worker's options otherwise.
  const script = join(dir, 'run.mjs');
  writeFileSync(
    script,
    `import { readFileSync } from 'node:fs';
import { parseInWorker } from ${JSON.stringify(module)};
const { parsed } = await parseInWorker(readFileSync(${JSON.stringify(join(dir, 'doc.xml'))}), 'test', new Date(), { inspect: false }).parsed;
process.stdout.write(String(parsed.records.length));`,
  );
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--max-old-space-size=512', '--import', loader, script], { encoding: 'utf8', timeout: 90_000 }, (err, out, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out),
    ),
  );
  t.equal(stdout, '360');
});
