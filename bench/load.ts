/**
 * The load benchmark (issue #7): complete logins per second, latency p50/p99 and fedgate's CPU
 * time per login for SAML→SAML, SAML→OIDC (code + token + userinfo) and social→SAML, driven
 * from this process over loopback against one fedgate process, beside the number of concurrent
 * users and this machine's RSA-2048 signing rate. Writes bench/results/load.json and load.md.
 *
 *   npm run bench -- load [--scenario saml-saml]… [--concurrency 4] [--duration 15] [--warmup 20] [--logins N]
 *                         [--store memory|redis] [--crypto lean|full] [--hint] [--cpu-prof DIR] [--out DIR]
 *
 * --crypto lean (the default) measures the deployment issue #7's targets describe: one RSA
 * signature per login (see bench/lib/peers.ts); full signs and encrypts everything, for information.
 */
import { cpus } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { measureRsaSigns, type CryptoBound } from './lib/crypto-bound.js';
import { measureHttpFloor, type HttpFloor } from './lib/http-floor.js';
import { REPO_ROOT, requireBuild, startFedgateProcess, writeConfig } from './lib/fedgate-process.js';
import { SCENARIO_NAMES, SCENARIOS, type Scenario } from './lib/logins.js';
import { measureScenario, type ScenarioResult } from './lib/measure.js';
import { CRYPTO_PROFILES, startBenchPeers, type CryptoProfile } from './lib/peers.js';
import { round } from './lib/stats.js';

/** fedgate CPU ms per login the issue sets; social→SAML has none (its cost is mostly the upstream's HTTP). */
const TARGET_CPU_MS: Partial<Record<Scenario, number>> = { 'saml-saml': 3, 'saml-oidc': 2 };

/**
 * RSA-2048 private-key operations fedgate must make per login: the floor no code can go below.
 * lean: sign the Response (SAML downstream) or the ID token (OIDC downstream), nothing upstream.
 * full: also sign the AuthnRequest and decrypt the assertion key upstream (SAML upstream), and
 * sign the assertion as well as the Response downstream (SAML downstream).
 */
const PRIVATE_KEY_OPS: Record<CryptoProfile, Record<Scenario, number>> = {
  lean: { 'saml-saml': 1, 'saml-oidc': 1, 'social-saml': 1 },
  full: { 'saml-saml': 4, 'saml-oidc': 3, 'social-saml': 2 },
};

const CRYPTO_DESCRIPTION: Record<CryptoProfile, string> = {
  lean: 'lean crypto (unsigned AuthnRequests upstream, IdP signs its Response without encrypting, fedgate signs only the Response or the ID token)',
  full: 'full crypto (signed AuthnRequests, IdP signs and encrypts, fedgate signs assertion and Response and encrypts to the SP)',
};

interface LoadResult extends ScenarioResult {
  name: string;
  targetCpuMs: number | null;
  pass: boolean | null;
  /** fedgate CPU per login expressed in RSA-2048 signatures of this machine. */
  cpuInRsaSigns: number;
  /** RSA private-key operations fedgate makes per login, and what they alone cost here. */
  privateKeyOps: number;
  cryptoFloorMs: number;
  /** The requests fedgate answered per login times a bare server's CPU per request, plus cryptoFloorMs. */
  floorMs: number;
}

interface LoadReport {
  date: string;
  machine: { cpus: number; model: string; node: string };
  store: 'memory' | 'redis';
  /** Which signatures and encryption the run used. */
  profile: CryptoProfile;
  hint: boolean;
  /** Measured before and after the scenarios (per CPU second); ratios use their mean. */
  crypto: { before: CryptoBound; after: CryptoBound; msPerSign: number };
  /** A bare Fastify server's CPU per loopback request under the same driver and concurrency. */
  http: HttpFloor;
  scenarios: LoadResult[];
}

