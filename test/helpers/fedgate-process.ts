/**
 * fedgate as an operator runs it: `fedgate serve --config FILE` in a child process, for tests that
 * need a real process (one killed with SIGKILL, an exit status, what it prints). The child runs
 * src/main.ts under tap's TypeScript loader, so it is always the current source, never a stale
 * dist/; starting one takes a few seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const loader = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface FedgateProcess {
  child: ChildProcess;
  /** What it printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has ended. */
  exited: Promise<Exit>;
  /** Resolves once `${url}/healthz` answers 200; rejects if the process ends first or after `timeoutMs`. */
  ready(url: string, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and waits for the end. */
  kill(signal: NodeJS.Signals): Promise<Exit>;
}

/** Writes raw configuration (as in YAML) to `dir`/fedgate.yaml and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const path = join(dir, 'fedgate.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

/** Runs `fedgate <args>`. The caller ends it (kill) unless it ends by itself; a test process that exits takes it along. */
export function spawnFedgate(args: string[]): FedgateProcess {
  const script = `import { run } from './src/main.ts'; run(${JSON.stringify(args)});`;
  const child = spawn(process.execPath, ['--import', loader, '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = (once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>).then(([code, signal]) => {
    process.off('exit', killOnExit);
    return { code, signal };
  });
  let ended = false;
  void exited.then(() => (ended = true));

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async ready(url, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (ended) throw new Error(`fedgate ended before it served:\n${err || out}`);
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        if (res?.status === 200) return;
        if (Date.now() > deadline) throw new Error(`no answer at ${url}/healthz within ${timeoutMs} ms:\n${err || out}`);
        await sleep(100);
      }
    },
    async kill(signal) {
      if (!ended) child.kill(signal);
      return exited;
    },
  };
}
