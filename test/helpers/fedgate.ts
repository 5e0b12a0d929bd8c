/**
 * Starts a real fedgate (buildApp + listen on 127.0.0.1) for end-to-end tests, with a temporary
 * data folder and any metadata given as XML written to temporary files; or from a configuration
 * already parsed (the shipped default, say).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildOptions, type FedgateApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { freePort } from './ports.js';

export interface RunningFedgate {
  url: string;
  app: FastifyInstance;
  config: Config;
  /** Its metadata indexes, e.g. to refresh them now rather than on their timers. */
  metadata: FedgateApp['metadata'];
  close(): Promise<void>;
}

/** A temporary folder for one test's files. */
export function tempDir(prefix = 'fedgate-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `xml` to a new file in `dir` and returns its path. */
export function writeMetadata(dir: string, name: string, xml: string): string {
  const path = join(dir, name);
  writeFileSync(path, xml);
  return path;
}

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * `config` is raw configuration as in YAML; server.baseUrl/port and dataDir are filled in unless
 * given. `port` lets two instances be started on known ports.
 */
export async function startFedgate(config: Record<string, unknown>, options: { port?: number } & BuildOptions = {}): Promise<RunningFedgate> {
  const server = (config.server ?? {}) as Record<string, unknown>;
  const port = (server.port as number | undefined) ?? options.port ?? (await freePort());
  const url = (server.baseUrl as string | undefined) ?? `http://127.0.0.1:${port}`;
  const parsed = parseConfig({
    dataDir: tempDir('fedgate-data-'),
    logging: { level: process.env.FEDGATE_TEST_LOG ?? 'silent' },
    ...config,
    server: { ...server, baseUrl: url, host: '127.0.0.1', port },
  });
  return startParsedFedgate(parsed, options.logger ? { logger: options.logger } : {});
}

/** Builds and starts an already-validated configuration on 127.0.0.1 at its server.port. */
export async function startParsedFedgate(config: Config, options: BuildOptions = {}): Promise<RunningFedgate> {
  const { app, metadata } = await buildApp(config, options);
  await app.listen({ host: '127.0.0.1', port: config.server.port });
  return { url: config.server.baseUrl, app, config, metadata, close: () => app.close() };
}