function markdown(report: LoadReport): string {
  const lines = [
    `# fedgate load benchmark`,
    '',
    `${report.date} · ${report.machine.cpus} × ${report.machine.model} · Node ${report.machine.node} · ${report.store} store · ` +
      `${report.hint ? 'upstream sent as idphint' : 'upstream chosen on the discovery page'} · ${CRYPTO_DESCRIPTION[report.profile]}`,
    '',
    `Crypto bound: **${round(1000 / report.crypto.msPerSign, 0)} RSA-2048 signs/s** per CPU second (${round(report.crypto.msPerSign, 3)} ms per signature, node:crypto; ` +
      `${round(report.crypto.before.rsa2048SignsPerSecond, 0)} before and ${round(report.crypto.after.rsa2048SignsPerSecond, 0)} after the scenarios; ` +
      `${round(report.crypto.before.wallSignsPerSecond, 0)} per wall-clock second before).`,
    `HTTP floor: **${round(report.http.msPerRequest, 3)} ms** of CPU per request to a bare Fastify server (no plugins, a 1.5 kB page) driven the same way.`,
    '',
    '| Scenario | Users | Logins | Logins/s | p50 ms | p99 ms | Errors | fedgate CPU ms/login | ≙ RSA signs | RSA floor ms | Requests/login | Floor ms | Target | Pass |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
    ...report.scenarios.map(
      (s) =>
        `| ${s.name} | ${s.concurrency} | ${s.logins} | ${round(s.loginsPerSecond, 1)} | ${round(s.p50Ms, 1)} | ${round(s.p99Ms, 1)} | ${s.errors} | ` +
        `${round(s.fedgateCpuMsPerLogin, 2)} | ${round(s.cpuInRsaSigns, 1)} | ${round(s.cryptoFloorMs, 2)} (${s.privateKeyOps}) | ${round(s.requestsPerLogin, 1)} | ${round(s.floorMs, 2)} | ` +
        `${s.targetCpuMs === null ? '—' : `≤ ${s.targetCpuMs} ms`} | ` +
        `${s.pass === null ? '—' : s.pass ? 'yes' : 'no'} |`,
    ),
    '',
    'fedgate CPU ms/login: user+system CPU of the fedgate process (/proc/<pid>/stat) during the measured phase, divided by the logins completed.',
    'RSA floor: the RSA-2048 private-key operations fedgate must make per login (in parentheses) times the CPU cost of one here.',
    'Floor: the HTTP requests fedgate answered per login times the HTTP floor, plus the RSA floor: what the protocol flow costs before any of fedgate\'s own work.',
    'Logins/s and latencies include the driver (browser, SP, IdP, RP in one process) sharing the machine with fedgate.',
  ];
  return `${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', multiple: true },
      concurrency: { type: 'string', default: '4' },
      duration: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '20' },
      logins: { type: 'string' },
      store: { type: 'string', default: 'memory' },
      crypto: { type: 'string', default: 'lean' },
      hint: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results') },
    },
  });
  const scenarios = (values.scenario ?? [...SCENARIOS]) as Scenario[];
  const unknown = scenarios.filter((s) => !SCENARIOS.includes(s));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  if (values.store !== 'memory' && values.store !== 'redis') throw new Error('--store is memory or redis');
  const crypto = values.crypto as CryptoProfile;
  if (!CRYPTO_PROFILES.includes(crypto)) throw new Error(`--crypto is ${CRYPTO_PROFILES.join(' or ')}`);
  const concurrency = Number(values.concurrency);
  const warmupSeconds = Number(values.warmup);
  if (!(warmupSeconds >= 0)) throw new Error('--warmup is a number of seconds (0 or more)');
  const durationMs = Number(values.duration) * 1000;
  const logins = values.logins === undefined ? undefined : Number(values.logins);
  requireBuild();

  const before = measureRsaSigns();
  process.stdout.write(`RSA-2048: ${round(before.rsa2048SignsPerSecond, 0)} signs per CPU second (${round(before.msPerSign, 3)} ms each)\n`);

  const http = await measureHttpFloor(concurrency);
  process.stdout.write(`HTTP floor: ${round(http.msPerRequest, 3)} ms CPU per request to a bare Fastify server\n`);
  process.stdout.write(`${CRYPTO_DESCRIPTION[crypto]}\n`);
  const peers = await startBenchPeers({ crypto, ...(values.store === 'redis' ? { redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } : {}) });
  const results: LoadResult[] = [];
  try {
    const configPath = writeConfig(peers.dir, peers.config());
    const fedgate = await startFedgateProcess(configPath, values['cpu-prof'] ? { cpuProfileDir: values['cpu-prof'] } : {});
    try {
      await peers.connect();
      for (const scenario of scenarios) {
        const measured = await measureScenario(peers, fedgate, { scenario, concurrency, durationMs, logins, hint: values.hint, warmupSeconds });
        const target = TARGET_CPU_MS[scenario] ?? null;
        const result: LoadResult = {
          name: SCENARIO_NAMES[scenario],
          ...measured,
          targetCpuMs: target,
          pass: target === null ? null : measured.errors === 0 && measured.fedgateCpuMsPerLogin <= target,
          cpuInRsaSigns: 0,
          privateKeyOps: PRIVATE_KEY_OPS[crypto][scenario],
          cryptoFloorMs: 0,
          floorMs: 0,
        };
        results.push(result);
        process.stdout.write(
          `${result.name}: ${result.logins} logins, ${round(result.loginsPerSecond, 1)}/s, p50 ${round(result.p50Ms, 1)} ms, p99 ${round(result.p99Ms, 1)} ms, ` +
            `${result.errors} errors, fedgate ${round(result.fedgateCpuMsPerLogin, 2)} ms CPU/login (${round(result.requestsPerLogin, 1)} requests, ` +
            `${result.privateKeyOps} RSA private-key operation${result.privateKeyOps === 1 ? '' : 's'})\n`,
        );
        for (const sample of result.errorSamples) process.stdout.write(`  error: ${sample}\n`);
      }
    } finally {
      await fedgate.stop();
      const warnings = fedgate.output().trim();
      if (warnings) process.stdout.write(`fedgate's output (warnings and errors):\n${warnings.split('\n').slice(-20).join('\n')}\n`);
    }
  } finally {
    await peers.close();
  }

  const after = measureRsaSigns();
  const msPerSign = (before.msPerSign + after.msPerSign) / 2;
  for (const r of results) {
    r.cpuInRsaSigns = r.fedgateCpuMsPerLogin / msPerSign;
    r.cryptoFloorMs = r.privateKeyOps * msPerSign;
    r.floorMs = r.requestsPerLogin * http.msPerRequest + r.cryptoFloorMs;
  }
  const report: LoadReport = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.versions.node },
    store: values.store,
    profile: crypto,
    hint: values.hint,
    crypto: { before, after, msPerSign },
    http,
    scenarios: results,
  };
  mkdirSync(values.out, { recursive: true });
  const suffix = crypto === 'lean' ? '' : `-${crypto}`;
  const jsonPath = join(values.out, `load${suffix}.json`);
  const mdPath = join(values.out, `load${suffix}.md`);
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown(report);
  writeFileSync(mdPath, md);
  process.stdout.write(`\n${md}\nWritten: ${relative(process.cwd(), jsonPath)}, ${relative(process.cwd(), mdPath)}\n`);
  return results.every((r) => r.pass !== false) ? 0 : 1;
}
