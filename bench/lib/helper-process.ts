/**
 * A bench helper in a process of its own (the social upstream OP, the bare HTTP server), so its
 * CPU counts neither as fedgate's nor as the driver's. Forked with this process's loader
 * (execArgv); it tells what the driver needs over IPC and exits when its parent disconnects.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface HelperProcess<T> {
  /** The first message the helper sent (its issuer, its port). */
  ready: T;
  pid: number;
  close(): Promise<void>;
}

export async function startHelperProcess<T>(module: URL, args: string[], what: string): Promise<HelperProcess<T>> {
  const child: ChildProcess = fork(module, args, { execArgv: process.execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const ready = await new Promise<T>((resolve, reject) => {
    child.once('message', (m: T) => resolve(m));
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}:\n${stderr}`)));
  });
  return {
    ready,
    pid: child.pid ?? 0,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}
