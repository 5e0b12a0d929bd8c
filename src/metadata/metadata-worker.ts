/**
 * Runs the streaming passes over a large metadata document in a worker thread (parse-worker.ts):
 * a saxes pass over eduGAIN takes over a second of CPU, too long to hold the event loop. One
 * worker is kept (unref'd, so it never keeps the process alive) and replaced if it dies.
 */
import { Worker } from 'node:worker_threads';
import { InvalidMetadataError, MetadataUnavailableError } from '../core/errors.js';
import type { ParsedMetadata } from './parse.js';
import type { SignatureShape } from './signature-shape.js';

export type WorkerTask = { kind: 'inspect'; bytes: Uint8Array } | { kind: 'parse'; bytes: Uint8Array; source: string; now: number };
export interface WorkerRequest {
  id: number;
  task: WorkerTask;
}

export type ParseReply = { ok: true; kind: 'parse'; parsed: ParsedMetadata; skipped: { reason: string; entityId?: string }[] };
export type WorkerReply = { ok: true; kind: 'inspect'; shape: SignatureShape } | ParseReply | { ok: false; message: string };

/** Compiled output sits next to this file as .js; under the test loader the source is .ts. */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js', import.meta.url);

type Pending = { resolve: (reply: WorkerReply) => void; reject: (err: Error) => void };
let current: { worker: Worker; pending: Map<number, Pending> } | undefined;
let nextId = 0;

export async function inspectInWorker(bytes: Uint8Array): Promise<SignatureShape> {
  const reply = await run({ kind: 'inspect', bytes });
  if (reply.kind !== 'inspect') throw new MetadataUnavailableError('metadata worker answered the wrong task');
  return reply.shape;
}

export async function parseInWorker(bytes: Uint8Array, source: string, now: Date): Promise<ParseReply> {
  const reply = await run({ kind: 'parse', bytes, source, now: now.getTime() });
  if (reply.kind !== 'parse') throw new MetadataUnavailableError('metadata worker answered the wrong task');
  return reply;
}

async function run(task: WorkerTask): Promise<Extract<WorkerReply, { ok: true }>> {
  const { worker, pending } = current ?? start();
  const id = nextId++;
  const reply = await new Promise<WorkerReply>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    if (pending.size === 1) worker.ref();
    worker.postMessage({ id, task } satisfies WorkerRequest);
  });
  if (!reply.ok) throw new InvalidMetadataError(reply.message);
  return reply;
}

function start(): NonNullable<typeof current> {
  // A parent started with `-e` code passes --input-type, which would make the worker's own module misread.
  const worker = new Worker(WORKER_URL, { execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')) });
  const state = { worker, pending: new Map<number, Pending>() };
  current = state;
  worker.unref();
  worker.on('message', ({ id, reply }: { id: number; reply: WorkerReply }) => {
    state.pending.get(id)?.resolve(reply);
    state.pending.delete(id);
    if (state.pending.size === 0) worker.unref();
  });
  const fail = (err: Error) => {
    if (current === state) current = undefined;
    for (const p of state.pending.values()) p.reject(new MetadataUnavailableError(`metadata worker failed: ${err.message}`, { cause: err }));
    state.pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
  return state;
}
