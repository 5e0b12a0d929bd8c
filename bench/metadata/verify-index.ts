/**
 * Verify + index of the aggregate, beside xmlsec1 alone on the same file with the same flags.
 * fedgate runs in a fresh process per run (compiled dist/, as `fedgate serve` loads metadata at
 * start), so its peak RSS is that process's own maxRSS, worker thread included.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MetadataSourceConfig } from '../../src/config/schema.js';
import { XMLSEC1, xmlsecVerifyArguments } from '../../src/metadata/xmlsec.js';
import { REPO_ROOT } from '../lib/fedgate-process.js';
import { median } from '../lib/stats.js';

export interface VerifyIndexResult {
  runs: number;
  /** xmlsec1 --verify alone, wall ms of each run. */
  xmlsecMs: number[];
  /** EntityIndex.load in a fresh process, wall ms of each run. */
  fedgateMs: number[];
  /** maxRSS of each fedgate process, MiB. */
  fedgateMaxRssMiB: number[];
  entities: number;
  xmlsecMedianMs: number;
  fedgateMedianMs: number;
  /** fedgate median / xmlsec1 median. */
  ratio: number;
  peakRssMiB: number;
}

function run(command: string, args: string[]): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} failed: ${stderr.trim().split('\n').slice(-5).join(' | ') || err.message}`));
      else resolve({ ms: performance.now() - started, stdout });
    });
  });
}

/** What the child process runs: EntityIndex.load of one signed file source, timed from inside. */
function loadScript(source: MetadataSourceConfig): string {
  const entityIndex = pathToFileURL(join(REPO_ROOT, 'dist', 'metadata', 'entity-index.js')).href;
  return `
import { EntityIndex } from ${JSON.stringify(entityIndex)};
const warnings = [];
const log = { info() {}, warn: (obj, msg) => void warnings.push(msg) };
const started = performance.now();
const index = await EntityIndex.load([${JSON.stringify(source)}], { log });
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ ms, entities: index.all().length, maxRssKiB: process.resourceUsage().maxRSS, warnings: warnings.slice(0, 5) }));
`;
}

export async function measureVerifyIndex(file: string, signingCert: string, runs: number, log: (line: string) => void): Promise<VerifyIndexResult> {
  const xmlsecArgs = xmlsecVerifyArguments(file, signingCert, 'EntitiesDescriptor');
  const source: MetadataSourceConfig = { metadata: file, signingCert, refreshSeconds: 3600, retrySeconds: 60, timeoutSeconds: 120, maxValidityDays: 28 };
  const script = loadScript(source);
  const result: VerifyIndexResult = {
    runs,
    xmlsecMs: [],
    fedgateMs: [],
    fedgateMaxRssMiB: [],
    entities: 0,
    xmlsecMedianMs: 0,
    fedgateMedianMs: 0,
    ratio: 0,
    peakRssMiB: 0,
  };
  // Interleaved, so a change in the machine's load hits both alike.
  for (let i = 0; i < runs; i++) {
    result.xmlsecMs.push((await run(XMLSEC1, xmlsecArgs)).ms);
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
    const child = JSON.parse(stdout) as { ms: number; entities: number; maxRssKiB: number; warnings: string[] };
    if (child.warnings.length > 0) log(`  fedgate warned: ${child.warnings.join(' | ')}`);
    result.fedgateMs.push(child.ms);
    result.fedgateMaxRssMiB.push(child.maxRssKiB / 1024);
    result.entities = child.entities;
    log(`  run ${i + 1}/${runs}: xmlsec1 ${Math.round(result.xmlsecMs.at(-1)!)} ms; fedgate ${Math.round(child.ms)} ms, ${child.entities} entities, maxRSS ${Math.round(child.maxRssKiB / 1024)} MiB`);
  }
  result.xmlsecMedianMs = median(result.xmlsecMs);
  result.fedgateMedianMs = median(result.fedgateMs);
  result.ratio = result.fedgateMedianMs / result.xmlsecMedianMs;
  result.peakRssMiB = Math.max(...result.fedgateMaxRssMiB);
  return result;
}
