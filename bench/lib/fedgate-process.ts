/**
 * fedgate as the benchmarks run it: its own process from the built CLI (`node bin/fedgate.js serve`),
 * so the driver's work never counts as fedgate's. Its CPU time is read from /proc/<pid>/stat,
 * which is what a login costs fedgate whatever else the machine is doing.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface FedgateProcessOptions {
  /** Write a V8 CPU profile (.cpuprofile) into this folder when the process stops (`node --cpu-prof`). */
  cpuProfileDir?: string;
  /** Extra environment for the process. */
  env?: Record<string, string>;
  /** How long loading (metadata included) may take before /readyz answers 200; default 120 s. */
  readyTimeoutMs?: number;
}

export interface FedgateProcess {
  pid: number;
  /** server.baseUrl of the configuration. */
  url: string;
  /** User + system CPU seconds the process has used so far (from /proc/<pid>/stat). */
  cpuSeconds(): number;
  /** Resident set size in bytes now (from /proc/<pid>/status). */
  rssBytes(): number;
  /** stdout and stderr so far (warnings and errors only, at logging level warn). */
  output(): string;
  /** SIGTERM and wait for the exit (a CPU profile is written then). */
  stop(): Promise<void>;
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 on Linux almost always). */
export function clockTicksPerSecond(): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return clockTicks;
}

/** utime + stime of a process, in seconds. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  return (utime + stime) / clockTicksPerSecond();
}

export function processRssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Writes a configuration object as a fedgate config file (JSON is YAML) and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>, name = 'fedgate.yaml'): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

/** The built CLI must exist: the bench runs what `npm run build` produces. */
export function requireBuild(): void {
  if (!existsSync(join(REPO_ROOT, 'dist', 'main.js'))) {
    throw new Error('dist/ is missing: run `npx tsc -p tsconfig.build.json` (npm run bench does) first');
  }
}

/** Starts `node bin/fedgate.js serve --config <configPath>` and resolves once /readyz answers 200. */
export async function startFedgateProcess(configPath: string, options: FedgateProcessOptions = {}): Promise<FedgateProcess> {
  requireBuild();
  const config = parse(readFileSync(configPath, 'utf8')) as { server?: { baseUrl?: string } };
  const url = config.server?.baseUrl?.replace(/\/+$/, '');
  if (!url) throw new Error(`${configPath}: the bench needs server.baseUrl to find the process`);

  const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, join(REPO_ROOT, 'bin', 'fedgate.js'), 'serve', '--config', configPath], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = once(child, 'exit');
  const pid = child.pid;
  if (pid === undefined) throw new Error('fedgate did not start');

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fedgate exited with ${child.exitCode} before it was ready:\n${output}`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`fedgate was not ready at ${url}/readyz within ${options.readyTimeoutMs ?? 120_000} ms:\n${output}`);
    }
    await sleep(200);
  }

  return {
    pid,
    url,
    cpuSeconds: () => processCpuSeconds(pid),
    rssBytes: () => processRssBytes(pid),
    output: () => output,
    stop,
  };
}
