/**
 * The eduGAIN-sized signed aggregate the metadata benchmark measures, in two variants that differ
 * only in their ID (so a refresh always gets a changed, fully verified document). Generating and
 * signing takes some 20 s, so both are kept in a temporary folder keyed by the federation's shape
 * and the generator's source, and reused while their validUntil lies far enough ahead.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { edugainLikeAggregate, signWithXmlsec, type FederationEntity, type FederationShape } from '../../test/fixtures/metadata/generate.js';
import { REPO_ROOT } from '../lib/fedgate-process.js';

export interface Federation {
  shape: FederationShape;
  /** Signed aggregate files: the same entities under two root IDs. */
  variants: [string, string];
  /** PEM certificate of the federation's signing key (what a source's signingCert pins). */
  signingCert: string;
  bytes: number;
  entities: FederationEntity[];
  validUntil: Date;
  /** Reused from an earlier run rather than generated now. */
  cached: boolean;
}

const DAY_MS = 24 * 3600_000;
/** Signed for this long; a cached copy is made anew when less than MIN_REMAINING is left. */
const VALIDITY_MS = 14 * DAY_MS;
const MIN_REMAINING_MS = 3 * DAY_MS;
const ENTITY_CERTS = 8;
const GENERATOR_SOURCES = ['test/fixtures/metadata/generate.ts', 'test/fixtures/metadata/names.ts', 'test/fixtures/metadata/build.ts'];

interface Meta {
  validUntil: string;
  bytes: number;
}

function cacheKey(shape: FederationShape): string {
  const hash = createHash('sha256').update(JSON.stringify(shape));
  for (const file of GENERATOR_SOURCES) hash.update(readFileSync(join(REPO_ROOT, file)));
  return hash.digest('hex').slice(0, 16);
}

export async function federation(shape: FederationShape, log: (line: string) => void): Promise<Federation> {
  const dir = join(tmpdir(), 'bench-cache-fedgate-metadata', cacheKey(shape));
  const files = {
    variants: [join(dir, 'aggregate-a.xml'), join(dir, 'aggregate-b.xml')] as [string, string],
    signingCert: join(dir, 'federation.crt'),
    entities: join(dir, 'entities.json'),
    meta: join(dir, 'meta.json'),
  };
  if (existsSync(files.meta)) {
    const meta = JSON.parse(readFileSync(files.meta, 'utf8')) as Meta;
    const validUntil = new Date(meta.validUntil);
    if (validUntil.getTime() - Date.now() > MIN_REMAINING_MS) {
      const entities = JSON.parse(readFileSync(files.entities, 'utf8')) as FederationEntity[];
      return { shape, variants: files.variants, signingCert: files.signingCert, bytes: meta.bytes, entities, validUntil, cached: true };
    }
  }

  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  log(`generating a federation of ${shape.idps} IdPs and ${shape.sps} SPs into ${dir} (once; later runs reuse it)`);
  const [signer, ...certs] = await Promise.all(Array.from({ length: 1 + ENTITY_CERTS }, (_, i) => generateKeyPair(i === 0 ? 'bench federation signer' : `bench entity ${i}`)));
  const validUntil = new Date(Date.now() + VALIDITY_MS);
  const ids = ['edugain-bench-a', 'edugain-bench-b'];
  const { xml, entities } = edugainLikeAggregate(shape, certs.map((c) => c.certPem), { id: ids[0]!, validUntil });
  let bytes = 0;
  for (const [i, path] of files.variants.entries()) {
    // The root's ID is the first one in the document.
    const signed = await signWithXmlsec(xml.replace(`ID="${ids[0]}"`, `ID="${ids[i]}"`), ids[i]!, signer!.keyPem, signer!.certPem);
    writeFileSync(path, signed);
    bytes = Buffer.byteLength(signed);
  }
  writeFileSync(files.signingCert, signer!.certPem);
  writeFileSync(files.entities, JSON.stringify(entities));
  // meta.json last, so an interrupted generation is never taken for a finished one.
  writeFileSync(`${files.meta}.partial`, JSON.stringify({ validUntil: validUntil.toISOString(), bytes } satisfies Meta));
  renameSync(`${files.meta}.partial`, files.meta);
  log(`generated and signed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { shape, variants: files.variants, signingCert: files.signingCert, bytes, entities, validUntil, cached: false };
}
