/**
 * One scenario measured: a warm-up (JIT, caches, connection pools), then the measured phase with
 * fedgate's CPU time read before and after. CPU per completed login is the figure that holds on a
 * noisy machine; logins/s and latencies depend on what else runs (the driver included).
 */
import type { FedgateProcess } from './fedgate-process.js';
import { runLogins, type LoginRun, type RunOptions } from './logins.js';
import { countRequestsTo } from './request-count.js';
import type { BenchPeers } from './peers.js';
import { percentile } from './stats.js';

export interface MeasureOptions extends RunOptions {
  /**
   * Seconds of logins before measuring (default 20). V8 keeps compiling fedgate's and its
   * libraries' hot functions for tens of seconds; a short warm-up measures the compiler, not the login.
   */
  warmupSeconds?: number;
}

export interface ScenarioResult {
  scenario: RunOptions['scenario'];
  concurrency: number;
  logins: number;
  errors: number;
  errorSamples: string[];
  wallSeconds: number;
  loginsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** fedgate's user+system CPU during the measured phase, per completed login. */
  fedgateCpuMsPerLogin: number;
  /** fedgate's resident memory after the measured phase. */
  fedgateRssMiB: number;
  /** HTTP requests fedgate answered per completed login (the driver's requests to it, failed logins' included). */
  requestsPerLogin: number;
}

export function summarise(run: LoginRun, cpuSeconds: number, rssBytes: number, requests: number): ScenarioResult {
  return {
    scenario: run.scenario,
    concurrency: run.concurrency,
    logins: run.completed,
    errors: run.errors,
    errorSamples: run.errorSamples,
    wallSeconds: run.wallMs / 1000,
    loginsPerSecond: run.completed / (run.wallMs / 1000),
    p50Ms: percentile(run.latenciesMs, 50),
    p99Ms: percentile(run.latenciesMs, 99),
    fedgateCpuMsPerLogin: run.completed > 0 ? (cpuSeconds * 1000) / run.completed : Number.NaN,
    fedgateRssMiB: rssBytes / 2 ** 20,
    requestsPerLogin: run.completed > 0 ? requests / run.completed : Number.NaN,
  };
}

export async function measureScenario(peers: BenchPeers, fedgate: FedgateProcess, options: MeasureOptions): Promise<ScenarioResult> {
  const warmup = await runLogins(peers, {
    scenario: options.scenario,
    concurrency: options.concurrency,
    // At least one login per user, so a failing set-up is caught before measuring.
    ...(options.warmupSeconds === 0 ? { logins: options.concurrency } : { durationMs: (options.warmupSeconds ?? 20) * 1000 }),
    hint: options.hint,
  });
  if (warmup.completed === 0) throw new Error(`${options.scenario}: no login succeeded in the warm-up: ${warmup.errorSamples.join(' | ')}`);
  const cpuBefore = fedgate.cpuSeconds();
  const { result: run, requests } = await countRequestsTo(fedgate.url, () => runLogins(peers, options));
  const cpu = fedgate.cpuSeconds() - cpuBefore;
  return summarise(run, cpu, fedgate.rssBytes(), requests);
}
