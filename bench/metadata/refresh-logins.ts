/**
 * Login latency while the aggregate is refreshed, next to the same without: SAML→SAML logins
 * through the driver for a fixed time, then again while fedgate refreshes the aggregate back to
 * back (a SIGHUP asks for a refresh; one asked for while another runs joins it, so a SIGHUP every
 * quarter second keeps them coming one after the other).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FedgateProcess } from '../lib/fedgate-process.js';
import { runLogins, type LoginRun } from '../lib/logins.js';
import type { BenchPeers } from '../lib/peers.js';
import { percentile } from '../lib/stats.js';
import type { VariantServer } from './variant-server.js';

export interface LoginPhase {
  logins: number;
  errors: number;
  errorSamples: string[];
  loginsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface RefreshLoginsResult {
  concurrency: number;
  /** The upstream was chosen on the discovery page (false: named by idphint). */
  discoveryPage: boolean;
  withoutRefresh: LoginPhase;
  duringRefresh: LoginPhase & {
    /** Downloads of the aggregate while the phase ran (each one a full verify + parse + index). */
    refreshes: number;
    /** Refreshes fedgate reported as failed (it keeps the last good copy then). */
    refreshFailures: number;
    /** From the first download to the end of the last refresh, per refresh (they run at low priority). */
    secondsPerRefresh: number;
  };
  /** p99 during refresh / p99 without. */
  p99Ratio: number;
}

const SIGHUP_EVERY_MS = 250;

function phase(run: LoginRun): LoginPhase {
  return {
    logins: run.completed,
    errors: run.errors,
    errorSamples: run.errorSamples,
    loginsPerSecond: run.completed / (run.wallMs / 1000),
    p50Ms: percentile(run.latenciesMs, 50),
    p99Ms: percentile(run.latenciesMs, 99),
    maxMs: Math.max(...run.latenciesMs),
  };
}

interface SourceStatus {
  source: string;
  loadedAt?: string;
  failures: number;
}

/** fedgate's view of the aggregate source, from /healthz. */
async function aggregateStatus(fedgate: FedgateProcess, url: string): Promise<SourceStatus> {
  const res = await fetch(`${fedgate.url}/healthz`);
  const body = (await res.json()) as { details: { metadata: SourceStatus[] } };
  const status = body.details.metadata.find((s) => s.source === url);
  if (!status) throw new Error(`/healthz does not list ${url}`);
  return status;
}

export async function measureLoginsDuringRefresh(
  peers: BenchPeers,
  fedgate: FedgateProcess,
  server: VariantServer,
  options: { durationMs: number; concurrency: number; discoveryPage: boolean },
): Promise<RefreshLoginsResult> {
  const run = (durationMs: number | undefined, logins?: number) =>
    runLogins(peers, { scenario: 'saml-saml', concurrency: options.concurrency, hint: !options.discoveryPage, ...(durationMs ? { durationMs } : {}), ...(logins ? { logins } : {}) });
  const warmup = await run(60_000, options.concurrency * 10);
  if (warmup.completed === 0) throw new Error(`no login succeeded in the warm-up: ${warmup.errorSamples.join(' | ')}`);

  const withoutRefresh = phase(await run(options.durationMs));

  const servedBefore = server.served();
  let firstDownload = 0;
  const failuresBefore = (await aggregateStatus(fedgate, server.url)).failures;
  const refresh = () => process.kill(fedgate.pid, 'SIGHUP');
  refresh();
  const ticker = setInterval(refresh, SIGHUP_EVERY_MS);
  let during: LoginRun;
  try {
    // Measured from the first download on, so every login of the phase overlaps refresh work.
    for (let waited = 0; server.served() === servedBefore; waited += 50) {
      if (waited > 30_000) throw new Error('fedgate did not fetch the aggregate after SIGHUP');
      await sleep(50);
    }
    firstDownload = server.lastServedAt();
    during = await run(options.durationMs);
  } finally {
    clearInterval(ticker);
  }
  const refreshes = server.served() - servedBefore;
  // Until the last refresh has ended (loaded, or failed), so none runs into what follows.
  const lastStarted = server.lastServedAt();
  let status = await aggregateStatus(fedgate, server.url);
  for (let waited = 0; Date.parse(status.loadedAt ?? '') < lastStarted && status.failures === failuresBefore; waited += 200) {
    if (waited > 120_000) throw new Error('the last refresh did not end within 2 minutes');
    await sleep(200);
    status = await aggregateStatus(fedgate, server.url);
  }
  const ended = status.failures === failuresBefore ? Date.parse(status.loadedAt!) : Date.now();
  const duringRefresh = { ...phase(during), refreshes, refreshFailures: status.failures - failuresBefore, secondsPerRefresh: (ended - firstDownload) / 1000 / refreshes };
  return {
    concurrency: options.concurrency,
    discoveryPage: options.discoveryPage,
    withoutRefresh,
    duringRefresh,
    p99Ratio: duringRefresh.p99Ms / withoutRefresh.p99Ms,
  };
}
